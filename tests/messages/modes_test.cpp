#define BOOST_TEST_MODULE modes_test
#include <boost/test/unit_test.hpp>

#include "actorio/modes.hpp"

#include <string_view>
#include <utility>

using namespace actorio;

BOOST_AUTO_TEST_SUITE(modes)

BOOST_AUTO_TEST_CASE(open_modes_spell_as_python_and_parse_back) {
  const std::pair<std::string_view, open_mode> cases[] = {
    {"r+b", open_mode::read_write},
    {"rb", open_mode::read_only},
    {"w+b", open_mode::create},
    {"x+b", open_mode::create_exclusive},
  };
  for (const auto& [text, mode] : cases) {
    BOOST_TEST(to_string(mode) == text);
    BOOST_TEST((parse_open_mode(text) == mode), text);
  }
  for (std::string_view text : {"r", "wb", "", "r+", "R+B", "w+b ", "a+b", "rb+"})
    BOOST_TEST(!parse_open_mode(text).has_value(), "'" << text << "' was accepted");
}

BOOST_AUTO_TEST_CASE(utf8_policies_spell_as_python_and_parse_back) {
  const std::pair<std::string_view, utf8_errors> cases[] = {
    {"strict", utf8_errors::strict},
    {"replace", utf8_errors::replace},
    {"ignore", utf8_errors::ignore},
  };
  for (const auto& [text, policy] : cases) {
    BOOST_TEST(to_string(policy) == text);
    BOOST_TEST((parse_utf8_errors(text) == policy), text);
  }
  for (std::string_view text : {"", "Strict", "surrogateescape", "backslashreplace", "ignore "})
    BOOST_TEST(!parse_utf8_errors(text).has_value(), "'" << text << "' was accepted");
}

BOOST_AUTO_TEST_CASE(advice_spells_as_madvise_names_and_parses_back) {
  const std::pair<std::string_view, map_advice> cases[] = {
    {"normal", map_advice::normal},         {"random", map_advice::random},
    {"sequential", map_advice::sequential}, {"willneed", map_advice::willneed},
    {"dontneed", map_advice::dontneed},
  };
  for (const auto& [text, advice] : cases) {
    BOOST_TEST(to_string(advice) == text);
    BOOST_TEST((parse_map_advice(text) == advice), text);
  }
  for (std::string_view text : {"", "WILLNEED", "hugepage", "free", "random "})
    BOOST_TEST(!parse_map_advice(text).has_value(), "'" << text << "' was accepted");
}

BOOST_AUTO_TEST_CASE(a_value_outside_its_enum_has_no_spelling) {
  BOOST_TEST(to_string(static_cast<open_mode>(4)).empty());
  BOOST_TEST(to_string(static_cast<utf8_errors>(3)).empty());
  BOOST_TEST(to_string(static_cast<map_advice>(200)).empty());
}

BOOST_AUTO_TEST_SUITE_END()
