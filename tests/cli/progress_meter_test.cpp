#include "cli/progress_meter.hpp"

#define BOOST_TEST_MODULE progress_meter
#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <string>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

using namespace actorio;
using namespace actorio::cli;

namespace {

/// Standard error goes to a pipe while it lives; `text()` gives what was written.
struct captured_stderr {
  int pipe_fds[2] = {-1, -1};
  int saved = -1;

  captured_stderr() {
    BOOST_REQUIRE(::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) == 0);
    saved = ::dup(STDERR_FILENO);
    BOOST_REQUIRE(saved >= 0);
    BOOST_REQUIRE(::dup2(pipe_fds[1], STDERR_FILENO) == STDERR_FILENO);
  }
  ~captured_stderr() {
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
  }
  std::string text() {
    std::string out;
    char buf[4096];
    for (;;) {
      auto n = ::read(pipe_fds[0], buf, sizeof buf);
      if (n <= 0)
        break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
};

/// What a meter made with `total` draws after one report of `p` through `options`.
template <class Options>
std::string drawn(std::uint64_t total, const progress& p, Options options) {
  captured_stderr err;
  {
    progress_meter meter{true, total};
    auto opts = options(meter);
    opts.on_progress(p);
    // The first draw comes a second after the meter starts.
    std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  }
  return err.text();
}

} // namespace

BOOST_AUTO_TEST_SUITE(progress_meter_suite)

BOOST_AUTO_TEST_CASE(a_whole_job_operation_gives_the_meter_its_total_and_the_bar_a_percentage) {
  auto screen = drawn(0, progress{512 << 10, 1 << 20, 0, 1},
                      [](progress_meter& m) { return m.options_for_whole_job(0); });
  BOOST_TEST(screen.find(" 50% [") != std::string::npos, screen);
  BOOST_TEST(screen.find("512.0 KiB/1.0 MiB") != std::string::npos, screen);
}

BOOST_AUTO_TEST_CASE(a_part_of_a_job_leaves_the_meters_total_as_it_was) {
  // A slice's own total is not the job's: with none known the bar shows bytes and rate only.
  auto unknown = drawn(0, progress{512 << 10, 1 << 20, 0, 1},
                       [](progress_meter& m) { return m.options_for(0); });
  BOOST_TEST(unknown.find('%') == std::string::npos, unknown);
  BOOST_TEST(unknown.find("512.0 KiB") != std::string::npos, unknown);
  auto known = drawn(4 << 20, progress{1 << 20, 1 << 20, 0, 1},
                     [](progress_meter& m) { return m.options_for(0); });
  BOOST_TEST(known.find(" 25% [") != std::string::npos, known);
}

BOOST_AUTO_TEST_SUITE_END()
