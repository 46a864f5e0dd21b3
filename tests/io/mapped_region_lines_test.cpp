#define BOOST_TEST_MODULE mapped_region_lines_test
// mapped_region: readline, readlines, lines_from, read_until and writelines.
#include "support/mapped_region_helpers.hpp"

BOOST_FIXTURE_TEST_SUITE(mapped_region_lines_suite, fixture)

// ---- readline / readlines / lines_from / read_until -----------------------------------------

BOOST_AUTO_TEST_CASE(readline_returns_the_line_without_newline_and_the_next_offset) {
  auto p = dir / "file";
  write_file(p, "hello\nworld\n");
  auto region = must_open(p, open_mode::read_only);
  using line = std::pair<std::string, std::uint64_t>;
  BOOST_TEST((line_at(region, 0) == line{"hello", 6}));
  BOOST_TEST((line_at(region, 0, -1, true) == line{"hello\n", 6}));
  BOOST_TEST((line_at(region, 6) == line{"world", 12}));
  BOOST_TEST((line_at(region, 6, 3) == line{"wor", 9}));
  BOOST_TEST((line_at(region, 100) == line{"", 100}));
  BOOST_TEST((line_at(region, 3, 0) == line{"", 3}));
  BOOST_TEST((line_at(region, 12) == line{"", 12}));
  // A window that ends right on the newline finds it; one that ends before it does not.
  BOOST_TEST((line_at(region, 0, 6, true) == line{"hello\n", 6}));
  BOOST_TEST((line_at(region, 0, 5, true) == line{"hello", 5}));
  // An empty line, and a last line without a newline.
  write_file(dir / "other", "\nlast");
  auto other = must_open(dir / "other", open_mode::read_only);
  BOOST_TEST((line_at(other, 0) == line{"", 1}));
  BOOST_TEST((line_at(other, 1, -1, true) == line{"last", 5}));
}

BOOST_AUTO_TEST_CASE(readlines_splits_on_newlines_not_bytes) {
  // The original returned one 1-byte object per byte.
  auto p = dir / "file";
  write_file(p, "hello\nworld\n\nlast");
  auto region = must_open(p, open_mode::read_only);
  const std::vector<std::string> expected{"hello\n", "world\n", "\n", "last"};
  BOOST_TEST(as_strings(must(region.readlines(-1))) == expected, boost::test_tools::per_element());
  BOOST_TEST(as_strings(must(region.readlines(0))) == expected, boost::test_tools::per_element());
  write_file(dir / "empty", "");
  auto empty = must_open(dir / "empty", open_mode::read_only);
  BOOST_TEST(must(empty.readlines(-1)).empty());
  BOOST_TEST(failed_as(region.readlines(-2), EINVAL, p, "readlines"));
}

BOOST_AUTO_TEST_CASE(readlines_with_hint_stops_after_hint_bytes) {
  // The original repeated the first line until the hint was used up.
  auto p = dir / "file";
  write_file(p, "hello\nworld\nmore\n");
  auto region = must_open(p, open_mode::read_only);
  using lines = std::vector<std::string>;
  BOOST_TEST((as_strings(must(region.readlines(1))) == lines{"hello\n"}));
  BOOST_TEST((as_strings(must(region.readlines(6))) == lines{"hello\n"}));
  BOOST_TEST((as_strings(must(region.readlines(7))) == lines{"hello\n", "world\n"}));
  BOOST_TEST((as_strings(must(region.readlines(12))) == lines{"hello\n", "world\n"}));
  BOOST_TEST((as_strings(must(region.readlines(13))) == lines{"hello\n", "world\n", "more\n"}));
  BOOST_TEST((as_strings(must(region.readlines(1000))) == lines{"hello\n", "world\n", "more\n"}));
}

BOOST_AUTO_TEST_CASE(readlines_of_file_starting_with_newline_terminates) {
  // The original spun forever on such a file. Run in a child with a deadline to prove it ends.
  auto p = dir / "file";
  write_file(p, "\n\nab\n");
  int wstatus = run_in_child(
    [&] {
      auto region = open_region(p, open_mode::read_only);
      if (!region.ok())
        return 10;
      for (std::int64_t hint : {-1, 0, 1, 2, 3, 100}) {
        auto r = region->readlines(hint);
        if (!r.ok())
          return 11;
        std::vector<std::string> expected{"\n", "\n", "ab\n"};
        if (hint == 1)
          expected.resize(1);
        else if (hint == 2)
          expected.resize(2);
        if (as_strings(*r) != expected)
          return 12;
      }
      return 0;
    },
    std::chrono::seconds(5));
  BOOST_TEST((WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0),
             "child: " << describe_wait(wstatus) << " (signal 9: it hung)");
}

