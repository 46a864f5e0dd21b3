#pragma once

#include <cstddef>
#include <string_view>

namespace actorio::detail {

/// The first occurrence of `needle` in [hay, hay + size), or nullptr; an empty needle matches at
/// `hay`. Same answer as memmem(3), faster on the long random-looking haystacks of bulk finds: a
/// SIMD filter compares the needle's first and last bytes at 16 positions per step and checks
/// the middle only where both match, where glibc's memmem runs a byte-wise two-way search.
const char* find_bytes(const char* hay, std::size_t size, std::string_view needle) noexcept;

} // namespace actorio::detail
