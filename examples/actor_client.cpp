// A server that already runs a CAF actor system embeds actorio and talks to the manager by
// message from one of its own actors: the same messages the facade sends.
//
//   actor_client DIR
#include <actorio/actors.hpp>

#include <iostream>
#include <string>

using namespace actorio;

/// Opens (creating) a file, writes, reads back, asks for a digest and releases the map.
caf::behavior client(caf::event_based_actor* self, mmap_manager_actor manager, std::string path) {
  auto timeout = std::chrono::seconds(10);
  auto fail = [self](caf::error& err) {
    caf::aout(self) << "error: " << self->system().render(err) << std::endl;
    self->quit(err);
  };
  self
    ->request(manager, timeout, caf::open_atom_v, path, actorio::open_mode::create, std::int64_t{0})
    .then(
      [=](mapped_file_actor file) {
        bytes text{'h', 'e', 'l', 'l', 'o'};
        self->request(file, timeout, write_atom_v, text, std::int64_t{0})
          .then(
            [=](std::uint64_t written) {
              caf::aout(self) << "wrote " << written << " bytes" << std::endl;
              self->request(file, timeout, read_atom_v, std::int64_t{1}, std::int64_t{3})
                .then(
                  [=](const bytes& data) {
                    caf::aout(self)
                      << "read back: " << std::string(data.begin(), data.end()) << std::endl;
                    self->request(manager, timeout, checksum_atom_v, path, "sha256")
                      .then(
                        [=](const std::string& sum) {
                          caf::aout(self) << "sha256: " << sum << std::endl;
                          // Every handle the manager hands out is released the same way.
                          self->request(manager, timeout, caf::close_atom_v, file)
                            .then([=] { self->quit(); }, fail);
                        },
                        fail);
                  },
                  fail);
            },
            fail);
      },
      fail);
  return {};
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: actor_client DIR\n";
    return 2;
  }
  system_config cfg; // registers actorio's messages in the server's own config
  caf::actor_system sys{cfg};
  {
    runtime rt{sys};
    auto path = std::string(argv[1]) + "/from-an-actor.txt";
    sys.spawn(client, actor_of(rt.manager()), path);
    sys.await_all_actors_done();
  }
  return 0;
}
