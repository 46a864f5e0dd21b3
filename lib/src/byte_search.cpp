#include "lib/src/byte_search.hpp"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace actorio::detail {

const char* find_bytes(const char* hay, std::size_t size, std::string_view needle) noexcept {
  const auto m = needle.size();
  if (m == 0)
    return hay;
  if (m > size)
    return nullptr;
  if (m == 1)
    return static_cast<const char*>(std::memchr(hay, needle[0], size));
  std::size_t i = 0;
#if defined(__SSE2__)
  // Muła's "generic SIMD" substring filter: bit k of `mask` says that hay[i + k] equals the
  // needle's first byte and hay[i + k + m - 1] its last one.
  const __m128i first = _mm_set1_epi8(needle[0]);
  const __m128i last = _mm_set1_epi8(needle[m - 1]);
  for (; i + m - 1 + 16 <= size; i += 16) {
    auto head = _mm_loadu_si128(reinterpret_cast<const __m128i*>(hay + i));
    auto tail = _mm_loadu_si128(reinterpret_cast<const __m128i*>(hay + i + m - 1));
    auto mask = static_cast<unsigned>(
      _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(head, first), _mm_cmpeq_epi8(tail, last))));
    while (mask != 0) {
      auto k = static_cast<std::size_t>(__builtin_ctz(mask));
      if (std::memcmp(hay + i + k + 1, needle.data() + 1, m - 2) == 0)
        return hay + i + k;
      mask &= mask - 1;
    }
  }
#endif
  // The last positions (fewer than 16), or every position without SSE2.
  return static_cast<const char*>(::memmem(hay + i, size - i, needle.data(), m));
}

} // namespace actorio::detail
