// A server with its own CAF actor system embeds actorio: its own actors serve requests by
// talking to actorio's actors (a couple and the mmap manager) with plain messages.
//
//   embed_in_server DIR
#include <actorio/actors.hpp>

#include <fstream>
#include <iostream>
#include <string>

using namespace actorio;

/// The server's own service: ("echo", text) sends text through a pipe pair and answers with what
/// came out of the other end; ("sum", path) answers with the file's sha256 from the manager.
caf::behavior service(caf::event_based_actor* self, couple_actor a, couple_actor b,
                      mmap_manager_actor manager) {
  return {
    [=](const std::string& cmd, const std::string& arg) -> caf::result<std::string> {
      auto rp = self->make_response_promise<std::string>();
      auto fail = [rp](caf::error& err) mutable { rp.deliver(std::move(err)); };
      if (cmd == "echo") {
        auto n = static_cast<std::int64_t>(arg.size());
        // The read waits without a thread until the flushed bytes arrive.
        self->request(b, caf::infinite, read_atom_v, n)
          .then([rp](std::string& back) mutable { rp.deliver("echo: " + back); }, fail);
        self->request(a, caf::infinite, write_atom_v, arg)
          .then(
            [=](std::uint64_t) {
              self->request(a, caf::infinite, caf::flush_atom_v).then([] {}, fail);
            },
            fail);
      } else {
        self->request(manager, std::chrono::seconds(10), checksum_atom_v, arg, "sha256")
          .then([rp](std::string& sum) mutable { rp.deliver("sha256: " + sum); }, fail);
      }
      return rp;
    },
  };
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: embed_in_server DIR\n";
    return 2;
  }
  auto path = std::string(argv[1]) + "/served.txt";
  std::ofstream{path} << "hello";
  system_config cfg; // the server's config, with actorio's messages registered
  caf::actor_system sys{cfg};
  {
    runtime rt{sys};
    auto [a, b] = rt.double_ended_binary_pipe();
    auto server = sys.spawn(service, actor_of(a), actor_of(b), actor_of(rt.manager()));
    caf::scoped_actor client{sys};
    for (auto [cmd, arg] : {std::pair{"echo", "ping over a pipe"}, std::pair{"sum", path.c_str()}})
      client->request(server, std::chrono::seconds(10), std::string{cmd}, std::string{arg})
        .receive([](const std::string& answer) { std::cout << answer << std::endl; },
                 [&](caf::error& err) { std::cout << "error: " << sys.render(err) << std::endl; });
    caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
  }
  std::cout << "server done" << std::endl;
  return 0;
}
