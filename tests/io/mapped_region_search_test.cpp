#define BOOST_TEST_MODULE mapped_region_search_test
// mapped_region: find, rfind and search against naive searches.
#include "support/mapped_region_helpers.hpp"

BOOST_FIXTURE_TEST_SUITE(mapped_region_search_suite, fixture)

// ---- find / rfind / search ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(find_with_start_and_end_works) {
  // The original raised TypeError whenever start or end was given.
  auto p = dir / "file";
  write_file(p, "hello world, hello"); // 18 bytes; 'o' at 4, 7, 17
  auto region = must_open(p, open_mode::read_only);
  BOOST_TEST(must(region.find("o", 0, -1)) == 4);
  BOOST_TEST(must(region.find("o", 5, -1)) == 7);
  BOOST_TEST(must(region.find("o", 5, 7)) == -1);
  BOOST_TEST(must(region.find("o", 5, 8)) == 7);
  BOOST_TEST(must(region.find("hello", 1, -1)) == 13);
  BOOST_TEST(must(region.find("hello", 1, 17)) == -1);
  BOOST_TEST(must(region.find("hello", 1, 1000)) == 13);
  BOOST_TEST(must(region.find("zzz", 0, -1)) == -1);
  BOOST_TEST(must(region.find("o", 18, -1)) == -1);
  BOOST_TEST(must(region.find("o", 100, -1)) == -1);
  // An empty sub is found at start while start <= min(end, size).
  BOOST_TEST(must(region.find("", 3, -1)) == 3);
  BOOST_TEST(must(region.find("", 18, -1)) == 18);
  BOOST_TEST(must(region.find("", 19, -1)) == -1);
  BOOST_TEST(must(region.find("", 3, 2)) == -1);
  BOOST_TEST(must(region.rfind("o", 0, -1)) == 17);
  BOOST_TEST(must(region.rfind("o", 0, 17)) == 7);
  BOOST_TEST(must(region.rfind("o", 8, 17)) == -1);
  BOOST_TEST(must(region.rfind("hello", 0, -1)) == 13);
  BOOST_TEST(must(region.rfind("hello", 0, 17)) == 0);
  BOOST_TEST(must(region.rfind("hello", 1, 17)) == -1);
  BOOST_TEST(must(region.rfind("h", 0, 1)) == 0);
  BOOST_TEST(must(region.rfind("", 0, -1)) == 18);
  BOOST_TEST(must(region.rfind("", 0, 5)) == 5);
  BOOST_TEST(must(region.rfind("", 6, 5)) == -1);
  BOOST_TEST(failed_as(region.find("o", -1, -1), EINVAL, p, "find"));
  BOOST_TEST(failed_as(region.find("o", 0, -2), EINVAL, p, "find"));
  BOOST_TEST(failed_as(region.rfind("o", -1, -1), EINVAL, p, "rfind"));
  BOOST_TEST(failed_as(region.rfind("o", 0, -2), EINVAL, p, "rfind"));
  // A 0-byte file has no mapping.
  write_file(dir / "empty", "");
  auto empty = must_open(dir / "empty", open_mode::read_only);
  BOOST_TEST(must(empty.find("a", 0, -1)) == -1);
  BOOST_TEST(must(empty.rfind("a", 0, -1)) == -1);
  BOOST_TEST(must(empty.find("", 0, -1)) == 0);
  BOOST_TEST(must(empty.rfind("", 0, -1)) == 0);
}

BOOST_AUTO_TEST_CASE(find_and_rfind_agree_with_std_string_on_random_data) {
  auto p = dir / "file";
  std::mt19937 rng(11);
  for (int round = 0; round < 200; ++round) {
    auto s = random_bytes(rng, std::uniform_int_distribution<std::size_t>(0, 80)(rng), "ab");
    write_file(p, s);
    auto region = must_open(p, open_mode::read_only);
    for (int q = 0; q < 20; ++q) {
      auto sub = random_bytes(rng, std::uniform_int_distribution<std::size_t>(0, 3)(rng), "ab");
      auto start = std::uniform_int_distribution<std::int64_t>(0, s.size() + 2)(rng);
      auto end = std::uniform_int_distribution<std::int64_t>(-1, s.size() + 2)(rng);
      // Oracle: the window [0, min(end, size)) searched from start, as bytes.find does.
      auto window = s.substr(0, end < 0 ? s.size() : std::min<std::size_t>(end, s.size()));
      std::int64_t want_find = -1, want_rfind = -1;
      if (static_cast<std::size_t>(start) <= window.size()) {
        auto f = window.find(sub, start);
        want_find = f == std::string::npos ? -1 : static_cast<std::int64_t>(f);
        auto r = window.rfind(sub);
        want_rfind = r == std::string::npos || r < static_cast<std::size_t>(start)
                       ? -1
                       : static_cast<std::int64_t>(r);
      }
      BOOST_TEST_REQUIRE(must(region.find(sub, start, end)) == want_find,
                         "find '" << sub << "' in '" << s << "' [" << start << ", " << end << ")");
      BOOST_TEST_REQUIRE(must(region.rfind(sub, start, end)) == want_rfind,
                         "rfind '" << sub << "' in '" << s << "' [" << start << ", " << end << ")");
    }
  }
}

