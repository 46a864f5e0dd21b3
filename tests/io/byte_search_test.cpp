#define BOOST_TEST_MODULE byte_search_test
#include <boost/test/unit_test.hpp>

#include "io/src/byte_search.hpp"

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using actorio::detail::find_bytes;
using actorio::detail::pair_filter;

namespace {

/// The first match by brute force, as an offset; size when there is none.
std::size_t naive(std::string_view hay, std::string_view needle) {
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (hay.substr(i, needle.size()) == needle)
      return i;
  return hay.size();
}

std::size_t ours(std::string_view hay, std::string_view needle) {
  auto* hit = find_bytes(hay.data(), hay.size(), needle);
  return hit == nullptr ? hay.size() : static_cast<std::size_t>(hit - hay.data());
}

/// `n` bytes drawn from the first `alphabet` lower-case letters.
std::string letters(std::mt19937_64& rng, std::size_t n, std::uint64_t alphabet) {
  std::string out(n, '\0');
  for (auto& c : out)
    c = static_cast<char>('a' + rng() % alphabet);
  return out;
}

/// Every (end, length) of every pattern starting in [from, to) and ending within hay, by start.
std::vector<std::pair<std::size_t, std::size_t>>
naive_ends(std::string_view hay, const std::vector<std::string>& patterns, std::size_t from,
           std::size_t to) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  for (auto at = from; at < to; ++at)
    for (const auto& p : patterns)
      if (hay.substr(at, p.size()) == p)
        out.emplace_back(at + p.size(), p.size());
  return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(byte_search)

BOOST_AUTO_TEST_CASE(pair_filter_reports_every_occurrence_a_brute_force_scan_finds) {
  if (!pair_filter::suits({"ab"})) {
    BOOST_TEST_MESSAGE("no AVX2: the pair filter cannot run here");
    return;
  }
  // Two or three letters, so that most steps of 64 starts hold candidates, true and false;
  // haystacks from shorter than a step to several, and bounds anywhere in them.
  std::mt19937_64 rng{9001};
  for (int round = 0; round < 5000; ++round) {
    auto alphabet = 2 + rng() % 2;
    auto hay = letters(rng, rng() % 600, alphabet);
    std::vector<std::string> patterns(1 + rng() % pair_filter::max_patterns);
    for (auto& p : patterns) {
      // Mostly short, so that whole steps fit; sometimes long, so that none does.
      p = letters(rng, 2 + rng() % (round % 4 == 0 ? 90 : 10), alphabet);
      if (hay.size() > 2 && rng() % 2 == 0) {
        auto at = rng() % (hay.size() - 2);
        p = hay.substr(at, 2 + rng() % 12);
      }
    }
    BOOST_TEST_REQUIRE(pair_filter::suits(patterns));
    auto to = hay.empty() ? 0 : rng() % (hay.size() + 1);
    auto from = to == 0 ? 0 : rng() % (to + 1);
    std::vector<std::pair<std::size_t, std::size_t>> seen;
    pair_filter{patterns}.scan(
      hay.data(), hay.size(), from, to,
      [&](std::size_t end, std::size_t length) { seen.emplace_back(end, length); });
    BOOST_TEST_REQUIRE((seen == naive_ends(hay, patterns, from, to)),
                       "round " << round << " hay " << hay << " from " << from << " to " << to);
  }
}

BOOST_AUTO_TEST_CASE(agrees_with_brute_force_on_random_inputs_of_every_small_length) {
  std::mt19937_64 rng{4242};
  for (int round = 0; round < 20000; ++round) {
    auto alphabet = 1 + rng() % 4;
    auto hay = letters(rng, rng() % 80, alphabet);
    auto needle = letters(rng, 1 + rng() % 20, alphabet);
    if (!hay.empty() && rng() % 2 == 0) {
      auto at = rng() % hay.size();
      needle = hay.substr(at, 1 + rng() % 20);
    }
    BOOST_TEST_REQUIRE(ours(hay, needle) == naive(hay, needle),
                       "hay " << hay << " needle " << needle);
  }
}

BOOST_AUTO_TEST_CASE(the_first_of_many_candidates_in_long_haystacks_is_the_hit_reported) {
  // Haystacks of several SIMD steps over two or three letters: most steps hold candidates in
  // both halves, false ones before the true one.
  std::mt19937_64 rng{777};
  for (int round = 0; round < 5000; ++round) {
    auto alphabet = 2 + rng() % 2;
    auto hay = letters(rng, 64 + rng() % 400, alphabet);
    auto needle = letters(rng, 2 + rng() % 12, alphabet);
    if (rng() % 2 == 0) {
      auto at = rng() % (hay.size() - needle.size());
      hay.replace(at, needle.size(), needle);
    }
    BOOST_TEST_REQUIRE(ours(hay, needle) == naive(hay, needle),
                       "hay " << hay << " needle " << needle);
  }
}

BOOST_AUTO_TEST_CASE(finds_a_needle_at_every_offset_and_alignment_of_a_long_haystack) {
  for (std::size_t m : {2, 3, 7, 16, 17, 33}) {
    std::string needle(m, 'x');
    needle.front() = 'N';
    needle.back() = 'E';
    for (std::size_t lead = 0; lead < 16; ++lead) {
      std::string buffer(lead + 200, '.');
      std::string_view hay{buffer.data() + lead, 200};
      for (std::size_t at = 0; at + m <= hay.size(); ++at) {
        std::string copy(hay);
        copy.replace(at, m, needle);
        std::string_view shifted{copy};
        BOOST_TEST_REQUIRE(ours(shifted, needle) == at, "m " << m << " at " << at);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(first_and_last_byte_matches_without_the_middle_are_not_hits) {
  std::string hay;
  for (int i = 0; i < 100; ++i)
    hay += "NxxE";
  BOOST_TEST(ours(hay, "NyyE") == hay.size());
  hay += "NyyE";
  BOOST_TEST(ours(hay, "NyyE") == hay.size() - 4);
}

BOOST_AUTO_TEST_CASE(empty_and_oversized_needles_follow_memmem) {
  std::string hay = "abc";
  BOOST_TEST(ours(hay, "") == 0u);
  BOOST_TEST(ours(hay, "abcd") == hay.size());
  BOOST_TEST(ours("", "a") == 0u);
  BOOST_TEST(ours(std::string_view{"a\0b", 3}, std::string_view{"\0b", 2}) == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
