#include "io/src/byte_search.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace actorio::detail {

namespace {

/// How common each byte value is in typical files (higher: more common), ripgrep's idea for
/// choosing which needle bytes to filter on: English text letters by frequency, then digits,
/// space and line ends, NUL and 0xff (padding in binaries); bytes above 0x7f and other control
/// bytes are rarest.
constexpr std::array<unsigned char, 256> byte_frequency_rank() {
  std::array<unsigned char, 256> rank{};
  for (int c = 0x21; c < 0x7f; ++c)
    rank[c] = 60;
  for (int c = '0'; c <= '9'; ++c)
    rank[c] = 110;
  for (int c = 'A'; c <= 'Z'; ++c)
    rank[c] = 100;
  const char* letters = "etaoinshrdlcumwfgypbvkjxqz";
  for (int i = 0; letters[i] != '\0'; ++i)
    rank[static_cast<unsigned char>(letters[i])] = static_cast<unsigned char>(250 - 5 * i);
  rank[' '] = 255;
  rank['\n'] = 200;
  rank['\t'] = 150;
  rank['\r'] = 120;
  rank[0x00] = 254;
  rank[0xff] = 140;
  return rank;
}

constexpr auto frequency_rank = byte_frequency_rank();

/// The two needle positions whose bytes are rarest (first < second in the needle is not
/// required); m >= 2.
std::pair<std::size_t, std::size_t> rare_pair(std::string_view needle) {
  std::size_t a = 0;
  for (std::size_t i = 1; i < needle.size(); ++i)
    if (frequency_rank[static_cast<unsigned char>(needle[i])] <
        frequency_rank[static_cast<unsigned char>(needle[a])])
      a = i;
  std::size_t b = a == 0 ? 1 : 0;
  for (std::size_t i = 0; i < needle.size(); ++i) {
    if (i == a || needle[i] == needle[a])
      continue;
    if (needle[b] == needle[a] || frequency_rank[static_cast<unsigned char>(needle[i])] <
                                    frequency_rank[static_cast<unsigned char>(needle[b])])
      b = i;
  }
  return {a, b};
}

#if defined(__SSE2__)
/// How far ahead of the filter its loads are announced. The hardware prefetchers stop at each 4
/// KiB page boundary; a search of a map of the page cache reads memory, not cache, and asking
/// for the line a page ahead keeps the stream going across them (16 × 64 MiB: 64 against 74 ms).
constexpr std::uintptr_t prefetch_distance = 4096;

/// Asks for the cache line `prefetch_distance` bytes past `p`. A prefetch never faults, so the
/// address may lie past the haystack's end; it is formed as an integer, never as a pointer there.
inline void prefetch_ahead(const char* p) {
  _mm_prefetch(
    reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(p) + prefetch_distance),
    _MM_HINT_T0);
}
#endif

#if defined(__x86_64__)
/// Muła's "generic SIMD" substring filter on 32 positions per step: bit k of `mask` says that
/// hay[i + k + a] and hay[i + k + b] equal the needle's bytes at a and b. Returns the hit, or
/// nullptr with `*done` set to the first position not tried.
__attribute__((target("avx2"))) const char* filter_avx2(const char* hay, std::size_t size,
                                                        std::string_view needle, std::size_t a,
                                                        std::size_t b, std::size_t* done) {
  const auto m = needle.size();
  const __m256i first = _mm256_set1_epi8(needle[a]);
  const __m256i second = _mm256_set1_epi8(needle[b]);
  std::size_t i = 0;
  // 64 positions a step with one branch: candidates are rare, so the loads and compares set the
  // pace, not the tests.
  for (; i + m - 1 + 64 <= size; i += 64) {
    prefetch_ahead(hay + i);
    auto lo = _mm256_and_si256(
      _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(hay + i + a)), first),
      _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(hay + i + b)), second));
    auto hi = _mm256_and_si256(
      _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(hay + i + 32 + a)),
                        first),
      _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(hay + i + 32 + b)),
                        second));
    auto any = _mm256_or_si256(lo, hi);
    if (_mm256_testz_si256(any, any))
      continue;
    auto mask = static_cast<std::uint64_t>(static_cast<unsigned>(_mm256_movemask_epi8(lo))) |
                static_cast<std::uint64_t>(static_cast<unsigned>(_mm256_movemask_epi8(hi))) << 32;
    while (mask != 0) {
      auto k = static_cast<std::size_t>(__builtin_ctzll(mask));
      if (std::memcmp(hay + i + k, needle.data(), m) == 0)
        return hay + i + k;
      mask &= mask - 1;
    }
  }
  for (; i + m - 1 + 32 <= size; i += 32) {
    auto x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(hay + i + a));
    auto y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(hay + i + b));
    auto mask = static_cast<unsigned>(_mm256_movemask_epi8(
      _mm256_and_si256(_mm256_cmpeq_epi8(x, first), _mm256_cmpeq_epi8(y, second))));
    while (mask != 0) {
      auto k = static_cast<std::size_t>(__builtin_ctz(mask));
      if (std::memcmp(hay + i + k, needle.data(), m) == 0)
        return hay + i + k;
      mask &= mask - 1;
    }
  }
  *done = i;
  return nullptr;
}

bool has_avx2() {
  static const bool avx2 = (__builtin_cpu_init(), __builtin_cpu_supports("avx2"));
  return avx2;
}

/// 0xff at the positions p + k (k < 32) where p[k + at_x] == x and p[k + at_y] == y.
__attribute__((target("avx2"))) inline __m256i pair_pass(const char* p, __m256i x, __m256i y,
                                                         std::size_t at_x, std::size_t at_y) {
  return _mm256_and_si256(
    _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + at_x)), x),
    _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + at_y)), y));
}

