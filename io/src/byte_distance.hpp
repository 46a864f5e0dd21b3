#pragma once

#include <cstdint>
#include <string_view>

namespace actorio::detail {

// Distances between two byte strings of possibly different lengths. The one rule for unequal
// lengths: the shorter is padded with zero bytes to the length of the longer. So the bytes past
// the common prefix count by their own bits / by being non-zero, and a string differs from itself
// plus trailing NULs by 0 bits and 0 bytes (although equal_bytes tells them apart).
// Example: 00 ff 0f vs 01 ff 00 07 is 1 + 0 + 4 + popcount(07) = 8 bits and 3 bytes (positions
// 0, 2 and the padded 3). The Python original compared only the common prefix (5 bits, 2 bytes)
// or raised, depending on its `size` argument.

/// True when both hold the same bytes (and so the same length; padding plays no part here).
bool equal_bytes(std::string_view a, std::string_view b) noexcept;

/// The number of differing bits.
std::uint64_t hamming_bits(std::string_view a, std::string_view b) noexcept;

/// The number of positions whose bytes differ.
std::uint64_t hamming_bytes(std::string_view a, std::string_view b) noexcept;

} // namespace actorio::detail
