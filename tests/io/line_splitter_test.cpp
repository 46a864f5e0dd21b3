#define BOOST_TEST_MODULE line_splitter_test
#include <boost/test/unit_test.hpp>

#include "io/src/line_splitter.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using actorio::detail::count_units;
using actorio::detail::line_end;
using actorio::detail::lines_end;
using actorio::detail::split_lines;
using actorio::detail::unit_prefix;

namespace {

/// "é" and "€": 2 and 3 bytes, one character each.
const std::string e_acute = "\xC3\xA9";
const std::string euro = "\xE2\x82\xAC";

using lines = std::vector<std::string>;

/// The answer as a printable number: -1 when the caller must wait for more input.
std::int64_t at(std::optional<std::size_t> end) {
  return end ? std::int64_t(*end) : -1;
}

} // namespace

BOOST_AUTO_TEST_SUITE(line_splitter)

BOOST_AUTO_TEST_CASE(binary_units_are_bytes_and_text_units_are_characters) {
  auto s = e_acute + "x" + euro;
  BOOST_TEST(count_units(s, false) == 6);
  BOOST_TEST(count_units(s, true) == 3);
  BOOST_TEST((unit_prefix(s, 2, true) == std::pair<std::size_t, std::int64_t>{3, 2}));
  BOOST_TEST((unit_prefix(s, 2, false) == std::pair<std::size_t, std::int64_t>{2, 2}));
  BOOST_TEST((unit_prefix(s, 10, true) == std::pair<std::size_t, std::int64_t>{6, 3}));
}

BOOST_AUTO_TEST_CASE(a_line_ends_after_its_newline) {
  BOOST_TEST(at(line_end("ab\ncd\n", -1, false, false)) == 3);
  BOOST_TEST(at(line_end("\n", -1, false, false)) == 1);
}

BOOST_AUTO_TEST_CASE(a_line_without_newline_waits_for_more_input_until_eof) {
  BOOST_TEST(at(line_end("abc", -1, false, false)) == -1);
  BOOST_TEST(at(line_end("abc", -1, false, true)) == 3);
  BOOST_TEST(at(line_end("", -1, false, true)) == 0);
}

BOOST_AUTO_TEST_CASE(a_limit_cuts_the_line_at_whole_characters) {
  auto s = e_acute + euro + "\n";
  BOOST_TEST(at(line_end(s, 1, true, false)) == 2);
  BOOST_TEST(at(line_end(s, 2, true, false)) == 5);
  BOOST_TEST(at(line_end(s, 3, true, false)) == 6);
  BOOST_TEST(at(line_end(s, 1, false, false)) == 1);
  BOOST_TEST(at(line_end(s, 0, true, false)) == 0);
}

BOOST_AUTO_TEST_CASE(a_limit_not_reached_waits_for_more_input_until_eof) {
  BOOST_TEST(at(line_end("ab", 3, false, false)) == -1);
  BOOST_TEST(at(line_end("ab", 3, false, true)) == 2);
}

BOOST_AUTO_TEST_CASE(readlines_takes_whole_lines_until_the_hint_is_reached) {
  auto s = "ab\n" + euro + euro + "\ncd\n";
  BOOST_TEST(at(lines_end(s, 1, false, false)) == 3);
  BOOST_TEST(at(lines_end(s, 3, false, false)) == 3);
  BOOST_TEST(at(lines_end(s, 4, false, false)) == 10);
  // In text mode the second line is 3 characters, so 6 are reached only after it.
  BOOST_TEST(at(lines_end(s, 6, true, false)) == 10);
  BOOST_TEST(at(lines_end(s, 7, true, false)) == 13);
}

BOOST_AUTO_TEST_CASE(readlines_waits_for_eof_when_the_hint_is_not_reached_or_not_positive) {
  BOOST_TEST(at(lines_end("ab\ncd", 4, false, false)) == -1);
  BOOST_TEST(at(lines_end("ab\ncd", 4, false, true)) == 5);
  BOOST_TEST(at(lines_end("ab\n", 0, false, false)) == -1);
  BOOST_TEST(at(lines_end("ab\n", -1, false, false)) == -1);
  BOOST_TEST(at(lines_end("ab\n", -1, false, true)) == 3);
}

BOOST_AUTO_TEST_CASE(split_lines_keeps_each_newline_and_an_unterminated_last_line) {
  BOOST_TEST((split_lines("a\n\nb") == lines{"a\n", "\n", "b"}));
  BOOST_TEST((split_lines("a\n") == lines{"a\n"}));
  BOOST_TEST(split_lines("").empty());
  BOOST_TEST((split_lines("\r\n") == lines{"\r\n"}));
}

BOOST_AUTO_TEST_SUITE_END()