BOOST_AUTO_TEST_CASE(search_overlapping_reports_each_hit_once) {
  // The original reported duplicates ([2,2,2,6,6,6,6] below) or looped on the first hit.
  auto p = dir / "file";
  write_file(p, "xxabxxabaaa");
  auto region = must_open(p, open_mode::read_only);
  using hits = std::vector<std::uint64_t>;
  for (bool overlapping : {true, false}) {
    auto r = must(region.search("ab", 0, -1, overlapping));
    BOOST_TEST((r.first == hits{2, 6}), "overlapping " << overlapping);
    BOOST_TEST(r.second == region.size());
  }
  write_file(dir / "a4", "aaaa");
  auto a4 = must_open(dir / "a4", open_mode::read_only);
  BOOST_TEST((must(a4.search("aa", 0, -1, true)).first == hits{0, 1, 2}));
  BOOST_TEST((must(a4.search("aa", 0, -1, false)).first == hits{0, 2}));
  BOOST_TEST((must(a4.search("aa", 1, -1, false)).first == hits{1}));
  BOOST_TEST((must(a4.search("aaaaa", 0, -1, true)).first == hits{}));
  BOOST_TEST((must(a4.search("a", 10, -1, true)).first == hits{}));
  BOOST_TEST(failed_as(a4.search("", 0, -1, true), EINVAL, dir / "a4", "search"));
  BOOST_TEST(failed_as(a4.search("a", -1, -1, true), EINVAL, dir / "a4", "search"));
  BOOST_TEST(failed_as(a4.search("a", 0, -2, true), EINVAL, dir / "a4", "search"));
}

BOOST_AUTO_TEST_CASE(search_resumes_from_returned_offset) {
  auto p = dir / "file";
  write_file(p, "aaaa");
  auto region = must_open(p, open_mode::read_only);
  using hits = std::vector<std::uint64_t>;
  // Page by page, one hit at a time: the resume offset is the next scan position.
  const std::pair<bool, std::vector<std::pair<hits, std::uint64_t>>> scans[] = {
    {true, {{{0}, 1}, {{1}, 2}, {{2}, 3}, {{}, 4}}},
    {false, {{{0}, 2}, {{2}, 4}, {{}, 4}}},
  };
  for (const auto& [overlapping, pages] : scans) {
    std::uint64_t next = 0;
    for (const auto& [want_hits, want_next] : pages) {
      auto r = must(region.search("aa", static_cast<std::int64_t>(next), 1, overlapping));
      BOOST_TEST(r.first == want_hits, boost::test_tools::per_element());
      BOOST_TEST(r.second == want_next, "overlapping " << overlapping);
      next = r.second;
    }
  }
  // max_results 0: nothing, and the offset itself (clamped at size()).
  auto none = must(region.search("a", 2, 0, true));
  BOOST_TEST(none.first.empty());
  BOOST_TEST(none.second == 2u);
  BOOST_TEST(must(region.search("a", 9, 0, true)).second == 4u);
  // Paging with max_results 2 over "xxabxxab" collects every hit once.
  write_file(dir / "x", "xxabxxabab");
  auto x = must_open(dir / "x", open_mode::read_only);
  hits all;
  for (std::uint64_t next = 0; next < x.size();) {
    auto r = must(x.search("ab", static_cast<std::int64_t>(next), 2, false));
    all.insert(all.end(), r.first.begin(), r.first.end());
    BOOST_REQUIRE(r.second > next || r.second == x.size());
    next = r.second;
  }
  BOOST_TEST((all == hits{2, 6, 8}));
}

BOOST_AUTO_TEST_CASE(search_agrees_with_a_naive_search_on_random_data) {
  auto p = dir / "file";
  std::mt19937 rng(5);
  for (int round = 0; round < 150; ++round) {
    auto s = random_bytes(rng, std::uniform_int_distribution<std::size_t>(0, 300)(rng), "ab");
    write_file(p, s);
    auto region = must_open(p, open_mode::read_only);
    for (int q = 0; q < 20; ++q) {
      auto pat = random_bytes(rng, std::uniform_int_distribution<std::size_t>(1, 4)(rng), "ab");
      auto offset = std::uniform_int_distribution<std::uint64_t>(0, s.size() + 2)(rng);
      bool overlapping = rng() % 2 == 0;
      auto max_results = std::uniform_int_distribution<std::int64_t>(-1, 6)(rng);
      auto all = naive_search(s, pat, offset, overlapping);
      auto want = all;
      std::uint64_t want_next = s.size();
      if (max_results >= 0 && want.size() >= static_cast<std::size_t>(max_results)) {
        want.resize(static_cast<std::size_t>(max_results));
        if (max_results == 0)
          want_next = std::min<std::uint64_t>(offset, s.size());
        else
          want_next = want.back() + (overlapping ? 1 : pat.size());
      }
      auto r =
        must(region.search(pat, static_cast<std::int64_t>(offset), max_results, overlapping));
      BOOST_TEST_REQUIRE(r.first == want, boost::test_tools::per_element());
      BOOST_TEST_REQUIRE(r.second == want_next);
      // Resuming from the returned offset with no limit yields the rest of the same scan.
      if (max_results > 0) {
        auto rest = must(region.search(pat, static_cast<std::int64_t>(r.second), -1, overlapping));
        auto joined = r.first;
        joined.insert(joined.end(), rest.first.begin(), rest.first.end());
        BOOST_TEST_REQUIRE(joined == all, boost::test_tools::per_element());
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
