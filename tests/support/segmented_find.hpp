#pragma once

// Searching a file range by range, as find_in_files does with a large file it splits, for the
// tests that check the ranges' hits join to the hits of the whole.

#include "io/src/file_scan.hpp"
#include "io/src/pattern_set.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace actorio::test {

/// The hits of `patterns` in the first `size` bytes of `path`, each `segment` bytes searched on
/// its own (hits starting in [b, b + segment), read in 64-byte windows), joined in order; the
/// first segment's failure if one fails.
inline result<std::vector<std::uint64_t>>
find_in_segments(const std::string& path, const detail::pattern_set& patterns, std::uint64_t size,
                 std::uint64_t segment, std::vector<char>& buffer) {
  std::vector<std::uint64_t> joined;
  for (std::uint64_t b = 0; b < size; b += segment) {
    detail::find_options opts;
    opts.start = b;
    opts.end = b + segment;
    opts.window = 64;
    auto r = detail::find_in_file(path, patterns, opts, buffer);
    if (!r)
      return std::move(r).error();
    joined.insert(joined.end(), r->begin(), r->end());
  }
  return joined;
}

} // namespace actorio::test
