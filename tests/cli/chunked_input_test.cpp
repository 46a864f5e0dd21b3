#include "cli/chunked_input.hpp"

#define BOOST_TEST_MODULE chunked_input
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

using namespace actorio::cli;

namespace {

/// A pipe whose write end a thread fills with `text` and closes, as a shell feeds stdin.
struct fed_pipe {
  int fds[2] = {-1, -1};
  std::thread writer;

  explicit fed_pipe(std::string text) {
    BOOST_REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    writer = std::thread{[this, text = std::move(text)] {
      for (std::size_t done = 0; done < text.size();) {
        auto n = ::write(fds[1], text.data() + done, text.size() - done);
        if (n <= 0)
          break;
        done += static_cast<std::size_t>(n);
      }
      ::close(fds[1]);
    }};
  }

  ~fed_pipe() {
    writer.join();
    ::close(fds[0]);
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(chunked_input)

BOOST_AUTO_TEST_CASE(every_byte_arrives_in_order_in_pieces_no_larger_than_asked) {
  std::string text;
  for (int i = 0; i < 100000; ++i)
    text += static_cast<char>('a' + i % 26);
  fed_pipe in{text};
  std::string got;
  std::size_t largest = 0;
  int err = read_in_pieces(in.fds[0], 4096, [&](std::string_view piece) {
    BOOST_TEST(!piece.empty());
    largest = std::max(largest, piece.size());
    got += piece;
  });
  BOOST_TEST(err == 0);
  BOOST_TEST(got == text);
  BOOST_TEST(largest <= 4096u);
}

BOOST_AUTO_TEST_CASE(empty_input_calls_nothing_and_succeeds) {
  fed_pipe in{""};
  int calls = 0;
  BOOST_TEST(read_in_pieces(in.fds[0], 16, [&](std::string_view) { ++calls; }) == 0);
  BOOST_TEST(calls == 0);
}

BOOST_AUTO_TEST_CASE(a_failed_read_returns_its_errno) {
  int fds[2];
  BOOST_REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  // The write end cannot be read from: read(2) fails with EBADF.
  BOOST_TEST(read_in_pieces(fds[1], 16, [](std::string_view) {}) == EBADF);
  ::close(fds[0]);
  ::close(fds[1]);
}

BOOST_AUTO_TEST_CASE(an_exception_from_the_consumer_stops_the_reading_and_passes_through) {
  fed_pipe in{std::string(1000, 'x')};
  int calls = 0;
  BOOST_CHECK_THROW(read_in_pieces(in.fds[0], 10,
                                   [&](std::string_view) {
                                     ++calls;
                                     throw std::runtime_error("full");
                                   }),
                    std::runtime_error);
  BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_SUITE_END()
