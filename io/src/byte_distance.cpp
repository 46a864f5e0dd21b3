#include "io/src/byte_distance.hpp"

#include <bit>
#include <cstddef>
#include <cstring>
#include <utility>

namespace actorio::detail {

namespace {

constexpr std::uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL;
constexpr std::uint64_t high1 = 0x8080808080808080ULL;

std::uint64_t load(const char* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

/// The number of non-zero bytes in `w`: each byte's top bit becomes "byte != 0" (no carries
/// cross bytes, since 0x7f + 0x7f < 0x100).
int nonzero_bytes(std::uint64_t w) noexcept {
  return std::popcount((((w & low7) + low7) | w) & high1);
}

/// Applies `word(a ^ b)` over the common prefix and `word(rest)` over the longer's tail (the
/// shorter being padded with zeros, x ^ 0 = x), 8 bytes at a time.
template <class Count>
std::uint64_t distance(std::string_view a, std::string_view b, Count word) noexcept {
  if (a.size() < b.size())
    std::swap(a, b);
  std::uint64_t total = 0;
  std::size_t i = 0;
  for (; i + 8 <= b.size(); i += 8)
    total += static_cast<std::uint64_t>(word(load(a.data() + i) ^ load(b.data() + i)));
  for (; i < b.size(); ++i)
    total += static_cast<std::uint64_t>(
      word(static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
  for (; i + 8 <= a.size(); i += 8)
    total += static_cast<std::uint64_t>(word(load(a.data() + i)));
  for (; i < a.size(); ++i)
    total += static_cast<std::uint64_t>(word(static_cast<unsigned char>(a[i])));
  return total;
}

} // namespace

bool equal_bytes(std::string_view a, std::string_view b) noexcept {
  return a == b;
}

std::uint64_t hamming_bits(std::string_view a, std::string_view b) noexcept {
  return distance(a, b, [](std::uint64_t w) { return std::popcount(w); });
}

std::uint64_t hamming_bytes(std::string_view a, std::string_view b) noexcept {
  return distance(a, b, nonzero_bytes);
}

} // namespace actorio::detail
