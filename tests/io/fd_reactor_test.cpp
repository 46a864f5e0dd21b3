#define BOOST_TEST_MODULE fd_reactor_test
#include <boost/test/unit_test.hpp>

#include "io/src/fd_reactor.hpp"
#include "io/src/unique_fd.hpp"
#include "support/temp_dir.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <future>
#include <memory>
#include <vector>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

using actorio::detail::fd_reactor;
using actorio::detail::unique_fd;
using actorio::test::temp_dir;

namespace {

struct pipe_fds {
  unique_fd r;
  unique_fd w;
  pipe_fds() {
    int fds[2];
    BOOST_REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
    r.reset(fds[0]);
    w.reset(fds[1]);
  }
};

/// A callback that fulfils a promise, so the test can wait for it.
struct ready_signal {
  std::shared_ptr<std::promise<void>> p = std::make_shared<std::promise<void>>();
  std::future<void> f = p->get_future();
  fd_reactor::callback callback() {
    return [p = p] { p->set_value(); };
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(fd_reactor_suite)

BOOST_AUTO_TEST_CASE(a_pipe_with_data_is_reported_readable) {
  fd_reactor reactor;
  pipe_fds p;
  ready_signal s;
  BOOST_REQUIRE(reactor.when_readable(p.r.get(), s.callback()));
  BOOST_REQUIRE(::write(p.w.get(), "x", 1) == 1);
  s.f.get();
}

BOOST_AUTO_TEST_CASE(a_closed_writer_counts_as_readable) {
  fd_reactor reactor;
  pipe_fds p;
  ready_signal s;
  BOOST_REQUIRE(reactor.when_readable(p.r.get(), s.callback()));
  p.w.reset();
  s.f.get();
  char c;
  BOOST_TEST(::read(p.r.get(), &c, 1) == 0);
}

BOOST_AUTO_TEST_CASE(a_pipe_with_room_is_reported_writable) {
  fd_reactor reactor;
  pipe_fds p;
  ready_signal s;
  BOOST_REQUIRE(reactor.when_writable(p.w.get(), s.callback()));
  s.f.get();
}

BOOST_AUTO_TEST_CASE(read_and_write_interest_on_one_socket_are_kept_apart) {
  fd_reactor reactor;
  int sv[2];
  BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
  unique_fd a{sv[0]};
  unique_fd b{sv[1]};
  ready_signal readable;
  ready_signal writable;
  BOOST_REQUIRE(reactor.when_readable(a.get(), readable.callback()));
  BOOST_REQUIRE(reactor.when_writable(a.get(), writable.callback()));
  writable.f.get();
  BOOST_TEST((readable.f.wait_for(std::chrono::seconds(0)) == std::future_status::timeout));
  BOOST_REQUIRE(::write(b.get(), "x", 1) == 1);
  readable.f.get();
}

BOOST_AUTO_TEST_CASE(a_regular_file_is_refused_with_eperm) {
  temp_dir dir;
  unique_fd f{::open((dir / "f").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600)};
  BOOST_REQUIRE(f);
  fd_reactor reactor;
  auto st = reactor.when_readable(f.get(), [] {});
  BOOST_REQUIRE(!st);
  BOOST_TEST(st.error().code == EPERM);
  BOOST_TEST(reactor.watched() == 0u);
}

BOOST_AUTO_TEST_CASE(a_forgotten_descriptor_is_not_reported) {
  fd_reactor reactor;
  pipe_fds p;
  std::atomic<int> calls{0};
  BOOST_REQUIRE(reactor.when_readable(p.r.get(), [&] { ++calls; }));
  reactor.forget(p.r.get());
  BOOST_TEST(reactor.watched() == 0u);
  BOOST_REQUIRE(::write(p.w.get(), "x", 1) == 1);
  // A second descriptor armed after the write is reported; by then the first one would have been.
  pipe_fds q;
  ready_signal s;
  BOOST_REQUIRE(::write(q.w.get(), "x", 1) == 1);
  BOOST_REQUIRE(reactor.when_readable(q.r.get(), s.callback()));
  s.f.get();
  BOOST_TEST(calls.load() == 0);
}

BOOST_AUTO_TEST_CASE(interest_is_one_shot_and_can_be_renewed) {
  fd_reactor reactor;
  pipe_fds p;
  BOOST_REQUIRE(::write(p.w.get(), "x", 1) == 1);
  ready_signal first;
  BOOST_REQUIRE(reactor.when_readable(p.r.get(), first.callback()));
  first.f.get();
  // Still readable: a renewed interest fires again.
  ready_signal second;
  BOOST_REQUIRE(reactor.when_readable(p.r.get(), second.callback()));
  second.f.get();
}

BOOST_AUTO_TEST_CASE(one_reactor_watches_a_thousand_pipes) {
  fd_reactor reactor;
  std::vector<pipe_fds> pipes(1000);
  std::vector<ready_signal> signals(1000);
  for (std::size_t i = 0; i < pipes.size(); ++i)
    BOOST_REQUIRE(reactor.when_readable(pipes[i].r.get(), signals[i].callback()));
  BOOST_TEST(reactor.watched() == 1000u);
  for (auto& p : pipes)
    BOOST_REQUIRE(::write(p.w.get(), "x", 1) == 1);
  for (auto& s : signals)
    s.f.get();
}

BOOST_AUTO_TEST_CASE(arming_after_stop_fails_with_ebadf) {
  fd_reactor reactor;
  pipe_fds p;
  reactor.stop();
  reactor.stop();
  auto st = reactor.when_readable(p.r.get(), [] {});
  BOOST_REQUIRE(!st);
  BOOST_TEST(st.error().code == EBADF);
}

BOOST_AUTO_TEST_SUITE_END()
