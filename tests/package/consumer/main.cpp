// Builds against the installed package only: nothing here may include a header from the tree.
#include <actorio/actorio.hpp>
#include <actorio/actors.hpp>

#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2)
    return 2;
  actorio::runtime rt;
  auto mgr = rt.manager();
  if (!actorio::actor_of(mgr))
    return 1;
  auto path = std::string(argv[1]) + "/consumer.bin";
  auto file = mgr.create(path, 0, false).get();
  file.write("installed package works").get();
  auto sum = mgr.checksum(path, "sha256").get();
  std::cout << "consumer: ok " << sum << "\n";
}
