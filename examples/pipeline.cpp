// A message-driven file pipeline: one couple reads lines from a file, an actor transforms them,
// another couple writes them out. At most `window` lines are in flight at any time
// (backpressure): the reader asks for the next line only when one has been written.
//
//   pipeline DIR
#include <actorio/actors.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

using namespace actorio;

/// The transforming stage: upper-cases each line it is sent.
caf::behavior upper_caser() {
  return {[](std::string line) {
    std::transform(line.begin(), line.end(), line.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return line;
  }};
}

struct pump_state {
  std::size_t in_flight = 0;
  std::size_t max_in_flight = 0;
  std::size_t lines = 0;
  bool eof = false;
  /// Asks for one more line while the window has room. Kept in the state, which goes with the
  /// actor: a function that held a pointer to itself would never be freed.
  std::function<void()> pull;
  static inline const char* name = "pipeline.pump";
};

/// Pulls lines from `in`, sends each through `stage` and writes the result to `out`, keeping at
/// most `window` lines between reading and writing. Messages to one actor from one sender arrive
/// in order, so the output keeps the input's order.
caf::behavior pump(caf::stateful_actor<pump_state>* self, couple_actor in, caf::actor stage,
                   couple_actor out, std::size_t window, std::shared_ptr<std::string> summary) {
  auto fail = [self](caf::error& err) {
    caf::aout(self) << "error: " << self->system().render(err) << std::endl;
    self->quit(err);
  };
  auto finish = [=] {
    self->request(out, caf::infinite, caf::flush_atom_v)
      .then(
        [=] {
          // Printed by main after this actor ends: caf::aout prints on its own thread, and main's
          // later lines could overtake it.
          *summary = "lines: " + std::to_string(self->state.lines) +
                     ", most in flight: " + std::to_string(self->state.max_in_flight);
          self->quit();
        },
        fail);
  };
  self->state.pull = [=] {
    auto& st = self->state;
    while (!st.eof && st.in_flight < window) {
      ++st.in_flight;
      st.max_in_flight = std::max(st.max_in_flight, st.in_flight);
      self->request(in, caf::infinite, readline_atom_v, std::int64_t{-1})
        .then(
          [=](std::string& line) {
            if (line.empty()) { // EOF
              self->state.eof = true;
              if (--self->state.in_flight == 0)
                finish();
              return;
            }
            self->request(stage, caf::infinite, std::move(line))
              .then(
                [=](std::string& done) {
                  self->request(out, caf::infinite, write_atom_v, std::move(done))
                    .then(
                      [=](std::uint64_t) {
                        ++self->state.lines;
                        --self->state.in_flight;
                        if (self->state.eof && self->state.in_flight == 0)
                          finish();
                        else
                          self->state.pull();
                      },
                      fail);
                },
                fail);
          },
          fail);
    }
  };
  self->state.pull();
  return {};
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: pipeline DIR\n";
    return 2;
  }
  std::string dir = argv[1];
  std::string expected;
  {
    std::ofstream src{dir + "/input.txt"};
    for (int i = 1; i <= 1000; ++i) {
      auto line = "line " + std::to_string(i) + " of the pipeline\n";
      src << line;
      std::transform(line.begin(), line.end(), line.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      expected += line;
    }
  }
  runtime rt;
  couple_options text;
  text.mode = couple_mode::text;
  // Each couple adopts its descriptors; the unused direction is /dev/null.
  auto in = rt.make_couple(::open((dir + "/input.txt").c_str(), O_RDONLY | O_CLOEXEC),
                           ::open("/dev/null", O_WRONLY | O_CLOEXEC), text);
  auto out = rt.make_couple(
    ::open("/dev/null", O_RDONLY | O_CLOEXEC),
    ::open((dir + "/output.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), text);
  auto stage = rt.system().spawn(upper_caser);
  auto summary = std::make_shared<std::string>();
  {
    caf::scoped_actor self{rt.system()};
    auto p = rt.system().spawn(pump, actor_of(in), stage, actor_of(out), std::size_t{8}, summary);
    self->monitor(p);
    self->receive([](caf::down_msg&) {});
  }
  if (!summary->empty())
    std::cout << *summary << std::endl;
  in.close().get();
  out.close().get();
  caf::anon_send_exit(stage, caf::exit_reason::user_shutdown);
  std::ifstream result{dir + "/output.txt"};
  std::stringstream got;
  got << result.rdbuf();
  std::cout << "output verified: " << (got.str() == expected ? "yes" : "no") << std::endl;
  return got.str() == expected ? 0 : 1;
}
