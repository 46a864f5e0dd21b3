#define BOOST_TEST_MODULE mapped_file_test
#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <string>

#include "support/files.hpp"
#include "support/runtime_fixture.hpp"

using namespace actorio;
using namespace actorio::test;

BOOST_FIXTURE_TEST_SUITE(mapped_file_handle, runtime_fixture)

BOOST_AUTO_TEST_CASE(read_gives_slices_and_short_reads_at_the_end) {
  write_file(path("f"), "0123456789");
  auto f = mgr.open(path("f")).get();
  BOOST_TEST(text(f.read().get()) == "0123456789");
  BOOST_TEST(text(f.read(3, 4).get()) == "3456");
  BOOST_TEST(text(f.read(8, 100).get()) == "89");
  BOOST_TEST(f.read(10).get().empty());
  BOOST_TEST(f.read(1000, 5).get().empty());
  BOOST_TEST(f.read(2, 0).get().empty());
}

BOOST_AUTO_TEST_CASE(negative_offsets_are_einval) {
  write_file(path("f"), "0123456789");
  auto f = mgr.open(path("f")).get();
  auto e = error_of(f.read(-4));
  BOOST_TEST(e.code().value() == EINVAL);
  BOOST_TEST(e.path1() == path("f"));
  BOOST_TEST(error_of(f.write("x", -1)).code().value() == EINVAL);
  BOOST_TEST(error_of(f.resize(-1)).code().value() == EINVAL);
  BOOST_TEST(read_file(path("f")) == "0123456789");
}

BOOST_AUTO_TEST_CASE(write_past_the_end_zero_fills_the_gap) {
  write_file(path("f"), "0123456789");
  auto f = mgr.open(path("f")).get();
  BOOST_TEST(f.write("AB", 2).get() == 2u);
  BOOST_TEST(f.write("XYZ", 12).get() == 3u);
  BOOST_TEST(f.size().get() == 15u);
  BOOST_TEST(read_file(path("f")) == std::string("01AB456789\0\0XYZ", 15));
}

BOOST_AUTO_TEST_CASE(writes_are_visible_to_other_readers_at_once) {
  auto f = mgr.create(path("f")).get();
  f.write("through the map").get();
  BOOST_TEST(read_file(path("f")) == "through the map");
}

BOOST_AUTO_TEST_CASE(rewriting_identical_bytes_keeps_content) {
  write_file(path("f"), std::string(10000, 'k'));
  auto f = mgr.open(path("f")).get();
  BOOST_TEST(f.write(std::string(9000, 'k'), 500).get() == 9000u);
  BOOST_TEST(f.write(std::string("kkkZkkk"), 4095).get() == 7u);
  auto expected = std::string(10000, 'k');
  expected[4098] = 'Z';
  BOOST_TEST(read_file(path("f")) == expected);
}

BOOST_AUTO_TEST_CASE(resize_shrinks_grows_and_allows_zero) {
  write_file(path("f"), "0123456789");
  auto f = mgr.open(path("f")).get();
  BOOST_TEST(f.resize(4).get() == 4u);
  BOOST_TEST(read_file(path("f")) == "0123");
  BOOST_TEST(f.resize(0).get() == 0u);
  BOOST_TEST(f.read().get().empty());
  BOOST_TEST(f.resize(3).get() == 3u);
  BOOST_TEST(read_file(path("f")) == std::string(3, '\0'));
  f.write("abc").get();
  BOOST_TEST(text(f.read().get()) == "abc");
}

BOOST_AUTO_TEST_CASE(zero_byte_file_grows_through_writes) {
  auto f = mgr.create(path("f")).get();
  for (int i = 0; i < 1000; ++i)
    f.write(std::string(100, char('a' + i % 26)), i * 100).get();
  BOOST_TEST(f.size().get() == 100000u);
  auto content = read_file(path("f"));
  BOOST_TEST(content.substr(99900) == std::string(100, char('a' + 999 % 26)));
}

BOOST_AUTO_TEST_CASE(flush_and_sync_succeed_and_keep_data) {
  auto f = mgr.create(path("f"), 0, false).get();
  f.write("durable").get();
  f.flush().get();
  f.sync().get();
  BOOST_TEST(read_file(path("f")) == "durable");
}

BOOST_AUTO_TEST_CASE(checksum_of_handle_matches_openssl) {
  auto f = mgr.create(path("f")).get();
  f.write(std::string(70000, 'z')).get();
  auto out = run_command("openssl dgst -r -sha256 '" + path("f") + "'");
  BOOST_TEST(f.checksum("sha256").get() == out.substr(0, out.find(' ')));
  auto b2 = run_command("openssl dgst -r -blake2b512 '" + path("f") + "'");
  BOOST_TEST(f.checksum().get() == b2.substr(0, b2.find(' ')));
  BOOST_TEST(error_of(f.checksum("nope")).code().value() == EINVAL);
}

BOOST_AUTO_TEST_CASE(second_close_is_a_no_op) {
  write_file(path("f"), "x");
  auto f = mgr.open(path("f")).get();
  BOOST_TEST(!f.closed());
  f.close().get();
  BOOST_TEST(f.closed());
  f.close().get();
  BOOST_TEST(mgr.currently_open().get() == 0u);
}

BOOST_AUTO_TEST_CASE(calls_after_close_fail_with_ebadf) {
  write_file(path("f"), "x");
  auto f = mgr.open(path("f")).get();
  auto copy = f;
  f.close().get();
  BOOST_TEST(copy.closed());
  auto e = error_of(copy.read());
  BOOST_TEST(e.code().value() == EBADF);
  BOOST_TEST(e.path1() == path("f"));
  BOOST_TEST(error_of(f.write("y")).code().value() == EBADF);
  BOOST_TEST(error_of(f.size()).code().value() == EBADF);
  BOOST_TEST(read_file(path("f")) == "x");
}

BOOST_AUTO_TEST_CASE(empty_handle_fails_with_ebadf) {
  mapped_file none;
  BOOST_TEST(none.closed());
  BOOST_TEST(error_of(none.read()).code().value() == EBADF);
  none.close().get();
}

BOOST_AUTO_TEST_CASE(close_of_last_reference_unmaps_while_others_keep_theirs) {
  write_file(path("f"), "abc");
  auto a = mgr.open(path("f")).get();
  auto b = mgr.open(path("f")).get();
  a.close().get();
  BOOST_TEST(text(b.read().get()) == "abc");
  BOOST_TEST(mgr.open_mmaps().get().size() == 1u);
  b.close().get();
  BOOST_TEST(mgr.open_mmaps().get().empty());
}

BOOST_AUTO_TEST_SUITE_END()
