#define BOOST_TEST_MODULE sigbus_guard_test
#include <boost/test/unit_test.hpp>

#include "io/src/sigbus_guard.hpp"

#include "support/files.hpp"
#include "support/temp_dir.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

using actorio::detail::guarded;
using actorio::detail::install_sigbus_handler;
using actorio::test::temp_dir;
using actorio::test::write_file;

namespace {

constexpr std::size_t map_length = 4 * 4096;

/// A shared mapping of a 4-page file whose file has since been truncated to 0 bytes by another
/// process (coreutils' truncate), so touching any of its pages raises SIGBUS.
struct truncated_map {
  explicit truncated_map(const fs::path& p) {
    write_file(p, std::string(map_length, 'x'));
    fd = ::open(p.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0)
      throw std::system_error(errno, std::generic_category(), "open");
    void* addr = ::mmap(nullptr, map_length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED)
      throw std::system_error(errno, std::generic_category(), "mmap");
    base = static_cast<char*>(addr);
    if (std::system(("truncate -s 0 '" + p.string() + "'").c_str()) != 0)
      throw std::runtime_error("truncate failed");
  }
  ~truncated_map() {
    ::munmap(base, map_length);
    ::close(fd);
  }
  int fd = -1;
  char* base = nullptr;
};

/// Runs `body` in a forked child and returns its wait status.
template <class F>
int in_child(F body) {
  pid_t pid = ::fork();
  if (pid < 0)
    throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    body();
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

void exit_42(int, siginfo_t*, void*) {
  ::_exit(42);
}

/// Whether the SIGBUS disposition is now some SA_SIGINFO handler other than exit_42 (actorio's).
bool ours_installed() {
  struct sigaction current {};
  ::sigaction(SIGBUS, nullptr, &current);
  return (current.sa_flags & SA_SIGINFO) != 0 && current.sa_sigaction != exit_42;
}

struct fixture {
  temp_dir dir;
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(sigbus_guard_suite, fixture)

// The forking cases come first: a child inherits the parent's installed-once state, and these
// install their own handler before actorio's (each checks that actorio's was really installed).

BOOST_AUTO_TEST_CASE(a_fault_outside_the_guarded_range_goes_to_the_previous_handler) {
  truncated_map m{dir / "f"};
  int status = in_child([&] {
    struct sigaction mine {};
    mine.sa_sigaction = exit_42;
    mine.sa_flags = SA_SIGINFO;
    ::sigaction(SIGBUS, &mine, nullptr);
    install_sigbus_handler();
    if (!ours_installed())
      ::_exit(3);
    char other[16];
    // The guard names another range: the fault is not ours to catch.
    guarded(other, sizeof other, [&] { other[0] = m.base[0]; });
    ::_exit(1);
  });
  BOOST_REQUIRE(WIFEXITED(status));
  BOOST_CHECK_EQUAL(WEXITSTATUS(status), 42);
}

BOOST_AUTO_TEST_CASE(an_unguarded_fault_still_kills_with_sigbus_without_a_previous_handler) {
  truncated_map m{dir / "f"};
  int status = in_child([&] {
    ::signal(SIGBUS, SIG_DFL);
    install_sigbus_handler();
    if (!ours_installed())
      ::_exit(3);
    volatile char c = m.base[0];
    (void)c;
    ::_exit(1);
  });
  BOOST_REQUIRE(WIFSIGNALED(status));
  BOOST_CHECK_EQUAL(WTERMSIG(status), SIGBUS);
}

BOOST_AUTO_TEST_CASE(a_sigbus_sent_by_kill_is_not_swallowed) {
  int status = in_child([] {
    ::signal(SIGBUS, SIG_DFL);
    install_sigbus_handler();
    if (!ours_installed())
      ::_exit(3);
    char buf[8];
    // Even inside a guard: si_code says another process sent it, not a fault.
    guarded(buf, sizeof buf, [] { ::kill(::getpid(), SIGBUS); });
    ::_exit(1);
  });
  BOOST_REQUIRE(WIFSIGNALED(status));
  BOOST_CHECK_EQUAL(WTERMSIG(status), SIGBUS);
}

BOOST_AUTO_TEST_CASE(guarded_access_to_a_truncated_map_returns_false_and_can_repeat) {
  install_sigbus_handler();
  truncated_map m{dir / "f"};
  char out[16] = {};
  // Twice: leaving the handler by jump must not leave SIGBUS blocked for the next fault.
  for (int i = 0; i < 2; ++i)
    BOOST_CHECK(!guarded(m.base, map_length, [&] { std::memcpy(out, m.base + 4096, 16); }));
  BOOST_CHECK(!guarded(m.base, map_length, [&] { m.base[0] = 'y'; }));
}

BOOST_AUTO_TEST_CASE(guarded_access_that_does_not_fault_returns_true) {
  install_sigbus_handler();
  write_file(dir / "g", std::string(4096, 'g'));
  int fd = ::open((dir / "g").c_str(), O_RDONLY | O_CLOEXEC);
  BOOST_REQUIRE(fd >= 0);
  void* addr = ::mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
  BOOST_REQUIRE(addr != MAP_FAILED);
  char c = 0;
  BOOST_CHECK(guarded(addr, 4096, [&] { c = static_cast<const char*>(addr)[100]; }));
  BOOST_CHECK_EQUAL(c, 'g');
  ::munmap(addr, 4096);
  ::close(fd);
}

BOOST_AUTO_TEST_CASE(each_thread_catches_its_own_faults) {
  install_sigbus_handler();
  truncated_map m{dir / "f"};
  std::vector<std::thread> threads;
  std::vector<int> caught(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        volatile char c = 0;
        if (!guarded(m.base, map_length, [&] { c = m.base[(i % 4) * 4096]; }))
          ++caught[t];
      }
    });
  for (auto& t : threads)
    t.join();
  for (int t = 0; t < 4; ++t)
    BOOST_CHECK_EQUAL(caught[t], 100);
}

BOOST_AUTO_TEST_CASE(guards_nest_and_a_fault_returns_to_the_innermost) {
  install_sigbus_handler();
  truncated_map m{dir / "f"};
  bool inner = true;
  bool outer = guarded(m.base, map_length,
                       [&] { inner = guarded(m.base, map_length, [&] { m.base[4096] = 'z'; }); });
  BOOST_CHECK(outer);
  BOOST_CHECK(!inner);
}

BOOST_AUTO_TEST_SUITE_END()
