// The main job of the README's first command: generates sample data, then maps, writes, reads,
// checksums and copies it through actorio's future-returning facade.
//
//   quickstart [DIR]     (DIR: where the sample data goes; default: a new directory in /tmp)
#include <actorio/actorio.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  fs::path dir;
  if (argc > 1) {
    dir = argv[1];
    fs::create_directories(dir);
  } else {
    std::string tmpl = (fs::temp_directory_path() / "actorio-sample-XXXXXX").string();
    dir = ::mkdtemp(tmpl.data());
  }
  try {
    actorio::runtime rt;
    auto mgr = rt.manager();
    std::mt19937_64 rng{42};
    constexpr int files = 8;
    constexpr std::int64_t size = 1 << 20;

    // Generate: create each file at its full size, then fill it through the map.
    std::vector<std::future<actorio::mapped_file>> creating;
    for (int i = 0; i < files; ++i)
      creating.push_back(mgr.create(dir / ("sample" + std::to_string(i) + ".bin"), size, false));
    std::vector<actorio::mapped_file> maps; // each map stays open while its handle lives
    std::vector<std::future<std::uint64_t>> writes;
    for (auto& f : creating) {
      maps.push_back(f.get());
      std::string data(size, '\0');
      for (auto& c : data)
        c = static_cast<char>(rng());
      writes.push_back(maps.back().write(data));
    }
    for (auto& w : writes)
      w.get();
    std::cout << "maps open: " << mgr.currently_open().get()
              << ", bytes mapped: " << mgr.approx_memory_usage().get() << "\n";

    // Checksums of every sample, all requested at once.
    std::vector<std::future<std::string>> sums;
    for (int i = 0; i < files; ++i)
      sums.push_back(mgr.checksum(dir / ("sample" + std::to_string(i) + ".bin"), "sha256"));
    for (int i = 0; i < files; ++i)
      std::cout << sums[i].get() << "  sample" << i << ".bin\n";

    // Copy one and check the copy.
    auto copy = dir / "sample0.copy";
    fs::remove(copy);
    mgr.copy_file(dir / "sample0.bin", copy).get();
    bool same =
      mgr.checksum(copy, "xxh128").get() == mgr.checksum(dir / "sample0.bin", "xxh128").get();
    std::cout << "copy verified: " << (same ? "yes" : "NO") << "\n";

    // A read-only map and a slice of it.
    auto ro = mgr.open(copy, 0, actorio::open_mode::read_only).get();
    std::cout << "read-only slice: " << ro.read(1000, 16).get().size() << " bytes\n";

    // Errors arrive through the future, with errno and path.
    try {
      mgr.open(dir / "missing.bin").get();
    } catch (const actorio::io_error& e) {
      std::cout << "expected error: " << e.what() << "\n";
    }
    std::cout << "quickstart: " << files << " files in " << dir.string()
              << (same ? ", all checks passed" : ", CHECK FAILED") << "\n";
    return same ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "quickstart: " << e.what() << "\n";
    return 1;
  }
}
