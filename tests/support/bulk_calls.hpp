#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "actorio/actorio.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

namespace actorio::test {

/// `text` as one piece.
inline byte_pieces pieces_of(const std::string& text) {
  std::vector<std::uint64_t> sizes{text.size()};
  byte_pieces out{sizes};
  std::copy(text.begin(), text.end(), out[0].begin());
  return out;
}

/// Collects the progress reports of one bulk call and signals the first. The callback holds what
/// it records: a report still running when a cancelled call has failed (operation.hpp allows it)
/// finds it alive even once this log is gone.
struct progress_log {
  struct record {
    std::mutex mutex;
    std::vector<progress> reports;
    std::promise<void> first;
    bool signalled = false;
  };
  std::shared_ptr<record> kept = std::make_shared<record>();
  std::promise<void>& first = kept->first;

  bulk_options options() {
    return bulk_options{[kept = kept](const progress& p) {
                          std::lock_guard<std::mutex> guard{kept->mutex};
                          kept->reports.push_back(p);
                          if (!std::exchange(kept->signalled, true))
                            kept->first.set_value();
                        },
                        std::chrono::milliseconds(1)};
  }

  std::vector<progress> all() {
    std::lock_guard<std::mutex> guard{kept->mutex};
    return kept->reports;
  }
};

/// Each of `srcs` paired with dir/dst0, dir/dst1, ...: the pairs of a bulk copy.
inline std::vector<std::pair<std::filesystem::path, std::filesystem::path>>
copy_pairs(const temp_dir& dir, const std::vector<std::filesystem::path>& srcs) {
  std::vector<std::pair<std::filesystem::path, std::filesystem::path>> pairs;
  for (std::size_t i = 0; i < srcs.size(); ++i)
    pairs.emplace_back(srcs[i], dir / ("dst" + std::to_string(i)));
  return pairs;
}

/// `count` files of `size` bytes each, every one different, named prefix0, prefix1, ...
inline std::vector<std::filesystem::path> make_files(const temp_dir& dir, const std::string& prefix,
                                                     int count, std::size_t size) {
  std::vector<std::filesystem::path> paths;
  std::string data(size, '\0');
  std::mt19937_64 rng{static_cast<std::uint64_t>(count)};
  for (auto& c : data)
    c = static_cast<char>(rng());
  for (int i = 0; i < count; ++i) {
    data.replace(0, 8, std::to_string(10000000 + i));
    paths.push_back(dir / (prefix + std::to_string(i)));
    write_file(paths.back(), data);
  }
  return paths;
}

} // namespace actorio::test
