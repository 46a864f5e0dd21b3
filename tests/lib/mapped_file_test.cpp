#define BOOST_TEST_MODULE mapped_file_test
#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

BOOST_AUTO_TEST_CASE(every_negative_size_count_or_bound_is_einval_and_none_means_to_the_end) {
  write_file(path("a"), "0123456789");
  write_file(path("b"), "0123456789");
  auto a = mgr.open(path("a")).get();
  auto b = mgr.open(path("b")).get();
  auto einval = [](auto future, const char* op) {
    auto e = error_of(std::move(future));
    BOOST_TEST(e.code().value() == EINVAL, op << ": " << e.what());
    BOOST_TEST(std::string(e.what()).find(op) != std::string::npos, op << ": " << e.what());
  };
  // -1 is no "to the end" either: only an absent size is.
  for (std::int64_t n : {-1, -2}) {
    einval(a.read(0, n), "read");
    einval(a.flush(0, n), "flush");
    einval(a.read_str(0, n), "read_str");
    einval(a.readline(0, n), "readline");
    einval(a.read_until("\n", 0, n), "read_until");
    einval(a.replace("1", "x", 0, n), "replace");
    einval(a.copy_within(20, 0, n), "copy_within");
    einval(a.compare(b, n), "compare");
    einval(a.hamming_dist(b, n), "hamming_dist");
    einval(a.hamming_dist_bytes(b, n), "hamming_dist_bytes");
    einval(a.find("1", 0, n), "find");
    einval(a.rfind("1", 0, n), "rfind");
    einval(a.search("1", 0, n), "search");
    einval(a.madvise(map_advice::normal, 0, n), "madvise");
  }
  einval(a.compare(b, 1, -1, 0), "compare");
  BOOST_TEST(read_file(path("a")) == "0123456789");
  BOOST_TEST(text(a.read(4).get()) == "456789");
  BOOST_TEST(text(a.read(4, std::nullopt).get()) == "456789");
  BOOST_TEST(a.compare(b).get());
  BOOST_TEST(a.search("1").get() == std::vector<std::uint64_t>{1});
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

BOOST_AUTO_TEST_CASE(stat_reports_the_files_size_mtime_and_permissions) {
  write_file(path("f"), "0123456789");
  ::chmod(path("f").c_str(), 0640);
  // A time with nanoseconds, so that a unit lost on the way shows.
  timespec times[2] = {{1'700'000'000, 123'456'789}, {1'700'000'000, 123'456'789}};
  BOOST_REQUIRE(::utimensat(AT_FDCWD, path("f").c_str(), times, 0) == 0);
  auto f = mgr.open(path("f")).get();
  auto st = f.stat().get();
  BOOST_TEST(st.size == 10u);
  BOOST_TEST(
    std::chrono::duration_cast<std::chrono::nanoseconds>(st.modified.time_since_epoch()).count() ==
    1'700'000'000'123'456'789);
  BOOST_TEST(
    (st.permissions == (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                        std::filesystem::perms::group_read)));
  f.write("more", 10).get();
  BOOST_TEST(f.stat().get().size == 14u);
  // The mapped file, whatever its path names since.
  std::filesystem::rename(path("f"), path("g"));
  write_file(path("f"), "x");
  BOOST_TEST(f.stat().get().size == 14u);
  f.close().get();
  BOOST_TEST(error_of(f.stat()).code().value() == EBADF);
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

BOOST_AUTO_TEST_CASE(text_round_trips_as_utf8_with_errors_policies) {
  auto f = mgr.create(path("t")).get();
  BOOST_TEST(f.write_str("h\xc3\xa9llo", 0).get() == 6u);
  BOOST_TEST(read_file(path("t")) == "h\xc3\xa9llo");
  BOOST_TEST(f.read_str().get() == "h\xc3\xa9llo");
  f.write("\xff", 1).get();
  BOOST_TEST(error_of(f.read_str()).code().value() == EILSEQ);
  BOOST_TEST(f.read_str(0, std::nullopt, utf8_errors::replace).get() == "h\xef\xbf\xbd\xef\xbf\xbd"
                                                                        "llo");
  BOOST_TEST(f.read_str(0, std::nullopt, utf8_errors::ignore).get() == "hllo");
  BOOST_TEST(error_of(f.read_str(0, std::nullopt, static_cast<utf8_errors>(9))).code().value() ==
             EINVAL);
  BOOST_TEST(error_of(f.write_str("\xc3", 0)).code().value() == EILSEQ);
  BOOST_TEST(f.smart_write(std::string("\xc3\xa9"), 0).get() == 2u);
  BOOST_TEST(f.smart_write(bytes{'\xff', 'z'}, 4).get() == 2u);
  BOOST_TEST(read_file(path("t")) == std::string("\xc3\xa9\xa9l\xffz", 6));
}

BOOST_AUTO_TEST_CASE(readline_returns_the_line_and_the_next_offset) {
  write_file(path("f"), "hello\nworld\n");
  auto f = mgr.open(path("f")).get();
  auto first = f.readline().get();
  BOOST_TEST(text(first.data) == "hello");
  BOOST_TEST(first.next_offset == 6u);
  auto second = f.readline(first.next_offset, std::nullopt, true).get();
  BOOST_TEST(text(second.data) == "world\n");
  BOOST_TEST(second.next_offset == 12u);
  BOOST_TEST(f.readline(100).get().data.empty());
  BOOST_TEST(error_of(f.readline(-1)).code().value() == EINVAL);
}

BOOST_AUTO_TEST_CASE(readlines_and_line_pages_split_on_newlines) {
  write_file(path("f"), "a\nbb\n\nccc");
  auto f = mgr.open(path("f")).get();
  auto all = f.readlines().get();
  BOOST_REQUIRE(all.size() == 4u);
  BOOST_TEST(text(all[0]) == "a\n");
  BOOST_TEST(text(all[2]) == "\n");
  BOOST_TEST(text(all[3]) == "ccc");
  std::vector<std::string> paged;
  std::uint64_t offset = 0;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = f.lines(static_cast<std::int64_t>(offset), 2).get();
    if (page.lines.empty())
      break;
    for (auto& l : page.lines)
      paged.push_back(text(l));
    offset = page.next_offset;
  }
  BOOST_TEST(paged == (std::vector<std::string>{"a\n", "bb\n", "\n", "ccc"}));
}

BOOST_AUTO_TEST_CASE(read_until_includes_the_delimiter) {
  write_file(path("f"), "hello\nworld\n");
  auto f = mgr.open(path("f")).get();
  auto step = f.read_until("\n").get();
  BOOST_TEST(text(step.data) == "hello\n");
  BOOST_TEST(step.next_offset == 6u);
  auto capped = f.read_until("\n", 6, 3).get();
  BOOST_TEST(text(capped.data) == "wor");
  BOOST_TEST(capped.next_offset == 9u);
  BOOST_TEST(error_of(f.read_until("")).code().value() == EINVAL);
}

BOOST_AUTO_TEST_CASE(writelines_writes_sep_after_each_line_from_the_offset) {
  write_file(path("f"), "..........");
  auto f = mgr.open(path("f")).get();
  BOOST_TEST(f.writelines({"ab", "cd"}, "-", 1).get() == 7u);
  BOOST_TEST(read_file(path("f")) == ".ab-cd-...");
}

BOOST_AUTO_TEST_CASE(editing_operations_go_through_the_actor) {
  write_file(path("f"), "0123456789");
  auto f = mgr.open(path("f")).get();
  BOOST_TEST(f.insert("II", 3).get() == 12u);
  BOOST_TEST(read_file(path("f")) == "012II3456789");
  BOOST_TEST(f.erase(3, 2).get() == 2u);
  BOOST_TEST(f.erase(8, 5).get() == 2u);
  BOOST_TEST(read_file(path("f")) == "01234567");
  BOOST_TEST(f.replace("3", "==").get() == 1u);
  BOOST_TEST(read_file(path("f")) == "012==4567");
  BOOST_TEST(error_of(f.replace("", "x")).code().value() == EINVAL);
  BOOST_TEST(f.fill("ab", 1, 3).get() == 6u);
  BOOST_TEST(read_file(path("f")) == "0ababab67");
  BOOST_TEST(f.copy_within(7, 0, 3).get() == 3u);
  BOOST_TEST(read_file(path("f")) == "0ababab0ab");
  f.move(0, 8, 2).get();
  BOOST_TEST(read_file(path("f")) == "abbabab0ab");
  BOOST_TEST(error_of(f.move(0, 9, 5)).code().value() == EINVAL);
  f.write(std::string(3, '\0'), 10).get();
  BOOST_TEST(f.compact().get() == 3u);
  BOOST_TEST(f.size().get() == 10u);
}

BOOST_AUTO_TEST_CASE(search_find_and_pages_report_each_hit_once) {
  write_file(path("f"), "xxabxxab");
  auto f = mgr.open(path("f")).get();
  BOOST_TEST(f.search("ab").get() == (std::vector<std::uint64_t>{2, 6}));
  BOOST_TEST((f.find("ab", 3).get() == std::optional<std::uint64_t>{6}));
  BOOST_TEST(!f.find("ab", 3, 7).get().has_value());
  BOOST_TEST((f.rfind("ab").get() == std::optional<std::uint64_t>{6}));
  BOOST_TEST((f.rfind("ab", 0, 7).get() == std::optional<std::uint64_t>{2}));
  BOOST_TEST(error_of(f.search("")).code().value() == EINVAL);
  write_file(path("a"), "aaaa");
  auto a = mgr.open(path("a")).get();
  BOOST_TEST(a.search("aa").get() == (std::vector<std::uint64_t>{0, 2}));
  BOOST_TEST(a.search("aa", 0, std::nullopt, true).get() == (std::vector<std::uint64_t>{0, 1, 2}));
  std::vector<std::uint64_t> paged;
  std::int64_t offset = 0;
  for (int i = 0; i < 10; ++i) {
    auto page = a.search_page_at("aa", offset, 1, true).get();
    if (page.hits.empty())
      break;
    paged.insert(paged.end(), page.hits.begin(), page.hits.end());
    offset = static_cast<std::int64_t>(page.next_offset);
  }
  BOOST_TEST(paged == (std::vector<std::uint64_t>{0, 1, 2}));
}

BOOST_AUTO_TEST_CASE(compare_and_hamming_work_across_two_maps) {
  write_file(path("a"), std::string("\x00\xff\x0f", 3));
  write_file(path("b"), std::string("\x01\xff\x00\x07", 4));
  auto a = mgr.open(path("a")).get();
  auto b = mgr.open(path("b")).get();
  BOOST_TEST(!a.compare(b).get());
  BOOST_TEST(a.compare(b, 1, 1, 1).get());
  BOOST_TEST(a.compare(a).get());
  // 00^01 -> 1 bit, 0f^00 -> 4 bits, the padded 00 against 07 -> 3 bits.
  BOOST_TEST(a.hamming_dist(b).get() == 8u);
  BOOST_TEST(a.hamming_dist_bytes(b).get() == 3u);
  BOOST_TEST(b.hamming_dist(a, 3).get() == 5u);
  // Two maps comparing each other at the same time must not deadlock.
  auto ab = a.hamming_dist(b);
  auto ba = b.hamming_dist(a);
  BOOST_TEST(ab.get() == ba.get());
  mapped_file closed;
  BOOST_TEST(error_of(a.compare(closed)).code().value() == EBADF);
}

BOOST_AUTO_TEST_CASE(flush_of_a_range_and_madvise_succeed_or_refuse_bad_advice) {
  write_file(path("f"), std::string(20000, 'x'));
  auto f = mgr.open(path("f")).get();
  f.write("y", 9000).get();
  f.flush(5, 100).get();
  f.flush(8999).get();
  f.madvise(map_advice::sequential).get();
  f.madvise(map_advice::willneed, 4096, 100).get();
  BOOST_TEST(error_of(f.madvise(static_cast<map_advice>(9))).code().value() == EINVAL);
  BOOST_TEST(error_of(f.flush(-1, 5)).code().value() == EINVAL);
}

BOOST_AUTO_TEST_CASE(a_read_of_bytes_another_process_truncated_away_is_eio_and_the_map_lives_on) {
  write_file(path("t"), std::string(3 * 4096, 't'));
  write_file(path("other"), "fine");
  auto f = mgr.open(path("t")).get();
  BOOST_REQUIRE_EQUAL(std::system(("truncate -s 4096 '" + path("t") + "'").c_str()), 0);
  auto e = error_of(f.read(8192, 10));
  BOOST_TEST(e.code().value() == EIO);
  BOOST_TEST(e.path1() == path("t"));
  BOOST_TEST(text(f.read(0, 4).get()) == "tttt");
  BOOST_TEST(error_of(f.find("x")).code().value() == EIO);
  BOOST_TEST(text(mgr.open(path("other")).get().read().get()) == "fine");
}

BOOST_AUTO_TEST_CASE(a_lost_write_fails_every_flush_sync_and_close_until_clear_error) {
  write_file(path("s"), std::string(2 * 4096, 's'));
  auto f = mgr.open(path("s")).get();
  BOOST_REQUIRE_EQUAL(std::system(("truncate -s 0 '" + path("s") + "'").c_str()), 0);
  BOOST_TEST(error_of(f.write("lost", 4096)).code().value() == EIO);
  for (int i = 0; i < 2; ++i) {
    BOOST_TEST(error_of(f.flush()).code().value() == EIO);
    BOOST_TEST(error_of(f.sync()).code().value() == EIO);
  }
  f.clear_error().get();
  f.sync().get();
  BOOST_REQUIRE_EQUAL(std::system(("truncate -s 0 '" + path("s") + "'").c_str()), 0);
  BOOST_TEST(error_of(f.write("lost", 4096)).code().value() == EIO);
  BOOST_TEST(error_of(f.close()).code().value() == EIO);
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

struct durability_fixture {
  temp_dir dir;
};

} // namespace

// No runtime in the fixture: the child forks from a process without actorio threads and starts
// its own.
BOOST_FIXTURE_TEST_SUITE(mapped_file_durability, durability_fixture)

BOOST_AUTO_TEST_CASE(data_synced_before_a_sigkill_is_in_the_file) {
  auto p = (dir / "durable.bin").string();
  std::string expected;
  for (int i = 0; i < 64; ++i)
    expected += std::string(4096, static_cast<char>('A' + i % 26));
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    char done = 'e';
    try {
      runtime rt;
      auto f = rt.manager().create(p, 0, true).get();
      for (int i = 0; i < 64; ++i)
        f.write(std::string_view(expected).substr(i * 4096, 4096), i * 4096).get();
      f.sync().get();
      done = 'k';
    } catch (...) {
    }
    // The runtime is gone; the parent kills us as soon as it reads this.
    (void)!::write(fds[1], &done, 1);
    for (;;)
      ::pause();
  }
  ::close(fds[1]);
  char done = 0;
  BOOST_REQUIRE(::read(fds[0], &done, 1) == 1);
  ::kill(pid, SIGKILL);
  int status = 0;
  BOOST_REQUIRE(::waitpid(pid, &status, 0) == pid);
  ::close(fds[0]);
  BOOST_TEST(done == 'k');
  BOOST_TEST((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
  BOOST_TEST(read_file(p) == expected);
}

BOOST_AUTO_TEST_SUITE_END()