BOOST_AUTO_TEST_CASE(lines_from_returns_whole_lines_up_to_max_bytes_and_at_least_one) {
  auto p = dir / "file";
  write_file(p, "aa\nbbbb\ncc\nlast"); // 3 + 5 + 3 + 4 = 15 bytes
  auto region = must_open(p, open_mode::read_only);
  using lines = std::vector<std::string>;
  auto r = must(region.lines_from(0, 8));
  BOOST_TEST((as_strings(r.first) == lines{"aa\n", "bbbb\n"}));
  BOOST_TEST(r.second == 8u);
  r = must(region.lines_from(8, 8));
  BOOST_TEST((as_strings(r.first) == lines{"cc\n", "last"}));
  BOOST_TEST(r.second == 15u);
  // A first line longer than max_bytes still comes back, alone.
  r = must(region.lines_from(3, 2));
  BOOST_TEST((as_strings(r.first) == lines{"bbbb\n"}));
  BOOST_TEST(r.second == 8u);
  r = must(region.lines_from(0, 0));
  BOOST_TEST((as_strings(r.first) == lines{"aa\n"}));
  // From the middle of a line, and everything at once.
  r = must(region.lines_from(1, 100));
  BOOST_TEST((as_strings(r.first) == lines{"a\n", "bbbb\n", "cc\n", "last"}));
  BOOST_TEST(r.second == 15u);
  // At or past the end: nothing, and size().
  for (std::int64_t off : {15, 16, 1000}) {
    r = must(region.lines_from(off, 10));
    BOOST_TEST(r.first.empty());
    BOOST_TEST(r.second == 15u);
  }
  // Paging through with a small budget yields every line once.
  lines all;
  for (std::uint64_t next = 0; next < region.size();) {
    auto page_of = must(region.lines_from(static_cast<std::int64_t>(next), 4));
    BOOST_REQUIRE(!page_of.first.empty());
    for (auto& l : as_strings(page_of.first))
      all.push_back(l);
    next = page_of.second;
  }
  BOOST_TEST((all == lines{"aa\n", "bbbb\n", "cc\n", "last"}));
  BOOST_TEST(failed_as(region.lines_from(-1, 10), EINVAL, p, "lines_from"));
}

BOOST_AUTO_TEST_CASE(read_until_includes_the_delimiter_and_returns_the_next_offset) {
  auto p = dir / "file";
  write_file(p, "hello\nworld\n");
  auto region = must_open(p, open_mode::read_only);
  using piece = std::pair<std::string, std::uint64_t>;
  BOOST_TEST((until(region, "\n", 0) == piece{"hello\n", 6}));
  BOOST_TEST((until(region, "\n", 6) == piece{"world\n", 12}));
  BOOST_TEST((until(region, "\n", 6, 3) == piece{"wor", 9}));
  BOOST_TEST((until(region, "\n", 12) == piece{"", 12}));
  BOOST_TEST((until(region, "\n", 50) == piece{"", 50}));
  BOOST_TEST((until(region, "\n", 0, 0) == piece{"", 0}));
  BOOST_TEST((until(region, "xyz", 2) == piece{"llo\nworld\n", 12}));
  // A multi-byte delimiter must lie wholly inside the window.
  BOOST_TEST((until(region, "o\nw", 0) == piece{"hello\nw", 7}));
  BOOST_TEST((until(region, "o\nw", 0, 6) == piece{"hello\n", 6}));
  BOOST_TEST((until(region, "o\nw", 0, 7) == piece{"hello\nw", 7}));
  BOOST_TEST(failed_as(region.read_until("", 0, -1), EINVAL, p, "read_until"));
}

// ---- writelines -----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(writelines_appends_sep_after_each_line_from_the_cursor) {
  // The original wrote everything at offset 0, with sep only between lines.
  auto p = dir / "file";
  auto region = region_with(p, "..........");
  std::vector<std::vector<char>> lines{bytes_of("ab"), bytes_of("cd")};
  BOOST_TEST(must(region.writelines(lines, "-", 0)) == 6u);
  BOOST_TEST(read_file(p) == "ab-cd-....");
  // From an offset, running past the end.
  BOOST_TEST(must(region.writelines(lines, "-", 8)) == 14u);
  BOOST_TEST(read_file(p) == "ab-cd-..ab-cd-");
  // Past the end: zero-filled gap; no sep: plain concatenation.
  BOOST_TEST(must(region.writelines(lines, "", 16)) == 20u);
  BOOST_TEST(read_file(p) == std::string("ab-cd-..ab-cd-\0\0abcd", 20));
  // Nothing to write: the offset back, no growth.
  BOOST_TEST(must(region.writelines({}, "-", 100)) == 100u);
  BOOST_TEST(must(region.writelines({bytes_of(""), bytes_of("")}, "", 100)) == 100u);
  BOOST_TEST(region.size() == 20u);
  // Empty lines still get their sep.
  BOOST_TEST(must(region.writelines({bytes_of(""), bytes_of("")}, "+", 0)) == 2u);
  BOOST_TEST(read_all(region, 0, 3) == "++-");
  BOOST_TEST(failed_as(region.writelines(lines, "-", -1), EINVAL, p, "writelines"));
}

BOOST_AUTO_TEST_SUITE_END()
