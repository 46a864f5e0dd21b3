#include "cli/checksum_list.hpp"

#define BOOST_TEST_MODULE checksum_list
#include <boost/test/unit_test.hpp>

using namespace actorio::cli;

namespace {

const std::string hex64(64, 'a');

checksum_list_parser sha256_parser() {
  return checksum_list_parser{64, "SHA256"};
}

} // namespace

BOOST_AUTO_TEST_SUITE(checksum_list)

BOOST_AUTO_TEST_CASE(plain_names_are_printed_as_they_are) {
  BOOST_TEST(sum_line("ab12", "a b.txt") == "ab12  a b.txt\n");
  BOOST_TEST(sum_line("ab12", "ünï") == "ab12  ünï\n");
}

BOOST_AUTO_TEST_CASE(backslash_newline_and_carriage_return_make_an_escaped_line) {
  BOOST_TEST(sum_line("ab12", "a\\b") == "\\ab12  a\\\\b\n");
  BOOST_TEST(sum_line("ab12", "a\nb") == "\\ab12  a\\nb\n");
  BOOST_TEST(sum_line("ab12", "a\rb") == "\\ab12  a\\rb\n");
  BOOST_TEST(tagged_line("SHA256", "ab12", "x\ny") == "\\SHA256 (x\\ny) = ab12\n");
}

BOOST_AUTO_TEST_CASE(check_lines_escape_only_names_with_a_newline) {
  BOOST_TEST(check_line("a\\b", "OK") == "a\\b: OK\n");
  BOOST_TEST(check_line("a\rb", "FAILED") == "a\rb: FAILED\n");
  BOOST_TEST(check_line("a\\b\nc", "OK") == "\\a\\\\b\\nc: OK\n");
}

BOOST_AUTO_TEST_CASE(xxhsum_lines_escape_nothing) {
  BOOST_TEST(xxhsum_line("0123", "a\\b\nc") == "0123  a\\b\nc\n");
}

BOOST_AUTO_TEST_CASE(unescape_inverts_escape_and_refuses_other_escapes) {
  std::string name = "a\\b\nc\rd";
  BOOST_TEST(unescape_name(escape_name(name)).value() == name);
  BOOST_TEST(!unescape_name("a\\t").has_value());
  BOOST_TEST(!unescape_name("trailing\\").has_value());
}

BOOST_AUTO_TEST_CASE(standard_binary_and_escaped_lines_parse) {
  auto p = sha256_parser();
  checksum_entry e;
  BOOST_TEST((p.parse(hex64 + "  a b\n", e) == checksum_list_parser::kind::entry));
  BOOST_TEST(e.name == "a b");
  BOOST_TEST(e.hex == hex64);
  BOOST_TEST((p.parse(hex64 + " *bin\r\n", e) == checksum_list_parser::kind::entry));
  BOOST_TEST(e.name == "bin");
  BOOST_TEST((p.parse("\\" + hex64 + "  x\\ny\\\\z", e) == checksum_list_parser::kind::entry));
  BOOST_TEST(e.name == "x\ny\\z");
}

BOOST_AUTO_TEST_CASE(upper_case_digests_compare_as_lower_case) {
  auto p = sha256_parser();
  checksum_entry e;
  BOOST_TEST((p.parse(std::string(64, 'A') + "  f", e) == checksum_list_parser::kind::entry));
  BOOST_TEST(e.hex == hex64);
}

BOOST_AUTO_TEST_CASE(comments_and_empty_lines_are_skipped) {
  auto p = sha256_parser();
  checksum_entry e;
  BOOST_TEST((p.parse("# note\n", e) == checksum_list_parser::kind::skip));
  BOOST_TEST((p.parse("\n", e) == checksum_list_parser::kind::skip));
  BOOST_TEST((p.parse("\r\n", e) == checksum_list_parser::kind::skip));
}

BOOST_AUTO_TEST_CASE(wrong_length_non_hex_or_bad_escapes_are_malformed) {
  auto p = sha256_parser();
  checksum_entry e;
  BOOST_TEST((p.parse(std::string(63, 'a') + "  f", e) == checksum_list_parser::kind::malformed));
  BOOST_TEST((p.parse(std::string(63, 'a') + "g  f", e) == checksum_list_parser::kind::malformed));
  BOOST_TEST((p.parse("\\" + hex64 + "  bad\\t", e) == checksum_list_parser::kind::malformed));
  BOOST_TEST((p.parse("garbage", e) == checksum_list_parser::kind::malformed));
}

BOOST_AUTO_TEST_CASE(bsd_tagged_lines_parse) {
  auto p = sha256_parser();
  checksum_entry e;
  BOOST_TEST((p.parse("SHA256 (a (1).txt) = " + hex64, e) == checksum_list_parser::kind::entry));
  BOOST_TEST(e.name == "a (1).txt");
  BOOST_TEST((p.parse("MD5 (f) = " + hex64, e) == checksum_list_parser::kind::malformed));
}

BOOST_AUTO_TEST_CASE(single_space_form_is_refused_once_the_standard_form_was_seen) {
  checksum_entry e;
  auto reversed = sha256_parser();
  BOOST_TEST((reversed.parse(hex64 + " f", e) == checksum_list_parser::kind::entry));
  BOOST_TEST(e.name == "f");
  auto standard = sha256_parser();
  BOOST_TEST((standard.parse(hex64 + "  f", e) == checksum_list_parser::kind::entry));
  BOOST_TEST((standard.parse(hex64 + " f", e) == checksum_list_parser::kind::malformed));
}

BOOST_AUTO_TEST_CASE(closing_warnings_use_coreutils_wording_and_plurals) {
  check_counts one{3, 1, 1, 1};
  BOOST_TEST(check_warnings("actorio", "L", one) ==
             "actorio: WARNING: 1 line is improperly formatted\n"
             "actorio: WARNING: 1 listed file could not be read\n"
             "actorio: WARNING: 1 computed checksum did NOT match\n");
  check_counts two{5, 2, 2, 2};
  BOOST_TEST(check_warnings("actorio", "L", two) ==
             "actorio: WARNING: 2 lines are improperly formatted\n"
             "actorio: WARNING: 2 listed files could not be read\n"
             "actorio: WARNING: 2 computed checksums did NOT match\n");
  BOOST_TEST(check_warnings("actorio", "L", check_counts{2, 0, 0, 0}) == "");
  BOOST_TEST(check_warnings("actorio", "L", check_counts{0, 4, 0, 0}) ==
             "actorio: L: no properly formatted checksum lines found\n");
}

BOOST_AUTO_TEST_SUITE_END()
