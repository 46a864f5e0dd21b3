#define BOOST_TEST_MODULE byte_distance_test
#include <boost/test/unit_test.hpp>

#include "io/src/byte_distance.hpp"

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

using actorio::detail::equal_bytes;
using actorio::detail::hamming_bits;
using actorio::detail::hamming_bytes;

namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values)
    out.push_back(static_cast<char>(v));
  return out;
}

/// Naive oracles: pad the shorter with zero bytes, then compare bit by bit / byte by byte.
std::uint64_t naive_bits(std::string a, std::string b) {
  auto n = std::max(a.size(), b.size());
  a.resize(n, '\0');
  b.resize(n, '\0');
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (int bit = 0; bit < 8; ++bit)
      total += ((static_cast<unsigned char>(a[i]) >> bit) & 1) !=
               ((static_cast<unsigned char>(b[i]) >> bit) & 1);
  return total;
}

std::uint64_t naive_bytes(std::string a, std::string b) {
  auto n = std::max(a.size(), b.size());
  a.resize(n, '\0');
  b.resize(n, '\0');
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < n; ++i)
    total += a[i] != b[i];
  return total;
}

} // namespace

BOOST_AUTO_TEST_SUITE(byte_distance_suite)

BOOST_AUTO_TEST_CASE(hamming_of_the_behaviour_notes_example_counts_the_padded_byte) {
  // 00 ff 0f vs 01 ff 00 07. The original compared only the common prefix: 1 + 0 + 4 = 5 bits,
  // 2 bytes. With the padding rule the fourth position is 00 vs 07: popcount(07) = 3 more bits
  // and one more differing byte.
  auto a = bytes({0x00, 0xff, 0x0f});
  auto b = bytes({0x01, 0xff, 0x00, 0x07});
  BOOST_TEST(hamming_bits(a, b) == 5u + 3u);
  BOOST_TEST(hamming_bytes(a, b) == 2u + 1u);
  // Symmetric.
  BOOST_TEST(hamming_bits(b, a) == 8u);
  BOOST_TEST(hamming_bytes(b, a) == 3u);
  // Over the common prefix alone, the original's numbers.
  BOOST_TEST(hamming_bits(a, b.substr(0, 3)) == 5u);
  BOOST_TEST(hamming_bytes(a, b.substr(0, 3)) == 2u);
  BOOST_TEST(!equal_bytes(a, b));
}

BOOST_AUTO_TEST_CASE(trailing_zero_bytes_are_no_distance_but_not_equal) {
  std::string a = "ab";
  std::string b("ab\0\0", 4);
  BOOST_TEST(hamming_bits(a, b) == 0u);
  BOOST_TEST(hamming_bytes(a, b) == 0u);
  BOOST_TEST(!equal_bytes(a, b));
  BOOST_TEST(equal_bytes(b, std::string("ab\0\0", 4)));
}

BOOST_AUTO_TEST_CASE(empty_inputs) {
  BOOST_TEST(equal_bytes("", ""));
  BOOST_TEST(hamming_bits("", "") == 0u);
  BOOST_TEST(hamming_bytes("", "") == 0u);
  // Against nothing, every set bit and every non-zero byte counts.
  auto x = bytes({0xff, 0x00, 0x01, 0x80});
  BOOST_TEST(hamming_bits(x, "") == 8u + 0u + 1u + 1u);
  BOOST_TEST(hamming_bytes("", x) == 3u);
  BOOST_TEST(!equal_bytes(x, ""));
}

BOOST_AUTO_TEST_CASE(equal_strings_have_no_distance) {
  std::string s = "the same bytes, long enough to cover several 8-byte words\xff\x80";
  BOOST_TEST(equal_bytes(s, s));
  BOOST_TEST(hamming_bits(s, s) == 0u);
  BOOST_TEST(hamming_bytes(s, s) == 0u);
}

BOOST_AUTO_TEST_CASE(every_byte_value_against_zero_counts_its_popcount) {
  // Covers the word path's per-byte non-zero test for all 256 values in every lane.
  std::string all;
  for (int v = 0; v < 256; ++v)
    all.push_back(static_cast<char>(v));
  std::string zero(all.size(), '\0');
  BOOST_TEST(hamming_bits(all, zero) == 256u * 4u); // each bit is set in half of the values
  BOOST_TEST(hamming_bytes(all, zero) == 255u);
  for (std::size_t shift = 1; shift < 8; ++shift) {
    auto shifted = std::string(shift, '\0') + all;
    BOOST_TEST(hamming_bytes(shifted, "") == 255u, "shift " << shift);
    BOOST_TEST(hamming_bits(shifted, "") == 1024u, "shift " << shift);
  }
}

BOOST_AUTO_TEST_CASE(random_inputs_agree_with_a_naive_padded_count) {
  std::mt19937 rng(20240607);
  for (int round = 0; round < 3000; ++round) {
    auto la = std::uniform_int_distribution<std::size_t>(0, 40)(rng);
    auto lb = std::uniform_int_distribution<std::size_t>(0, 40)(rng);
    // Few distinct values, so equal bytes and zero bytes are common.
    std::uniform_int_distribution<int> value(0, 3);
    const int values[] = {0x00, 0x01, 0xff, 0x5a};
    std::string a, b;
    for (std::size_t i = 0; i < la; ++i)
      a.push_back(static_cast<char>(values[value(rng)]));
    for (std::size_t i = 0; i < lb; ++i)
      b.push_back(static_cast<char>(values[value(rng)]));
    if (round % 5 == 0)
      b = a.substr(0, std::min(a.size(), lb));
    BOOST_TEST_REQUIRE(hamming_bits(a, b) == naive_bits(a, b), "round " << round);
    BOOST_TEST_REQUIRE(hamming_bytes(a, b) == naive_bytes(a, b), "round " << round);
    BOOST_TEST_REQUIRE(equal_bytes(a, b) == (a == b), "round " << round);
  }
}

BOOST_AUTO_TEST_SUITE_END()
