// A storage node and a client: the node serves a directory over CAF's middleman; the client,
// with an actor system of its own, connects over TCP and checksums every file there in one bulk
// call, then checks the digests against a local runtime's.
//
//   distributed_node [DIR]     (DIR: the directory served; default: a new directory in /tmp)
#include <actorio/actorio.hpp>
#include <actorio/remote.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  fs::path dir;
  if (argc > 1) {
    dir = argv[1];
    fs::create_directories(dir);
  } else {
    std::string tmpl = (fs::temp_directory_path() / "actorio-node-XXXXXX").string();
    dir = ::mkdtemp(tmpl.data());
  }
  try {
    std::vector<fs::path> names;
    for (int i = 0; i < 4; ++i) {
      names.push_back("part" + std::to_string(i) + ".bin");
      std::ofstream{dir / names.back(), std::ios::binary}
        << std::string(100000 * (i + 1), static_cast<char>('a' + i));
    }

    // The node: port 0 lets the kernel choose; the server says which.
    actorio::serve_options opts;
    opts.root = dir;
    opts.on_connect = [](const std::string&) { std::cout << "node: client connected\n"; };
    opts.on_disconnect = [](const std::string&) { std::cout << "node: client disconnected\n"; };
    auto node = actorio::serve(opts);
    std::cout << "serving " << dir.string() << " on " << node.address() << ":" << node.port()
              << "\n";

    // The client: paths are relative to the served root.
    auto remote = actorio::connect("127.0.0.1", node.port());
    auto sums = remote.bulk_checksum(names, "sha256").get();

    actorio::runtime_config cfg;
    cfg.root = dir;
    actorio::runtime local{cfg};
    auto expected = local.manager().bulk_checksum(names, "sha256").get();
    bool same = true;
    for (const auto& name : names) {
      std::cout << sums.at(name).value() << "  " << name.string() << "\n";
      same = same && sums.at(name).value() == expected.at(name).value();
    }
    std::cout << "remote digests match local: " << (same ? "yes" : "no") << "\n";
    node.stop();
    std::cout << "node stopped\n";
    return same ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