/// pair_filter's steps for N patterns, from `i` while i < `end`: filter_avx2's test for each
/// pattern, OR-ed. Returns the first step with a candidate (its mask in `mask`), or where it
/// stopped with `mask` 0. A template so that each N keeps its bytes and offsets in registers.
template <std::size_t N>
__attribute__((target("avx2"))) std::size_t
pair_steps(const char* data, std::size_t i, std::size_t end, const std::size_t* first_at,
           const std::size_t* second_at, const char* first, const char* second,
           std::uint64_t& mask) {
  __m256i one[N], two[N];
  std::size_t a[N], b[N];
  for (std::size_t j = 0; j < N; ++j) {
    one[j] = _mm256_set1_epi8(first[j]);
    two[j] = _mm256_set1_epi8(second[j]);
    a[j] = first_at[j];
    b[j] = second_at[j];
  }
  for (; i < end; i += 64) {
    prefetch_ahead(data + i);
    auto lo = _mm256_setzero_si256();
    auto hi = _mm256_setzero_si256();
    for (std::size_t j = 0; j < N; ++j) {
      lo = _mm256_or_si256(lo, pair_pass(data + i, one[j], two[j], a[j], b[j]));
      hi = _mm256_or_si256(hi, pair_pass(data + i + 32, one[j], two[j], a[j], b[j]));
    }
    auto any = _mm256_or_si256(lo, hi);
    if (_mm256_testz_si256(any, any))
      continue;
    mask = static_cast<std::uint64_t>(static_cast<unsigned>(_mm256_movemask_epi8(lo))) |
           static_cast<std::uint64_t>(static_cast<unsigned>(_mm256_movemask_epi8(hi))) << 32;
    return i;
  }
  mask = 0;
  return i;
}
#endif

#if defined(__SSE2__)
/// As filter_avx2, 16 positions per step.
const char* filter_sse2(const char* hay, std::size_t size, std::string_view needle, std::size_t a,
                        std::size_t b, std::size_t* done) {
  const auto m = needle.size();
  const __m128i first = _mm_set1_epi8(needle[a]);
  const __m128i second = _mm_set1_epi8(needle[b]);
  std::size_t i = 0;
  for (; i + m - 1 + 16 <= size; i += 16) {
    if (i % 64 == 0)
      prefetch_ahead(hay + i);
    auto x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(hay + i + a));
    auto y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(hay + i + b));
    auto mask = static_cast<unsigned>(
      _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(x, first), _mm_cmpeq_epi8(y, second))));
    while (mask != 0) {
      auto k = static_cast<std::size_t>(__builtin_ctz(mask));
      if (std::memcmp(hay + i + k, needle.data(), m) == 0)
        return hay + i + k;
      mask &= mask - 1;
    }
  }
  *done = i;
  return nullptr;
}
#endif

} // namespace

bool pair_filter::suits(const std::vector<std::string>& patterns) noexcept {
#if defined(__x86_64__)
  return has_avx2() && !patterns.empty() && patterns.size() <= max_patterns &&
         std::all_of(patterns.begin(), patterns.end(),
                     [](const std::string& p) { return p.size() >= 2; });
#else
  (void)patterns;
  return false;
#endif
}

pair_filter::pair_filter(const std::vector<std::string>& patterns)
  : patterns_(patterns) {
  for (std::size_t j = 0; j < patterns_.size(); ++j) {
    auto [a, b] = rare_pair(patterns_[j]);
    first_at_[j] = a;
    second_at_[j] = b;
    first_[j] = patterns_[j][a];
    second_[j] = patterns_[j][b];
    reach_ = std::max({reach_, a, b});
  }
}

std::size_t pair_filter::next_candidates(const char* data, std::size_t size, std::size_t i,
                                         std::size_t to, std::uint64_t& mask) const noexcept {
  mask = 0;
#if defined(__x86_64__)
  // A step at i loads up to i + 63 + reach_.
  if (size < 64 + reach_)
    return i;
  auto end = std::min(to, size - 64 - reach_ + 1);
  auto* a = first_at_.data();
  auto* b = second_at_.data();
  switch (patterns_.size()) {
  case 1:
    return pair_steps<1>(data, i, end, a, b, first_.data(), second_.data(), mask);
  case 2:
    return pair_steps<2>(data, i, end, a, b, first_.data(), second_.data(), mask);
  case 3:
    return pair_steps<3>(data, i, end, a, b, first_.data(), second_.data(), mask);
  default:
    return pair_steps<4>(data, i, end, a, b, first_.data(), second_.data(), mask);
  }
#else
  (void)data;
  (void)size;
  (void)to;
  return i;
#endif
}

const char* find_bytes(const char* hay, std::size_t size, std::string_view needle) noexcept {
  const auto m = needle.size();
  if (m == 0)
    return hay;
  if (m > size)
    return nullptr;
  if (m == 1)
    return static_cast<const char*>(std::memchr(hay, needle[0], size));
  std::size_t i = 0;
  // Filtering on the needle's two rarest bytes rather than its first and last: in text, few
  // positions pass the filter, so the filter, not the checks, sets the pace.
  auto [a, b] = rare_pair(needle);
#if defined(__x86_64__)
  if (has_avx2()) {
    if (auto* hit = filter_avx2(hay, size, needle, a, b, &i))
      return hit;
  } else if (auto* hit = filter_sse2(hay, size, needle, a, b, &i)) {
    return hit;
  }
#elif defined(__SSE2__)
  if (auto* hit = filter_sse2(hay, size, needle, a, b, &i))
    return hit;
#endif
  // The last positions (fewer than one step), or every position without SIMD.
  return static_cast<const char*>(::memmem(hay + i, size - i, needle.data(), m));
}

} // namespace actorio::detail
