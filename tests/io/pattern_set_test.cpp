#define BOOST_TEST_MODULE pattern_set_test
#include <boost/test/unit_test.hpp>

#include "io/src/file_scan.hpp"
#include "io/src/pattern_set.hpp"

#include "support/files.hpp"
#include "support/segmented_find.hpp"
#include "support/temp_dir.hpp"

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

using actorio::detail::find_in_file;
using actorio::detail::find_options;
using actorio::detail::multi_engine;
using actorio::detail::pattern_set;
using actorio::test::find_in_segments;
using actorio::test::run_command;
using actorio::test::temp_dir;
using actorio::test::write_file;

namespace {

using offsets = std::vector<std::uint64_t>;

/// Single-quoted for sh.
std::string q(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// The oracle for a non-overlapping search: GNU grep -F -o -b -a's offsets.
offsets grep_offsets(const fs::path& file, const std::vector<std::string>& patterns) {
  std::string cmd = "grep -obaF";
  for (const auto& p : patterns)
    cmd += " -e " + q(p);
  // grep exits 1 when nothing matches; the pipeline's status is cut's.
  auto text = run_command(cmd + " " + q(file.string()) + " | cut -d: -f1");
  offsets out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    out.push_back(std::stoull(line));
  return out;
}

/// The oracle for an overlapping search: every offset where some pattern starts.
offsets naive_overlapping(const std::string& hay, const std::vector<std::string>& patterns) {
  offsets out;
  for (std::size_t at = 0; at < hay.size(); ++at)
    for (const auto& p : patterns)
      if (hay.compare(at, p.size(), p) == 0) {
        out.push_back(at);
        break;
      }
  return out;
}

/// Bytes from a small alphabet, so that patterns over it hit often and overlap; newlines keep
/// grep's lines short (no pattern holds one, so grep's line-wise matching agrees).
std::string random_text(std::size_t n, unsigned seed) {
  std::mt19937 rng{seed};
  std::string alphabet = "abcab\n";
  std::string out(n, '\0');
  for (auto& c : out)
    c = alphabet[rng() % alphabet.size()];
  return out;
}

struct fixture {
  temp_dir dir;
  std::vector<char> buffer;

  offsets find(const fs::path& file, const std::vector<std::string>& patterns, multi_engine engine,
               std::size_t window, bool overlapping = false, std::uint64_t start = 0,
               std::uint64_t max_results = 0, std::size_t map_chunk = 0) {
    auto set = pattern_set::make(patterns, engine);
    BOOST_REQUIRE(set.ok());
    find_options opts;
    opts.map_chunk = map_chunk;
    opts.window = window;
    opts.overlapping = overlapping;
    opts.start = start;
    opts.max_results = max_results;
    auto found = find_in_file(file.string(), *set, opts, buffer);
    BOOST_REQUIRE(found.ok());
    return *found;
  }
};

const std::vector<std::vector<std::string>> pattern_lists = {
  // Prefixes of each other, overlapping each other, and one inside another.
  {"ab", "abc", "abcab", "bca", "cab"},
  {"a", "aa", "aaa", "b"},
  {"bcabca", "ca", "c\x01"},
  {"abcabcabcabcabcabcab", "ba", "cc"},
  // Sets the pair filter takes (automatic, on a CPU with AVX2): four and two patterns.
  {"ab", "abc", "bca", "cab"},
  {"aa", "abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabca"},
};

// Where automatic picks the pair filter, `hyperscan` still runs Hyperscan on the same set.
const multi_engine engines[] = {multi_engine::automatic, multi_engine::hyperscan,
                                multi_engine::portable};

} // namespace

BOOST_FIXTURE_TEST_SUITE(pattern_set_tests, fixture)

BOOST_AUTO_TEST_CASE(several_patterns_give_grep_F_o_b_offsets_with_either_engine) {
  auto hay = random_text(300000, 7);
  auto file = dir.path() / "hay";
  write_file(file, hay);
  for (const auto& patterns : pattern_lists) {
    auto expected = grep_offsets(file, patterns);
    BOOST_TEST(expected.size() > 100u);
    // Windows of 4 KiB put hundreds of hits across window boundaries; odd sizes shift them.
    // A file of a window or more is mapped when map_chunk is not 0: maps of a page put hits
    // across the chunks' boundaries instead.
    for (auto engine : engines)
      for (std::size_t window : {std::size_t{4096}, std::size_t{4099}, std::size_t{1} << 23})
        for (std::size_t map_chunk : {std::size_t{0}, std::size_t{4096}, std::size_t{4} << 20}) {
          BOOST_TEST_CONTEXT("patterns[0] " << patterns[0] << ", engine "
                                            << static_cast<int>(engine) << ", window " << window
                                            << ", map " << map_chunk) {
            BOOST_TEST(find(file, patterns, engine, window, false, 0, 0, map_chunk) == expected,
                       boost::test_tools::per_element());
          }
        }
  }
}

BOOST_AUTO_TEST_CASE(overlapping_reports_every_offset_where_a_pattern_starts) {
  auto hay = random_text(100000, 8);
  auto file = dir.path() / "hay";
  write_file(file, hay);
  for (const auto& patterns : pattern_lists) {
    auto expected = naive_overlapping(hay, patterns);
    for (auto engine : engines)
      for (std::size_t map_chunk : {std::size_t{0}, std::size_t{4096}})
        BOOST_TEST(find(file, patterns, engine, 4097, true, 0, 0, map_chunk) == expected,
                   boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(a_hit_spanning_a_window_boundary_is_found_once_and_whole) {
  // "abcdef" starts 3 bytes before the 4 KiB window's end: "abc" alone is complete in the first
  // window, but the longest pattern starting there only shows in the second.
  std::string hay(8192, 'x');
  hay.replace(4093, 6, "abcdef");
  hay.replace(8186, 6, "abcdef");
  auto file = dir.path() / "hay";
  write_file(file, hay);
  std::vector<std::string> patterns{"abc", "abcdef", "cde", "f"};
  // Read in windows of 4 KiB, or mapped a page at a time: the same boundary either way.
  for (auto engine : engines)
    for (std::size_t map_chunk : {std::size_t{0}, std::size_t{4096}}) {
      BOOST_TEST(find(file, patterns, engine, 4096, false, 0, 0, map_chunk) ==
                   (offsets{4093, 8186}),
                 boost::test_tools::per_element());
      BOOST_TEST(find(file, patterns, engine, 4096, true, 0, 0, map_chunk) ==
                   (offsets{4093, 4095, 4098, 8186, 8188, 8191}),
                 boost::test_tools::per_element());
    }
  BOOST_TEST(grep_offsets(file, patterns) == (offsets{4093, 8186}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(start_and_max_results_apply_to_several_patterns) {
  auto file = dir.path() / "f";
  write_file(file, "abcabcab");
  for (auto engine : engines) {
    BOOST_TEST(find(file, {"ab", "bc"}, engine, 4096, false, 1) == (offsets{1, 3, 6}),
               boost::test_tools::per_element());
    BOOST_TEST(find(file, {"ab", "bc"}, engine, 4096, false, 0, 2) == (offsets{0, 3}),
               boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(no_pattern_or_an_empty_one_is_einval_and_duplicates_count_once) {
  BOOST_TEST(pattern_set::make({}).error().code == EINVAL);
  BOOST_TEST(pattern_set::make({"a", ""}).error().code == EINVAL);
  auto set = pattern_set::make({"ab", "ab"});
  BOOST_REQUIRE(set.ok());
  BOOST_TEST(set->single() == "ab");
  BOOST_TEST(std::string(set->engine_name()) == "single");
  auto several = pattern_set::make({"ab", "cd"}, multi_engine::portable);
  BOOST_REQUIRE(several.ok());
  BOOST_TEST(std::string(several->engine_name()) == "aho-corasick");
}

BOOST_AUTO_TEST_CASE(up_to_four_patterns_of_two_bytes_or_more_take_the_pair_filter) {
  auto name = [](std::vector<std::string> patterns, multi_engine engine = multi_engine::automatic) {
    auto set = pattern_set::make(std::move(patterns), engine);
    BOOST_REQUIRE(set.ok());
    return std::string{set->engine_name()};
  };
  if (!actorio::detail::pair_filter::suits({"ab", "cd"})) {
    BOOST_TEST_MESSAGE("no AVX2: the pair filter cannot run here");
    BOOST_TEST(name({"ab", "cd"}) != "pair-filter");
    return;
  }
  BOOST_TEST(name({"ab", "cd"}) == "pair-filter");
  BOOST_TEST(name({"ab", "cd", "ef", "gh"}) == "pair-filter");
  BOOST_TEST(name({"ab", "cd", "ef", "gh", "ij"}) != "pair-filter");
  BOOST_TEST(name({"ab", "c"}) != "pair-filter");
  BOOST_TEST(name({"ab", "cd"}, multi_engine::hyperscan) != "pair-filter");
  BOOST_TEST(name({"ab", "cd"}, multi_engine::portable) == "aho-corasick");
}

BOOST_AUTO_TEST_CASE(several_patterns_cannot_overlap_only_when_no_two_occurrences_can) {
  auto overlap = [](std::vector<std::string> patterns) {
    auto set = pattern_set::make(std::move(patterns));
    BOOST_REQUIRE(set.ok());
    return set->hits_can_overlap();
  };
  BOOST_TEST(!overlap({"abc", "de"}));
  BOOST_TEST(!overlap({"NEEDLE", "xyz", "abc\n"}));
  BOOST_TEST(!overlap({"NEEDLE", "PIC"})); // mmap_manager_test splits a file searched for these
  BOOST_TEST(overlap({"NEEDLE", "PIN"}));  // "PIN" ends with the "N" that begins "NEEDLE"
  BOOST_TEST(overlap({"abc", "cd"}));      // a suffix of one begins the other
  BOOST_TEST(overlap({"cd", "abc"}));      // in either order
  BOOST_TEST(overlap({"abc", "b"}));       // one inside another
  BOOST_TEST(overlap({"ab", "abc"}));      // one begins another
  BOOST_TEST(overlap({"bc", "abc"}));      // one ends another
  BOOST_TEST(overlap({"aba", "xyz"}));     // one overlaps itself
  // Sets too large to check every pair are taken to overlap.
  std::vector<std::string> many;
  for (char c = 'a'; c < 'a' + 17; ++c)
    many.push_back(std::string{c, '0'});
  BOOST_TEST(!overlap({many.begin(), many.begin() + 16}));
  BOOST_TEST(overlap(many));
  BOOST_TEST(overlap({"abc", std::string(257, 'x') + "y"}));
}

BOOST_AUTO_TEST_CASE(segments_join_to_the_whole_for_patterns_that_cannot_overlap) {
  auto hay = random_text(20000, 11);
  auto file = dir.path() / "segments";
  write_file(file, hay);
  // No suffix of one begins another and none is inside another. (No newline in them: grep, the
  // oracle, would split a pattern there.)
  for (const auto& patterns :
       {std::vector<std::string>{"abc", "abbc"}, std::vector<std::string>{"acb", "aab"}})
    for (auto engine : engines) {
      auto set = pattern_set::make(patterns, engine);
      BOOST_REQUIRE(set.ok());
      BOOST_REQUIRE(!set->hits_can_overlap());
      auto whole = grep_offsets(file, patterns);
      BOOST_TEST(whole.size() > 100u);
      for (std::uint64_t seg : {1, 7, 4096, 19999}) {
        auto joined = find_in_segments(file.string(), *set, hay.size(), seg, buffer);
        BOOST_REQUIRE(joined.ok());
        BOOST_TEST_CONTEXT("patterns[0] " << patterns[0] << ", engine " << static_cast<int>(engine)
                                          << ", segment " << seg) {
          BOOST_TEST(*joined == whole, boost::test_tools::per_element());
        }
      }
    }
}

/// The hits of `set` in `path`, searched through maps of a few pages; `on_open` as
/// find_options has it.
actorio::result<offsets> search_mapped(const pattern_set& set, const fs::path& path,
                                       std::vector<char>& buffer,
                                       std::function<bool(std::uint64_t)> on_open = {}) {
  find_options opts;
  opts.window = 4096;
  opts.map_chunk = 16 * 4096;
  opts.on_open = std::move(on_open);
  return find_in_file(path.string(), set, opts, buffer);
}

/// Searches `cut` (a copy of `hay`, cut to one page once its size was taken, so that the map
/// covers pages the file no longer has) through maps of a few pages; returns the result.
actorio::result<offsets> search_while_cut(const pattern_set& set, const fs::path& cut,
                                          const std::string& hay, std::vector<char>& buffer) {
  write_file(cut, hay);
  return search_mapped(set, cut, buffer, [&](std::uint64_t) {
    fs::resize_file(cut, 4096);
    return true;
  });
}

// Every engine searches through maps, so a cut is EIO; Hyperscan's too, whose scratch the
// abandoned scan leaves in use (the thread gets a new one).
BOOST_AUTO_TEST_CASE(a_file_cut_short_while_searched_is_eio_and_does_not_spoil_the_next_search) {
  auto cut = dir.path() / "shrinks";
  auto whole = dir.path() / "whole";
  auto hay = random_text(200000, 9);
  write_file(whole, hay);
  // The second list is one the pair filter takes.
  for (const auto& patterns : {pattern_lists[0], pattern_lists[4]})
    for (auto engine : engines) {
      BOOST_TEST_CONTEXT("patterns[0] " << patterns[0] << ", engine " << static_cast<int>(engine)) {
        auto set = pattern_set::make(patterns, engine);
        BOOST_REQUIRE(set.ok());
        BOOST_REQUIRE(set->survives_abandoned_searches());
        auto r = search_while_cut(*set, cut, hay, buffer);
        BOOST_REQUIRE(!r.ok());
        BOOST_TEST(r.error().code == EIO);
        BOOST_TEST(r.error().path == cut.string());
        auto again = search_mapped(*set, whole, buffer);
        BOOST_REQUIRE(again.ok());
        BOOST_TEST(*again == grep_offsets(whole, patterns), boost::test_tools::per_element());
      }
    }
}

// Each abandoned Hyperscan scan sets a scratch aside; after 64 of them its sets search copies, so
// that cutting files under searches forever cannot grow memory forever.
boost::test_tools::assertion_result hyperscan_runs(boost::unit_test::test_unit_id) {
  auto set = pattern_set::make(pattern_lists[0], multi_engine::hyperscan);
  return set.ok() && std::string{set->engine_name()} == "hyperscan";
}

BOOST_AUTO_TEST_CASE(after_64_abandoned_hyperscan_scans_its_sets_search_copies,
                     *boost::unit_test::precondition(hyperscan_runs)) {
  auto set = pattern_set::make(pattern_lists[0], multi_engine::hyperscan);
  BOOST_REQUIRE(set.ok());
  auto cut = dir.path() / "shrinks";
  auto whole = dir.path() / "whole";
  auto hay = random_text(200000, 9);
  write_file(whole, hay);
  int abandoned = 0;
  for (; set->survives_abandoned_searches() && abandoned <= 64; ++abandoned) {
    auto r = search_while_cut(*set, cut, hay, buffer);
    BOOST_REQUIRE(!r.ok());
    BOOST_REQUIRE(r.error().code == EIO);
  }
  // Earlier cases of this process may have abandoned a few already.
  BOOST_TEST(abandoned <= 64);
  BOOST_TEST(!set->survives_abandoned_searches());
  // Read, not mapped: a cut is only the end of the file.
  auto r = search_while_cut(*set, cut, hay, buffer);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r == grep_offsets(cut, pattern_lists[0]), boost::test_tools::per_element());
  auto again = search_mapped(*set, whole, buffer);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(*again == grep_offsets(whole, pattern_lists[0]), boost::test_tools::per_element());
  // The portable engine keeps mapping.
  auto portable = pattern_set::make(pattern_lists[0], multi_engine::portable);
  BOOST_REQUIRE(portable.ok());
  BOOST_TEST(portable->survives_abandoned_searches());
}

BOOST_AUTO_TEST_SUITE_END()
