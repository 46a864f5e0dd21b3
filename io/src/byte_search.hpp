#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace actorio::detail {

/// The first occurrence of `needle` in [hay, hay + size), or nullptr; an empty needle matches at
/// `hay`. Same answer as memmem(3), faster on the long random-looking haystacks of bulk finds: a
/// SIMD filter compares the needle's two rarest bytes at 64 positions per step (16 without AVX2)
/// and checks the rest only where both match, where glibc's memmem runs a byte-wise two-way
/// search.
const char* find_bytes(const char* hay, std::size_t size, std::string_view needle) noexcept;

/// Up to `max_patterns` byte strings of two bytes or more, searched for in one pass: find_bytes'
/// filter run for all of them at once, each on its own two rarest bytes, and a pattern checked
/// whole only where both of its bytes match. On a map of the page cache it reads memory as fast
/// as find_bytes, where Hyperscan waits on each cache line it reads. Immutable once made: one
/// filter may be used from many threads at once.
class pair_filter {
public:
  static constexpr std::size_t max_patterns = 4;

  /// Whether this CPU runs the filter (AVX2) and `patterns` suit it: 1 to max_patterns of them,
  /// each two bytes or more.
  static bool suits(const std::vector<std::string>& patterns) noexcept;

  /// `patterns` must suit it.
  explicit pair_filter(const std::vector<std::string>& patterns);

  /// Calls `on_end(end, length)` for every occurrence of every pattern that starts in [from, to)
  /// and ends within data[0, size) (`end` exclusive), in ascending order of start; `to` <= size.
  template <class OnEnd>
  void scan(const char* data, std::size_t size, std::size_t from, std::size_t to,
            OnEnd&& on_end) const;

private:
  /// The first step of 64 starts from `i` on, while whole steps fit before `to` and within
  /// `size`, where some pattern's two bytes match: sets `mask` (bit k for start i + k) and
  /// returns the step's first start. Else sets `mask` to 0 and returns the first start that no
  /// whole step covered.
  std::size_t next_candidates(const char* data, std::size_t size, std::size_t i, std::size_t to,
                              std::uint64_t& mask) const noexcept;

  /// Reports the patterns that start at `at` and end within `size`.
  template <class OnEnd>
  void check(const char* data, std::size_t size, std::size_t at, OnEnd& on_end) const {
    for (const auto& p : patterns_)
      if (p.size() <= size - at && std::memcmp(data + at, p.data(), p.size()) == 0)
        on_end(at + p.size(), p.size());
  }

  std::vector<std::string> patterns_;
  /// Per pattern: the offsets of its two filter bytes, and those bytes.
  std::array<std::size_t, max_patterns> first_at_{}, second_at_{};
  std::array<char, max_patterns> first_{}, second_{};
  /// The farthest filter byte from its pattern's start.
  std::size_t reach_ = 0;
};

template <class OnEnd>
void pair_filter::scan(const char* data, std::size_t size, std::size_t from, std::size_t to,
                       OnEnd&& on_end) const {
  auto i = from;
  while (i < to) {
    std::uint64_t mask = 0;
    i = next_candidates(data, size, i, to, mask);
    if (mask == 0)
      break;
    for (; mask != 0; mask &= mask - 1) {
      auto at = i + static_cast<std::size_t>(__builtin_ctzll(mask));
      if (at >= to)
        return;
      check(data, size, at, on_end);
    }
    i += 64;
  }
  // The starts no whole step covered: fewer than a step and the longest pattern's length.
  for (; i < to; ++i)
    check(data, size, i, on_end);
}

} // namespace actorio::detail
