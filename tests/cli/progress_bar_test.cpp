#include "cli/progress_bar.hpp"

#define BOOST_TEST_MODULE progress_bar
#include <boost/test/unit_test.hpp>

using namespace actorio::cli;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(progress_bar)

BOOST_AUTO_TEST_CASE(sizes_use_binary_units) {
  BOOST_TEST(human_bytes(0) == "0 B");
  BOOST_TEST(human_bytes(1023) == "1023 B");
  BOOST_TEST(human_bytes(1536) == "1.5 KiB");
  BOOST_TEST(human_bytes(3.0 * (1 << 30)) == "3.0 GiB");
}

BOOST_AUTO_TEST_CASE(a_line_shows_percent_bar_bytes_rate_and_eta) {
  // 1 GiB of 4 GiB in 4 s: 256 MiB/s, 3 GiB left -> 12 s.
  auto line = render_progress(1ull << 30, 4ull << 30, 4s, 80);
  BOOST_TEST(line.size() == 79u);
  BOOST_TEST(line.rfind(" 25% [", 0) == 0u);
  BOOST_TEST(line.find("] 1.0 GiB/4.0 GiB 256.0 MiB/s ETA 0:12") != std::string::npos);
  auto bar = line.substr(6, line.find(']') - 6);
  auto filled = std::count(bar.begin(), bar.end(), '#');
  BOOST_TEST(filled == static_cast<long>(bar.size() / 4));
  BOOST_TEST(bar.find_first_not_of("#.") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(done_is_a_full_bar_with_zero_eta) {
  auto line = render_progress(100, 100, 1s, 60);
  BOOST_TEST(line.rfind("100% [", 0) == 0u);
  BOOST_TEST(line.find('.') == std::string::npos);
  BOOST_TEST(line.find("ETA 0:00") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(long_etas_show_hours) {
  // 1 MiB of 10 GiB in 1 s: about 10239 s left.
  auto line = render_progress(1 << 20, 10ull << 30, 1s, 120);
  BOOST_TEST(line.find("ETA 2:50:39") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_unknown_total_shows_bytes_and_rate_only) {
  BOOST_TEST(render_progress(2048, 0, 2s, 80) == "2.0 KiB 1.0 KiB/s");
}

BOOST_AUTO_TEST_CASE(no_rate_yet_gives_an_unknown_eta) {
  BOOST_TEST(render_progress(0, 100, 0s, 80).find("ETA --:--") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_narrow_terminal_drops_the_bar_then_truncates) {
  auto narrow = render_progress(50, 100, 1s, 40);
  BOOST_TEST(narrow.find('[') == std::string::npos);
  BOOST_TEST(narrow.rfind(" 50% ", 0) == 0u);
  BOOST_TEST(narrow.size() <= 39u);
  BOOST_TEST(render_progress(50, 100, 1s, 10).size() == 9u);
  BOOST_TEST(render_progress(50, 100, 1s, 1) == "");
}

BOOST_AUTO_TEST_SUITE_END()
