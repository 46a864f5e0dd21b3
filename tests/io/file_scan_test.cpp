#define BOOST_TEST_MODULE file_scan_test
#include <boost/test/unit_test.hpp>

#include "io/src/file_scan.hpp"

#include "support/describe.hpp"
#include "support/fault_shim.hpp"
#include "support/files.hpp"
#include "support/peak_rss.hpp"
#include "support/segmented_find.hpp"
#include "support/temp_dir.hpp"

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

using actorio::byte_range;
using actorio::failure;
using actorio::detail::compact_file;
using actorio::detail::find_in_file;
using actorio::detail::find_options;
using actorio::detail::map_chunk_for;
using actorio::detail::max_map_chunk;
using actorio::detail::pattern_set;
using actorio::detail::read_ranges;
using actorio::detail::resize_file;
using actorio::detail::scan_window;
using actorio::detail::self_overlapping;
using actorio::detail::work_control;
using actorio::detail::write_piece;
using actorio::detail::write_pieces;
using actorio::test::describe;
using actorio::test::find_in_segments;
using actorio::test::peak_rss_kib;
using actorio::test::read_file;
using actorio::test::reset_peak_rss;
using actorio::test::temp_dir;
using actorio::test::why;
using actorio::test::write_file;

namespace {

using offsets = std::vector<std::uint64_t>;

constexpr std::uint64_t mib = std::uint64_t{1} << 20;
constexpr std::uint64_t gib = std::uint64_t{1} << 30;

/// The oracle: position by position, nothing shared with the windowed implementation.
offsets naive_find(const std::string& hay, const std::string& pat, std::uint64_t start,
                   std::uint64_t max_results, bool overlapping) {
  offsets out;
  for (std::uint64_t p = start; p + pat.size() <= hay.size();) {
    if (hay.compare(p, pat.size(), pat) != 0) {
      ++p;
      continue;
    }
    out.push_back(p);
    if (max_results != 0 && out.size() == max_results)
      break;
    p += overlapping ? 1 : pat.size();
  }
  return out;
}

/// A file of `size` bytes that is all hole except `chunks` (offset, bytes).
void make_sparse(const fs::path& p, std::uint64_t size,
                 const std::vector<std::pair<std::uint64_t, std::string>>& chunks) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::system_error(errno, std::generic_category(), "open " + p.string());
  bool ok = ::ftruncate(fd, static_cast<off_t>(size)) == 0;
  for (const auto& [off, bytes] : chunks)
    ok = ok && ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(off)) ==
                 static_cast<ssize_t>(bytes.size());
  ::close(fd);
  if (!ok)
    throw std::runtime_error("cannot write sparse file " + p.string());
}

std::string str(std::span<const char> v) {
  return std::string(v.begin(), v.end());
}

struct fixture {
  temp_dir dir;
  std::vector<char> buffer;

