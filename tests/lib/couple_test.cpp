#define BOOST_TEST_MODULE couple_test
#include <boost/test/unit_test.hpp>

#include "actorio/actors.hpp"
#include "actorio/couple.hpp"

#include "support/files.hpp"
#include "support/runtime_fixture.hpp"

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <caf/all.hpp>

using actorio::couple;
using actorio::couple_mode;
using actorio::couple_options;
using actorio::io_error;
using actorio::utf8_errors;
using actorio::test::error_of;
using actorio::test::read_file;
using actorio::test::runtime_fixture;
using actorio::test::write_file;

namespace {

/// A raw pipe whose ends the test closes unless a couple adopted them.
struct raw_pipe {
  int r = -1;
  int w = -1;
  raw_pipe() {
    int fds[2];
    BOOST_REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    r = fds[0];
    w = fds[1];
  }
};

/// Whether `fd` has data to read right now (poll as an oracle independent of the couple).
bool has_data(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

int threads_of_process() {
  std::ifstream status{"/proc/self/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("Threads:", 0) == 0)
      return std::stoi(line.substr(8));
  return -1;
}

/// Every byte of `s` is well-formed UTF-8 (a small independent checker: lengths by lead byte).
bool whole_characters(const std::string& s) {
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (len == 0 || i + len > s.size())
      return false;
    for (std::size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80)
        return false;
    i += len;
  }
  return true;
}

/// "a", "é", "€", "😀", "z": 5 characters, 11 bytes.
const std::string mixed = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z";

/// A read sent to `c`'s actor from `self`, known to be queued in the couple on return: a flush
/// from the same sender was answered after it (one sender's messages to one actor stay in order;
/// facade calls come from separate bridges and would race).
template <class Self>
auto queued_readline(Self& self, const couple& c) {
  auto read = self->request(actor_of(c), caf::infinite, actorio::readline_atom_v, std::int64_t{-1});
  self->request(actor_of(c), caf::infinite, caf::flush_atom_v).receive([] {}, [](caf::error&) {});
  return read;
}

/// The failure a queued read ended with (the test fails if it succeeded).
template <class Handle>
actorio::failure failure_of(Handle& read) {
  actorio::failure why;
  read.receive([](std::string&) { BOOST_FAIL("the read succeeded"); },
               [&](caf::error& err) { why = actorio::to_failure(err, "", ""); });
  return why;
}

struct fixture : runtime_fixture {
  couple text_couple_reading(int fd, couple_options options = {}) {
    options.mode = couple_mode::text;
    return rt.make_couple(fd, ::open("/dev/null", O_WRONLY | O_CLOEXEC), options);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(couple_suite, fixture)

// --- binary mode ---

BOOST_AUTO_TEST_CASE(a_pipe_pair_carries_data_both_ways_after_flush) {
  auto [a, b] = rt.double_ended_binary_pipe();
  BOOST_TEST((a.mode() == couple_mode::binary));
  BOOST_TEST(a.write("hello").get() == 5u);
  a.flush().get();
  BOOST_TEST(b.read(5).get() == "hello");
  BOOST_TEST(b.write(std::string("\0\xff", 2)).get() == 2u);
  b.flush().get();
  BOOST_TEST(a.read(2).get() == std::string("\0\xff", 2));
}

BOOST_AUTO_TEST_CASE(writes_stay_buffered_until_flush) {
  auto [a, b] = rt.double_ended_binary_pipe();
  a.write("abc").get();
  BOOST_TEST(!has_data(b.reader()));
  a.flush().get();
  BOOST_TEST(has_data(b.reader()));
  BOOST_TEST(b.read(3).get() == "abc");
}

BOOST_AUTO_TEST_CASE(the_ends_of_a_pipe_pair_are_crossed) {
  auto [a, b] = rt.double_ended_binary_pipe();
  struct stat ar {
  }, aw{}, br{}, bw{};
  BOOST_REQUIRE(::fstat(a.reader(), &ar) == 0 && ::fstat(a.writer(), &aw) == 0);
  BOOST_REQUIRE(::fstat(b.reader(), &br) == 0 && ::fstat(b.writer(), &bw) == 0);
  BOOST_TEST(ar.st_ino == bw.st_ino);
  BOOST_TEST(br.st_ino == aw.st_ino);
  BOOST_TEST(ar.st_ino != br.st_ino);
}

BOOST_AUTO_TEST_CASE(read_returns_fewer_bytes_only_at_eof) {
  auto [a, b] = rt.double_ended_binary_pipe();
  auto pending = b.read(10);
  a.write("abc").get();
  a.flush().get();
  a.write("de").get();
  a.flush().get();
  a.close().get();
  BOOST_TEST(pending.get() == "abcde");
  BOOST_TEST(b.read(10).get() == "");
  BOOST_TEST(b.read().get() == "");
  BOOST_TEST(b.read(0).get() == "");
}

BOOST_AUTO_TEST_CASE(read_without_size_and_readall_read_to_eof) {
  auto [a, b] = rt.double_ended_binary_pipe();
  auto all = b.read();
  a.write("one ").get();
  a.flush().get();
  a.write("two").get();
  a.close().get();
  // Unflushed output is dropped at close.
  BOOST_TEST(all.get() == "one ");
  BOOST_TEST(b.readall().get() == "");
  auto [c, d] = rt.double_ended_binary_pipe();
  c.write("xyz").get();
  c.flush().get();
  c.close().get();
  BOOST_TEST(d.readall().get() == "xyz");
}

BOOST_AUTO_TEST_CASE(a_negative_count_is_einval_and_only_none_means_all) {
  auto [a, b] = rt.double_ended_binary_pipe();
  a.write("abc").get();
  a.flush().get();
  for (std::int64_t n : {-1, -2}) {
    BOOST_TEST(error_of(b.read(n)).code().value() == EINVAL);
    BOOST_TEST(error_of(b.read1(n)).code().value() == EINVAL);
    BOOST_TEST(error_of(b.readline(n)).code().value() == EINVAL);
    BOOST_TEST(error_of(a.truncate(n)).code().value() == EINVAL);
  }
  // The refused calls took nothing.
  a.close().get();
  BOOST_TEST(b.read().get() == "abc");
}

BOOST_AUTO_TEST_CASE(read1_returns_what_is_there) {
  auto [a, b] = rt.double_ended_binary_pipe();
  a.write("abcdef").get();
  a.flush().get();
  BOOST_TEST(b.read1(3).get() == "abc");
  BOOST_TEST(b.read1().get() == "def");
  a.close().get();
  BOOST_TEST(b.read1(5).get() == "");
}

BOOST_AUTO_TEST_CASE(readinto_fills_the_buffer_and_readinto1_takes_what_is_there) {
  auto [a, b] = rt.double_ended_binary_pipe();
  std::vector<std::byte> buf(4);
  auto full = b.readinto(buf);
  a.write("ab").get();
  a.flush().get();
  a.write("cdef").get();
  a.flush().get();
  BOOST_TEST(full.get() == 4u);
  BOOST_TEST(std::string(reinterpret_cast<char*>(buf.data()), 4) == "abcd");
  std::vector<std::byte> big(100);
  BOOST_TEST(b.readinto1(big).get() == 2u);
  BOOST_TEST(std::string(reinterpret_cast<char*>(big.data()), 2) == "ef");
  std::span<std::byte> none;
  BOOST_TEST(b.readinto(none).get() == 0u);
  a.close().get();
  BOOST_TEST(b.readinto(big).get() == 0u);
  BOOST_TEST(b.readinto1(big).get() == 0u);
}

BOOST_AUTO_TEST_CASE(readline_splits_lines_and_honours_the_limit) {
  auto [a, b] = rt.double_ended_binary_pipe();
  a.write("first\nsecond line\nlast").get();
  a.flush().get();
  BOOST_TEST(b.readline().get() == "first\n");
  BOOST_TEST(b.readline(6).get() == "second");
  BOOST_TEST(b.readline().get() == " line\n");
  a.close().get();
  BOOST_TEST(b.readline().get() == "last");
  BOOST_TEST(b.readline().get() == "");
}

BOOST_AUTO_TEST_CASE(readlines_stops_at_the_hint_or_reads_all) {
  auto [a, b] = rt.double_ended_binary_pipe();
  a.writelines({"a\n", "bb\n", "ccc\n", "tail"}).get();
  a.flush().get();
  BOOST_TEST((b.readlines(1).get() == std::vector<std::string>{"a\n"}));
  BOOST_TEST((b.readlines(4).get() == std::vector<std::string>{"bb\n", "ccc\n"}));
  a.close().get();
  BOOST_TEST((b.readlines().get() == std::vector<std::string>{"tail"}));
  BOOST_TEST(b.readlines().get().empty());
}

BOOST_AUTO_TEST_CASE(writelines_adds_no_separator) {
  auto [a, b] = rt.double_ended_binary_pipe();
  a.writelines({"x", "y", "z"}).get();
  a.flush().get();
  a.close().get();
  BOOST_TEST(b.readall().get() == "xyz");
}

BOOST_AUTO_TEST_CASE(sixty_four_mib_cross_a_pipe_pair_intact) {
  auto [a, b] = rt.double_ended_binary_pipe();
  constexpr std::size_t total = 64u << 20;
  constexpr std::size_t piece = 64u << 10;
  auto data = [](std::size_t i) { return static_cast<char>((i * 2654435761u) >> 13); };
  std::thread writer{[&, a = a] {
    std::string block(piece, '\0');
    for (std::size_t off = 0; off < total; off += piece) {
      for (std::size_t k = 0; k < piece; ++k)
        block[k] = data(off + k);
      a.write(block).get();
    }
    a.flush().get();
    a.close().get();
  }};
  std::size_t got = 0;
  bool same = true;
  for (;;) {
    auto chunk = b.read1(1 << 20).get();
    if (chunk.empty())
      break;
    for (std::size_t k = 0; k < chunk.size() && same; ++k)
      same = chunk[k] == data(got + k);
    got += chunk.size();
  }
  writer.join();
  BOOST_TEST(got == total);
  BOOST_TEST(same);
}

// --- text mode ---

BOOST_AUTO_TEST_CASE(text_reads_count_characters) {
  auto [a, b] = rt.double_ended_text_pipe();
  BOOST_TEST((b.mode() == couple_mode::text));
  BOOST_TEST(a.write(mixed).get() == 5u);
  a.flush().get();
  BOOST_TEST(b.read(3).get() == "a\xC3\xA9\xE2\x82\xAC");
  BOOST_TEST(b.read1(1).get() == "\xF0\x9F\x98\x80");
  a.writelines({"\n", "é\n"}).get();
  a.flush().get();
  BOOST_TEST(b.readline(1).get() == "z");
  BOOST_TEST(b.readline().get() == "\n");
  a.close().get();
  BOOST_TEST((b.readlines().get() == std::vector<std::string>{"é\n"}));
  BOOST_TEST(b.read().get() == "");
}

BOOST_AUTO_TEST_CASE(four_byte_characters_written_byte_by_byte_are_never_split) {
  raw_pipe p;
  auto c = text_couple_reading(p.r);
  const std::string emoji = "\xF0\x9F\x98\x80\xF0\x9F\x98\x81";
  for (std::size_t i = 0; i < emoji.size(); i += 4) {
    auto part = c.read1();
    for (std::size_t k = 0; k < 4; ++k) {
      BOOST_REQUIRE(::write(p.w, &emoji[i + k], 1) == 1);
      // Wait until the couple has taken the byte out of the pipe, so it sees a partial character.
      while (has_data(p.r))
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      if (k < 3)
        BOOST_TEST((part.wait_for(std::chrono::seconds(0)) == std::future_status::timeout));
    }
    auto got = part.get();
    BOOST_TEST(whole_characters(got));
    BOOST_TEST(got == emoji.substr(i, 4));
  }
  ::close(p.w);
  BOOST_TEST(c.readall().get() == "");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_read_fails_with_eilseq_and_replace_gives_u_fffd) {
  raw_pipe p;
  auto strict = text_couple_reading(p.r);
  BOOST_REQUIRE(::write(p.w, "ok\xFF!", 4) == 4);
  ::close(p.w);
  auto e = error_of(strict.read());
  BOOST_TEST(e.code().value() == EILSEQ);
  BOOST_TEST(e.op() == "read");
  raw_pipe q;
  couple_options replace;
  replace.errors = utf8_errors::replace;
  auto lenient = text_couple_reading(q.r, replace);
  BOOST_REQUIRE(::write(q.w, "ok\xFF!", 4) == 4);
  ::close(q.w);
  BOOST_TEST(lenient.read().get() == "ok\xEF\xBF\xBD!");
}

BOOST_AUTO_TEST_CASE(a_truncated_character_at_eof_fails_with_eilseq) {
  raw_pipe p;
  auto c = text_couple_reading(p.r);
  BOOST_REQUIRE(::write(p.w, "ab\xE2\x82", 4) == 4);
  ::close(p.w);
  BOOST_TEST(c.read(2).get() == "ab");
  BOOST_TEST(error_of(c.read()).code().value() == EILSEQ);
}

BOOST_AUTO_TEST_CASE(writing_invalid_utf8_in_text_mode_fails_with_eilseq) {
  auto [a, b] = rt.double_ended_text_pipe();
  auto e = error_of(a.write("bad\xC0"));
  BOOST_TEST(e.code().value() == EILSEQ);
  BOOST_TEST(e.op() == "write");
  BOOST_TEST(error_of(a.writelines({"ok", "\xFF"})).code().value() == EILSEQ);
}

BOOST_AUTO_TEST_CASE(text_readinto_never_splits_a_character) {
  auto [a, b] = rt.double_ended_text_pipe();
  a.write(mixed).get();
  a.flush().get();
  std::vector<std::byte> four(4);
  // "a" + "é" (3 bytes) fit, "€" would not.
  BOOST_TEST(b.readinto(four).get() == 3u);
  BOOST_TEST(std::string(reinterpret_cast<char*>(four.data()), 3) == "a\xC3\xA9");
  std::vector<std::byte> one(1);
  BOOST_TEST(error_of(b.readinto1(one)).code().value() == EINVAL);
  BOOST_TEST(b.readinto1(four).get() == 3u);
}

// --- close, cancel, errors ---

BOOST_AUTO_TEST_CASE(close_fails_a_pending_read_with_ecanceled_and_a_second_close_is_a_no_op) {
  auto [a, b] = rt.double_ended_binary_pipe();
  caf::scoped_actor self{rt.system()};
  auto pending = queued_readline(self, b);
  b.close().get();
  auto why = failure_of(pending);
  BOOST_TEST(why.code == ECANCELED);
  BOOST_TEST(why.op == "readline");
  b.close().get();
  BOOST_TEST(b.closed());
  BOOST_TEST(!b.readable());
  BOOST_TEST(!b.writable());
}

BOOST_AUTO_TEST_CASE(calls_after_close_fail_with_ebadf_naming_the_operation) {
  auto [a, b] = rt.double_ended_text_pipe();
  a.close().get();
  for (auto& [e, op] :
       std::vector<std::pair<io_error, std::string>>{{error_of(a.read()), "read"},
                                                     {error_of(a.readlines()), "readlines"},
                                                     {error_of(a.write("x")), "write"},
                                                     {error_of(a.flush()), "flush"},
                                                     {error_of(a.truncate(0)), "truncate"},
                                                     {error_of(a.ainput("?")), "ainput"}}) {
    BOOST_TEST(e.code().value() == EBADF);
    BOOST_TEST(e.op() == op);
  }
}

BOOST_AUTO_TEST_CASE(closing_one_couple_leaves_another_usable) {
  auto [a, b] = rt.double_ended_binary_pipe();
  auto [c, d] = rt.double_ended_binary_pipe();
  a.close().get();
  c.write("still here").get();
  c.flush().get();
  BOOST_TEST(d.read(10).get() == "still here");
  // b sees the end of what a wrote.
  BOOST_TEST(b.read().get() == "");
}

BOOST_AUTO_TEST_CASE(writing_to_a_peer_without_reader_fails_with_epipe) {
  auto [a, b] = rt.double_ended_binary_pipe();
  a.close().get();
  b.write("into the void").get();
  auto e = error_of(b.flush());
  BOOST_TEST(e.code().value() == EPIPE);
  BOOST_TEST(e.op() == "flush");
  BOOST_TEST(error_of(b.write("again")).code().value() == EPIPE);
}

BOOST_AUTO_TEST_CASE(epipe_over_a_socketpair_too) {
  auto sockets = [] {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
      return std::pair<int, int>{-1, -1};
    return std::pair<int, int>{sv[0], sv[1]};
  };
  auto [a, b] = rt.double_ended_binary_pipe(sockets);
  a.write("via sockets").get();
  a.flush().get();
  BOOST_TEST(b.read(11).get() == "via sockets");
  b.close().get();
  a.write("x").get();
  BOOST_TEST(error_of(a.flush()).code().value() == EPIPE);
}

BOOST_AUTO_TEST_CASE(cancel_ends_a_pending_read_and_the_couple_stays_usable) {
  auto [a, b] = rt.double_ended_binary_pipe();
  caf::scoped_actor self{rt.system()};
  auto pending = queued_readline(self, b);
  b.cancel_reads().get();
  BOOST_TEST(failure_of(pending).code == ECANCELED);
  a.write("abc").get();
  a.flush().get();
  BOOST_TEST(b.read(3).get() == "abc");
}

BOOST_AUTO_TEST_CASE(a_cancelled_read_on_a_silent_pipe_fails_with_ecanceled_and_takes_no_data) {
  auto [a, b] = rt.double_ended_binary_pipe();
  auto pending = b.read(3);
  auto other = b.readline();
  pending.cancel();
  auto e = error_of(std::move(pending));
  BOOST_TEST(e.code().value() == ECANCELED);
  BOOST_TEST(e.op() == "read");
  // Dropping a pending operation cancels it as well.
  { auto dropped = b.read1(); }
  // The pipe stays silent until b's actor has seen the cancels: its flush is answered after them.
  // Otherwise a's actor may write before b's serves its mailbox, and b then serves the reads from
  // the data before the cancels arrive (seen under TSan: read(3) took "lin").
  b.flush().get();
  // The cancelled reads took nothing: the data goes to the reads still waiting and later ones.
  a.write("line\nabc").get();
  a.flush().get();
  BOOST_TEST(other.get() == "line\n");
  BOOST_TEST(b.read(3).get() == "abc");
}

BOOST_AUTO_TEST_CASE(a_read_cancelled_with_its_data_already_there_loses_no_data) {
  auto [a, b] = rt.double_ended_binary_pipe();
  a.write("abc").get();
  a.flush().get();
  a.close().get(); // a lost "abc" then makes the read below end at EOF, not wait
  auto pending = b.read(3);
  pending.cancel();
  // Either the cancel came first (ECANCELED, the bytes stay for the next read) or the read had
  // taken them (the cancel does nothing): never ECANCELED with the bytes gone.
  std::string got;
  try {
    got = pending.get();
  } catch (const io_error& e) {
    BOOST_TEST(e.code().value() == ECANCELED);
    got = b.read(3).get();
  }
  BOOST_TEST(got == "abc");
}

BOOST_AUTO_TEST_CASE(refusals_say_why) {
  auto [a, b] = rt.double_ended_binary_pipe();
  BOOST_TEST(!couple::seekable());
  BOOST_TEST(a.seek(0).error().code == ESPIPE);
  BOOST_TEST(a.tell().error().code == ESPIPE);
  BOOST_TEST(a.fileno().error().code == EBADF);
  BOOST_TEST(a.isatty().error().code == ENOTSUP);
  BOOST_TEST(a.readable());
  BOOST_TEST(a.writable());
  BOOST_TEST(!a.closed());
  BOOST_TEST(error_of(a.truncate()).code().value() == ESPIPE);
  BOOST_TEST(error_of(a.truncate(0)).code().value() == EINVAL);
}

BOOST_AUTO_TEST_CASE(an_empty_handle_fails_with_ebadf) {
  couple c;
  BOOST_TEST(error_of(c.read()).code().value() == EBADF);
  BOOST_TEST(c.closed());
  BOOST_TEST(c.reader() == -1);
}

BOOST_AUTO_TEST_CASE(regular_files_work_and_truncate_sets_the_size) {
  write_file(path("in.txt"), "l1\nl2\nl3");
  auto in = ::open(path("in.txt").c_str(), O_RDONLY | O_CLOEXEC);
  auto out = ::open(path("out.txt").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  auto c = rt.make_couple(in, out);
  BOOST_TEST((c.readlines().get() == std::vector<std::string>{"l1\n", "l2\n", "l3"}));
  c.write("hello world").get();
  BOOST_TEST(c.truncate(5).get() == 5u);
  BOOST_TEST(read_file(path("out.txt")) == "hello");
  BOOST_TEST(c.truncate().get() == 11u);
  c.close().get();
  BOOST_TEST(::fcntl(in, F_GETFD) == -1);
}

BOOST_AUTO_TEST_CASE(make_couple_refuses_a_reader_that_cannot_read) {
  write_file(path("f"), "x");
  auto wronly = ::open(path("f").c_str(), O_WRONLY | O_CLOEXEC);
  try {
    rt.make_couple(wronly, wronly);
    BOOST_FAIL("accepted a write-only reader");
  } catch (const io_error& e) {
    BOOST_TEST(e.code().value() == EBADF);
  }
  couple_options bad;
  bad.errors = static_cast<utf8_errors>(9);
  BOOST_CHECK_THROW(rt.make_couple(wronly, wronly, bad), io_error);
  BOOST_TEST(::close(wronly) == 0);
}

BOOST_AUTO_TEST_CASE(a_thousand_idle_couples_need_no_thread_each) {
  auto before = threads_of_process();
  std::vector<couple> couples;
  std::vector<actorio::operation<std::string>> reads;
  for (int i = 0; i < 1000; ++i) {
    raw_pipe p;
    couples.push_back(rt.make_couple(p.r, p.w));
    reads.push_back(couples.back().read1());
  }
  // Let every read reach its couple and wait on the reactor.
  for (auto& c : couples)
    c.flush().get();
  auto during = threads_of_process();
  BOOST_TEST_MESSAGE("threads before " << before << ", with 1000 pending reads " << during);
  BOOST_TEST(during <= before + 2);
  for (std::size_t i = 0; i < couples.size(); ++i) {
    couples[i].write(std::to_string(i)).get();
    couples[i].flush().get();
  }
  for (std::size_t i = 0; i < reads.size(); ++i)
    BOOST_TEST(reads[i].get() == std::to_string(i));
}

// --- ainput and stdcoup ---

struct pty {
  int master = -1;
  int slave = -1;
  pty() {
    BOOST_REQUIRE(::openpty(&master, &slave, nullptr, nullptr, nullptr) == 0);
  }
  ~pty() {
    ::close(master);
  }
  std::string read_master(std::size_t n) {
    std::string s;
    while (s.size() < n) {
      pollfd p{master, POLLIN, 10000};
      BOOST_REQUIRE(::poll(&p, 1, 10000) == 1);
      char buf[256];
      auto got = ::read(master, buf, std::min(sizeof(buf), n - s.size()));
      BOOST_REQUIRE(got > 0);
      s.append(buf, static_cast<std::size_t>(got));
    }
    return s;
  }
};

BOOST_AUTO_TEST_CASE(ainput_on_a_terminal_writes_the_prompt_and_returns_the_line) {
  pty t;
  couple_options text;
  text.mode = couple_mode::text;
  auto c = rt.make_couple(t.slave, ::dup(t.slave), text);
  auto answer = c.ainput("name? ", true);
  BOOST_TEST(t.read_master(6) == "name? ");
  BOOST_REQUIRE(::write(t.master, "Zoë\n", 5) == 5);
  BOOST_TEST(answer.get() == "Zoë");
}

BOOST_AUTO_TEST_CASE(ainput_with_assert_tty_on_a_pipe_fails_with_enotty_before_the_prompt) {
  auto [a, b] = rt.double_ended_text_pipe();
  auto e = error_of(b.ainput("prompt", true));
  BOOST_TEST(e.code().value() == ENOTTY);
  BOOST_TEST(e.op() == "ainput");
  BOOST_TEST(!has_data(a.reader()));
}

BOOST_AUTO_TEST_CASE(ainput_keeps_a_last_line_without_newline_then_reports_eof) {
  auto [a, b] = rt.double_ended_text_pipe();
  a.write("abc\r\nnext\nlast").get();
  a.flush().get();
  a.close().get();
  BOOST_TEST(b.ainput().get() == "abc");
  BOOST_TEST(b.ainput().get() == "next");
  BOOST_TEST(b.ainput().get() == "last");
  auto e = error_of(b.ainput());
  BOOST_TEST(e.code().value() == ENODATA);
  BOOST_TEST(e.op() == "ainput");
}

BOOST_AUTO_TEST_CASE(stdcoup_reads_stdin_and_closing_it_leaves_fd_0_open) {
  raw_pipe p;
  auto saved = ::dup(STDIN_FILENO);
  BOOST_REQUIRE(saved >= 0);
  BOOST_REQUIRE(::dup2(p.r, STDIN_FILENO) == STDIN_FILENO);
  ::close(p.r);
  BOOST_REQUIRE(::write(p.w, "from stdin\n", 11) == 11);
  auto s = rt.stdcoup();
  BOOST_TEST((s.mode() == couple_mode::text));
  BOOST_TEST((actor_of(rt.stdcoup()) == actor_of(s)));
  BOOST_TEST(rt.ainput().get() == "from stdin");
  s.close().get();
  BOOST_TEST(::fcntl(STDIN_FILENO, F_GETFD) != -1);
  BOOST_TEST(::fcntl(STDOUT_FILENO, F_GETFD) != -1);
  // The reopened descriptor kept O_NONBLOCK to itself.
  BOOST_TEST((::fcntl(STDIN_FILENO, F_GETFL) & O_NONBLOCK) == 0);
  BOOST_TEST((actor_of(rt.stdcoup()) != actor_of(s)));
  ::close(p.w);
  BOOST_TEST(error_of(rt.ainput()).code().value() == ENODATA);
  BOOST_REQUIRE(::dup2(saved, STDIN_FILENO) == STDIN_FILENO);
  ::close(saved);
}

BOOST_AUTO_TEST_SUITE_END()