  actorio::result<offsets> find(const fs::path& p, const std::string& pat, std::uint64_t start = 0,
                                std::uint64_t max_results = 0, bool overlapping = false,
                                std::size_t window = scan_window, std::size_t map_chunk = 0) {
    find_options opts;
    opts.map_chunk = map_chunk;
    opts.start = start;
    opts.max_results = max_results;
    opts.overlapping = overlapping;
    opts.window = window;
    return find_in_file(p.string(), pat, opts, buffer);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(file_scan, fixture)

BOOST_AUTO_TEST_CASE(range_length_is_clamped_at_the_end_and_zero_past_it) {
  using actorio::detail::range_length;
  BOOST_TEST(range_length(0, -1, 10) == 10u);
  BOOST_TEST(range_length(4, -1, 10) == 6u);
  BOOST_TEST(range_length(4, 3, 10) == 3u);
  BOOST_TEST(range_length(8, 5, 10) == 2u);
  BOOST_TEST(range_length(10, 5, 10) == 0u);
  BOOST_TEST(range_length(12, -1, 10) == 0u);
  BOOST_TEST(range_length(-3, 4, 10) == 4u);
}

BOOST_AUTO_TEST_CASE(find_agrees_with_naive_search_on_random_data) {
  std::mt19937_64 rng{20240611};
  auto pick = [&](std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>{lo, hi}(rng);
  };
  auto file = dir / "random";
  for (int round = 0; round < 400; ++round) {
    // Small alphabets give many, often overlapping, hits.
    auto alphabet = static_cast<char>(pick(1, 4));
    std::string hay(pick(0, 3000), '\0');
    for (auto& c : hay)
      c = static_cast<char>('a' + pick(0, alphabet - 1));
    std::string pat(pick(1, 9), '\0');
    for (auto& c : pat)
      c = static_cast<char>('a' + pick(0, alphabet - 1));
    // Sometimes a pattern taken from the data, so long patterns hit too.
    if (!hay.empty() && pick(0, 2) == 0) {
      auto at = pick(0, hay.size() - 1);
      pat = hay.substr(at, pick(1, 40));
    }
    const std::size_t windows[] = {1, 2, 3, 7, 64, 1000, scan_window};
    auto window = windows[pick(0, std::size(windows) - 1)];
    auto start = pick(0, hay.size() + 5);
    auto max_results = pick(0, 1) == 0 ? 0 : pick(1, 20);
    bool overlapping = pick(0, 1) == 1;
    write_file(file, hay);
    // Files of a window or more are mapped when map_chunk is not 0.
    const std::size_t map_chunks[] = {0, 4096, std::size_t{4} << 20};
    auto map_chunk = map_chunks[pick(0, std::size(map_chunks) - 1)];
    auto r = find(file, pat, start, max_results, overlapping, window, map_chunk);
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    auto expected = naive_find(hay, pat, start, max_results, overlapping);
    BOOST_TEST_CONTEXT("round " << round << " size " << hay.size() << " pattern " << pat
                                << " window " << window << " map " << map_chunk << " start "
                                << start << " max " << max_results << " overlapping "
                                << overlapping) {
      BOOST_TEST(*r == expected, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(a_file_searched_through_maps_of_a_page_matches_the_naive_search) {
  // 40 pages over a two-letter alphabet: hits span every boundary between mapped chunks.
  std::mt19937 rng{5};
  std::string hay(40 * 4096 + 123, 'a');
  for (auto& c : hay)
    c = rng() % 2 == 0 ? 'a' : 'b';
  hay.replace(4096 - 3, 7, "abbbbba");
  auto file = dir / "mapped";
  write_file(file, hay);
  for (std::string pat : {"abbbbba", "ab", "aba", "bbabba"})
    for (bool overlapping : {false, true})
      for (std::uint64_t start : {std::uint64_t{0}, std::uint64_t{4095}, std::uint64_t{9000}}) {
        auto r = find(file, pat, start, 0, overlapping, 1000, 4096);
        BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
        BOOST_TEST(*r == naive_find(hay, pat, start, 0, overlapping),
                   boost::test_tools::per_element());
        BOOST_TEST(*find(file, pat, start, 7, overlapping, 1000, 4096) ==
                     naive_find(hay, pat, start, 7, overlapping),
                   boost::test_tools::per_element());
      }
}

BOOST_AUTO_TEST_CASE(workers_map_32_mib_together_in_chunks_of_whole_2_mib_folios) {
  constexpr std::size_t m = std::size_t{1} << 20;
  BOOST_TEST(max_map_chunk == 16 * m);
  BOOST_TEST(map_chunk_for(0) == 16 * m);
  BOOST_TEST(map_chunk_for(1) == 16 * m);
  BOOST_TEST(map_chunk_for(2) == 16 * m);
  BOOST_TEST(map_chunk_for(3) == 10 * m);
  BOOST_TEST(map_chunk_for(4) == 8 * m);
  BOOST_TEST(map_chunk_for(5) == 6 * m);
  BOOST_TEST(map_chunk_for(8) == 4 * m);
  BOOST_TEST(map_chunk_for(64) == 4 * m);
}

BOOST_AUTO_TEST_CASE(a_file_cut_short_while_mapped_fails_with_eio) {
  auto file = dir / "shrinks";
  write_file(file, std::string(64 * 1024, 'a') + "needle" + std::string(64 * 1024, 'b'));
  find_options opts;
  opts.window = 4096;
  opts.map_chunk = 4 * 4096;
  // Cut after the size was taken: the map covers pages the file no longer has (SIGBUS).
  opts.on_open = [&](std::uint64_t) {
    fs::resize_file(file, 4096);
    return true;
  };
  auto r = find_in_file(file.string(), "needle", opts, buffer);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == EIO);
  // Searched through reads instead, the same cut gives the hits in what is there: none.
  opts.map_chunk = 0;
  write_file(file, std::string(64 * 1024, 'a') + "needle" + std::string(64 * 1024, 'b'));
  r = find_in_file(file.string(), "needle", opts, buffer);
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(r->empty());
}

BOOST_AUTO_TEST_CASE(a_file_system_that_answers_eagain_to_o_nonblock_still_gets_searched) {
  auto file = dir / "nonblocking";
  std::string hay(100000, '.');
  hay.replace(10, 6, "needle");
  hay.replace(90000, 6, "needle");
  write_file(file, hay);
  actorio::test::scoped_fault fault{actorio::test::fault_call::pread_nonblocking, EAGAIN,
                                    dir.path().string()};
  // A small file (one pread) and a large one read window by window.
  for (std::size_t window : {scan_window, std::size_t{4096}}) {
    auto r = find(file, "needle", 0, 0, false, window);
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(*r == (offsets{10, 90000}), boost::test_tools::per_element());
  }
  BOOST_TEST(actorio::test::scoped_fault::hits() == 2);
}

BOOST_AUTO_TEST_CASE(overlapping_controls_where_the_scan_resumes) {
  auto file = dir / "aaaa";
  write_file(file, "aaaa");
  auto plain = find(file, "aa");
  BOOST_REQUIRE_MESSAGE(plain.ok(), why(plain));
  BOOST_TEST(*plain == (offsets{0, 2}), boost::test_tools::per_element());
  auto overlapped = find(file, "aa", 0, 0, true);
  BOOST_REQUIRE_MESSAGE(overlapped.ok(), why(overlapped));
  BOOST_TEST(*overlapped == (offsets{0, 1, 2}), boost::test_tools::per_element());
  auto limited = find(file, "aa", 0, 2, true);
  BOOST_REQUIRE_MESSAGE(limited.ok(), why(limited));
  BOOST_TEST(*limited == (offsets{0, 1}), boost::test_tools::per_element());
  auto from_one = find(file, "aa", 1);
  BOOST_REQUIRE_MESSAGE(from_one.ok(), why(from_one));
  BOOST_TEST(*from_one == (offsets{1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(pattern_across_every_window_boundary_is_found_once) {
  constexpr std::uint64_t window = 64;
  auto file = dir / "boundaries";
  for (std::size_t len = 1; len <= 20; ++len) {
    // Distinct letters that never occur in the filler, so only planted copies can match.
    std::string pat;
    for (std::size_t i = 0; i < len; ++i)
      pat += static_cast<char>('A' + i);
    // Boundary k gets the copy that starts j = k - 1 bytes before it: j = 0 starts a window,
    // j = len ends one, everything between straddles one.
    std::string hay((len + 3) * window, '.');
    offsets planted;
    for (std::uint64_t j = 0; j <= len; ++j) {
      auto at = (j + 1) * window - j;
      hay.replace(at, len, pat);
      planted.push_back(at);
    }
    write_file(file, hay);
    for (bool overlapping : {false, true}) {
      auto r = find(file, pat, 0, 0, overlapping, window);
      BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
      BOOST_TEST(*r == planted, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(files_just_under_at_and_over_one_window_match_the_naive_search) {
  // Below one window a file is read with a single pread; from one window on, window by window.
  constexpr std::size_t window = 64;
  const std::string pat = "xyz";
  auto file = dir / "around_the_window";
  for (std::size_t size = window - 4; size <= window + 4; ++size) {
    // Hits at both ends and in the middle, wherever they fit.
    std::string hay(size, '.');
    for (std::size_t at : {std::size_t{0}, size / 2, size - pat.size()})
      hay.replace(at, pat.size(), pat);
    write_file(file, hay);
    for (std::uint64_t start : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{size - 2}}) {
      auto r = find(file, pat, start, 0, false, window);
      BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
      BOOST_TEST(*r == naive_find(hay, pat, start, 0, false), boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(on_open_gets_the_size_and_can_stop_the_search_before_any_read) {
  auto file = dir / "sized";
  write_file(file, std::string(1000, '.') + "needle");
  for (bool go_on : {true, false}) {
    work_control control{1, std::chrono::milliseconds(0), {}};
    std::uint64_t seen = 0;
    find_options opts;
    opts.control = &control;
    opts.on_open = [&](std::uint64_t size) {
      seen = size;
      return go_on;
    };
    auto r = find_in_file(file.string(), "needle", opts, buffer);
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(seen == 1006u);
    BOOST_TEST(*r == (go_on ? offsets{1000} : offsets{}), boost::test_tools::per_element());
    BOOST_TEST(control.snapshot().bytes_done == (go_on ? 1006u : 0u));
  }
}

BOOST_AUTO_TEST_CASE(end_bounds_where_hits_start_not_where_they_finish) {
  auto file = dir / "bounded";
  write_file(file, "xxabcxxabcxx");
  find_options opts;
  opts.end = 8; // The hit at 7 starts before the end and runs past it.
  auto r = find_in_file(file.string(), "abc", opts, buffer);
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(*r == (offsets{2, 7}), boost::test_tools::per_element());
  opts.end = 7;
  r = find_in_file(file.string(), "abc", opts, buffer);
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(*r == (offsets{2}), boost::test_tools::per_element());
  opts.start = 3;
  r = find_in_file(file.string(), "abc", opts, buffer);
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(r->empty());
}

BOOST_AUTO_TEST_CASE(segments_of_a_file_join_to_the_whole_when_the_pattern_cannot_overlap) {
  std::mt19937_64 rng{99};
  std::string hay(5000, '\0');
  for (auto& c : hay)
    c = "abc"[rng() % 3];
  auto file = dir / "segments";
  write_file(file, hay);
  for (std::string pat : {"ab", "abc", "ca", "acb", "bca"}) {
    BOOST_REQUIRE(!self_overlapping(pat));
    auto set = pattern_set::make({pat});
    BOOST_REQUIRE(set.ok());
    auto whole = naive_find(hay, pat, 0, 0, false);
    for (std::uint64_t seg : {1, 2, 7, 100, 4999}) {
      auto joined = find_in_segments(file.string(), *set, hay.size(), seg, buffer);
      BOOST_REQUIRE_MESSAGE(joined.ok(), why(joined));
      BOOST_TEST(*joined == whole, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(self_overlapping_means_a_proper_border) {
  for (std::string pat : {"aa", "aba", "abab", "abcab", "aaaba"})
    BOOST_TEST(self_overlapping(pat), pat);
  for (std::string pat : {"a", "ab", "abc", "aab", "NEEDLE", "abcd"})
    BOOST_TEST(!self_overlapping(pat), pat);
}

BOOST_AUTO_TEST_CASE(a_cancelled_control_stops_find_and_compact) {
  auto file = dir / "zeros";
  write_file(file, std::string(1000, 'x') + std::string(1000, '\0'));
  work_control control{1, std::chrono::milliseconds(0), {}};
  control.cancel();
  find_options opts;
  opts.control = &control;
  auto r = find_in_file(file.string(), "x", opts, buffer);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == ECANCELED);
  auto c = compact_file(file.string(), buffer, scan_window, &control);
  BOOST_REQUIRE(!c.ok());
  BOOST_TEST(c.error().code == ECANCELED);
  BOOST_TEST(fs::file_size(file) == 2000u);
}

BOOST_AUTO_TEST_CASE(start_at_or_past_end_finds_nothing) {
  auto file = dir / "short";
  write_file(file, "abcabc");
  for (std::uint64_t start : {std::uint64_t{4}, std::uint64_t{6}, std::uint64_t{7},
                              std::numeric_limits<std::uint64_t>::max()}) {
    auto r = find(file, "abc", start);
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(r->empty(), "start " << start);
  }
}

BOOST_AUTO_TEST_CASE(find_failures_carry_errno_op_and_path) {
  auto file = dir / "f";
  write_file(file, "abc");
  auto empty = find(file, "");
  BOOST_REQUIRE(!empty.ok());
  BOOST_TEST(empty.error().code == EINVAL, why(empty));
  BOOST_TEST(empty.error().op == "find");
  BOOST_TEST(empty.error().path == file.string());

  auto missing = find(dir / "nope", "a");
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().code == ENOENT, why(missing));
  BOOST_TEST(missing.error().op == "find");
  BOOST_TEST(missing.error().path == (dir / "nope").string());

  auto directory = find(dir.path(), "a");
  BOOST_REQUIRE(!directory.ok());
  BOOST_TEST(directory.error().code == EISDIR, why(directory));
  BOOST_TEST(directory.error().path == dir.path().string());

  // A FIFO without a writer must be refused, not waited on.
  auto fifo = dir / "fifo";
  BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  auto r = find(fifo, "a");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == EINVAL, why(r));
}

BOOST_AUTO_TEST_CASE(find_reports_offsets_past_two_and_four_gib) {
  // Just over 4 GiB, so there are hits past 2^32; sparse, so it costs no disk space. Scanning the
  // holes still reads every byte through the default window.
  auto file = dir / "sparse";
  constexpr std::uint64_t two_gib = std::uint64_t{1} << 31;
  constexpr std::uint64_t four_gib = std::uint64_t{1} << 32;
  constexpr std::uint64_t size = four_gib + 16 * mib;
  const std::string pat = "needle\x01\x02";
  // The 2 and 4 GiB marks are also default window boundaries; copies straddle both.
  offsets planted{5, two_gib - 3, four_gib - 2, four_gib + 12345, size - pat.size()};
  std::vector<std::pair<std::uint64_t, std::string>> chunks;
  for (auto at : planted)
    chunks.emplace_back(at, pat);
  make_sparse(file, size, chunks);
  BOOST_REQUIRE(fs::file_size(file) == size);
  auto r = find(file, pat);
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(*r == planted, boost::test_tools::per_element());
  auto tail = find(file, pat, four_gib - 1);
  BOOST_REQUIRE_MESSAGE(tail.ok(), why(tail));
  BOOST_TEST(*tail == (offsets{planted[3], planted[4]}), boost::test_tools::per_element());
}

#if defined(__SANITIZE_THREAD__)
constexpr bool tsan_build = true;
#else
constexpr bool tsan_build = false;
#endif

// Not under TSan: its shadow memory for the buffer counts in VmHWM too (~40 MiB more).
BOOST_AUTO_TEST_CASE(find_keeps_peak_memory_bounded_on_a_large_file,
                     *boost::unit_test::enable_if<!tsan_build>()) {
  auto file = dir / "big";
  make_sparse(file, gib, {{gib / 2, "marker"}});
  buffer = {};
  buffer.shrink_to_fit();
  if (!reset_peak_rss())
    BOOST_TEST_MESSAGE("cannot reset VmHWM; earlier peaks may hide a rise");
  auto before = peak_rss_kib();
  auto r = find(file, "marker");
  auto after = peak_rss_kib();
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(*r == (offsets{gib / 2}), boost::test_tools::per_element());
  BOOST_TEST((after - before) * 1024 <= 2 * scan_window + 16 * mib,
             "VmHWM rose by " << (after - before) << " KiB");
}

BOOST_AUTO_TEST_CASE(compact_drops_only_the_trailing_zero_bytes) {
  struct example {
    std::string bytes;
    std::size_t window;
  };
  std::string interior = std::string("a\0\0b", 4);
  const example examples[] = {
    {interior + std::string(5, '\0'), scan_window},   // trailing NULs
    {interior, scan_window},                          // none
    {std::string(1000, '\0'), scan_window},           // all zero
    {std::string(1000, '\0'), 16},                    // all zero, many windows
    {"", scan_window},                                // empty
    {interior + std::string(200, '\0'), 16},          // NUL tail across several windows
    {interior + std::string(12, '\0'), 16},           // data ends exactly on a window start
    {std::string(31, 'x') + std::string(33, '\0'), 8} // windows not aligned to offset 0
  };
  int i = 0;
  for (const auto& ex : examples) {
    auto file = dir / ("c" + std::to_string(i++));
    write_file(file, ex.bytes);
    auto last = ex.bytes.find_last_not_of('\0');
    auto expected = last == std::string::npos ? std::string{} : ex.bytes.substr(0, last + 1);
    auto r = compact_file(file.string(), buffer, ex.window);
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(r->new_size == expected.size(), "example " << i);
    BOOST_TEST(r->old_size == ex.bytes.size(), "example " << i);
    BOOST_TEST(fs::file_size(file) == expected.size(), "example " << i);
    BOOST_TEST(read_file(file) == expected, "example " << i);
  }
}

BOOST_AUTO_TEST_CASE(compact_failures_carry_errno_op_and_path) {
  auto missing = compact_file((dir / "nope").string(), buffer);
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().code == ENOENT, why(missing));
  BOOST_TEST(missing.error().op == "compact");
  BOOST_TEST(missing.error().path == (dir / "nope").string());
  auto directory = compact_file(dir.path().string(), buffer);
  BOOST_REQUIRE(!directory.ok());
  BOOST_TEST(directory.error().code == EISDIR, why(directory));
}

BOOST_AUTO_TEST_CASE(read_ranges_are_short_at_the_end_and_empty_past_it) {
  auto file = dir / "digits";
  write_file(file, "0123456789");
  std::vector<byte_range> ranges{{0, -1}, {3, 4}, {8, 10}, {10, 5}, {100, -1}, {2, 0}, {7, -1}, {}};
  auto r = read_ranges(file.string(), ranges);
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_REQUIRE(r->size() == 8u);
  BOOST_TEST(str((*r)[0]) == "0123456789");
  BOOST_TEST(str((*r)[1]) == "3456");
  BOOST_TEST(str((*r)[2]) == "89");
  BOOST_TEST(str((*r)[3]) == "");
  BOOST_TEST(str((*r)[4]) == "");
  BOOST_TEST(str((*r)[5]) == "");
  BOOST_TEST(str((*r)[6]) == "789");
  BOOST_TEST(str((*r)[7]) == "0123456789");
  // A huge size is clamped to the file, not allocated.
  std::vector<byte_range> huge_range{{1, std::numeric_limits<std::int64_t>::max()}};
  auto huge = read_ranges(file.string(), huge_range);
  BOOST_REQUIRE_MESSAGE(huge.ok(), why(huge));
  BOOST_TEST(str((*huge)[0]) == "123456789");
}

BOOST_AUTO_TEST_CASE(read_ranges_rejects_bad_ranges_and_missing_files) {
  auto file = dir / "f";
  write_file(file, "abc");
  for (auto bad : {byte_range{-1, 2}, byte_range{0, -2}}) {
    auto r = read_ranges(file.string(), std::vector<byte_range>{{0, 1}, bad});
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().code == EINVAL, why(r));
    BOOST_TEST(r.error().op == "read");
    BOOST_TEST(r.error().path == file.string());
  }
  auto missing = read_ranges((dir / "nope").string(), std::vector<byte_range>{{0, 1}});
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().code == ENOENT, why(missing));
  BOOST_TEST(missing.error().path == (dir / "nope").string());
}

BOOST_AUTO_TEST_CASE(write_pieces_zero_fills_gaps_and_later_pieces_win) {
  auto file = dir / "w";
  write_file(file, "hello");
  auto r = write_pieces(file.string(), {{10, "abc"}, {2, "XY"}, {11, "Z"}});
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(*r == 6u);
  BOOST_TEST(read_file(file) == std::string("heXYo\0\0\0\0\0aZc", 13));

  // Pieces inside the file neither shrink it nor touch the rest.
  auto inside = write_pieces(file.string(), {{0, "aaaa"}, {1, "bb"}});
  BOOST_REQUIRE_MESSAGE(inside.ok(), why(inside));
  BOOST_TEST(*inside == 6u);
  BOOST_TEST(read_file(file) == std::string("abbao\0\0\0\0\0aZc", 13));
}

BOOST_AUTO_TEST_CASE(write_pieces_needs_an_existing_file_and_valid_offsets) {
  auto absent = dir / "absent";
  auto missing = write_pieces(absent.string(), {{0, "x"}});
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().code == ENOENT, why(missing));
  BOOST_TEST(missing.error().op == "write");
  BOOST_TEST(missing.error().path == absent.string());
  BOOST_TEST(!fs::exists(absent));

  auto file = dir / "f";
  write_file(file, "keep");
  auto negative = write_pieces(file.string(), {{0, "x"}, {-1, "y"}});
  BOOST_REQUIRE(!negative.ok());
  BOOST_TEST(negative.error().code == EINVAL, why(negative));
  // Validation happens before any write.
  BOOST_TEST(read_file(file) == "keep");

  auto directory = write_pieces(dir.path().string(), {{0, "x"}});
  BOOST_REQUIRE(!directory.ok());
  BOOST_TEST(directory.error().code == EISDIR, why(directory));
}

BOOST_AUTO_TEST_CASE(resize_grows_with_zeros_shrinks_and_rejects_bad_input) {
  auto file = dir / "r";
  write_file(file, "hello");
  auto grown = resize_file(file.string(), 9);
  BOOST_REQUIRE_MESSAGE(grown.ok(), why(grown));
  BOOST_TEST(*grown == 9u);
  BOOST_TEST(read_file(file) == std::string("hello\0\0\0\0", 9));
  auto shrunk = resize_file(file.string(), 2);
  BOOST_REQUIRE_MESSAGE(shrunk.ok(), why(shrunk));
  BOOST_TEST(*shrunk == 2u);
  BOOST_TEST(read_file(file) == "he");
  auto zero = resize_file(file.string(), 0);
  BOOST_REQUIRE_MESSAGE(zero.ok(), why(zero));
  BOOST_TEST(*zero == 0u);
  BOOST_TEST(fs::file_size(file) == 0u);

  auto negative = resize_file(file.string(), -1);
  BOOST_REQUIRE(!negative.ok());
  BOOST_TEST(negative.error().code == EINVAL, why(negative));
  BOOST_TEST(negative.error().op == "resize");
  BOOST_TEST(negative.error().path == file.string());

  auto absent = dir / "absent";
  auto missing = resize_file(absent.string(), 10);
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().code == ENOENT, why(missing));
  BOOST_TEST(missing.error().path == absent.string());
  BOOST_TEST(!fs::exists(absent));
}

BOOST_AUTO_TEST_SUITE_END()
