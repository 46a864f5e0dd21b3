#define BOOST_TEST_MODULE front_door
#include <boost/test/unit_test.hpp>

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <openssl/ssl.h>

#include "actorio/actorio.hpp"
#include "actorio/remote.hpp"
#include "support/describe.hpp"
#include "support/files.hpp"
#include "support/remote_peers.hpp"
#include "support/served.hpp"
#include "support/temp_dir.hpp"
#include "support/waiting.hpp"

// The served node's front door (lib/src/front_door.*, and lib/src/tls_scribe.* for TLS), run as
// a forked `actorio::serve` child: connection limits, handshake timeouts, vetted frame headers,
// no busy loop when descriptors run out.

using namespace actorio;
using namespace actorio::test;

namespace {

/// A field of /proc/PID/status in KiB ("VmRSS", "RssAnon").
std::uint64_t status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0)
      return std::stoull(line.substr(field.size() + 1));
  BOOST_FAIL("no " << field << " for pid " << pid);
  return 0;
}

/// User plus system CPU time of `pid` so far.
std::chrono::milliseconds cpu_time(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may hold spaces.
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  std::uint64_t utime = 0;
  std::uint64_t stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14)
      utime = std::stoull(field);
    if (i == 15)
      stime = std::stoull(field);
  }
  return std::chrono::milliseconds((utime + stime) * 1000 / ::sysconf(_SC_CLK_TCK));
}

/// Whether the peer closes `fd` within `limit` (whatever it sends before is read and dropped).
bool closed_by_server(int fd, std::chrono::milliseconds limit) {
  timeval tv{static_cast<time_t>(limit.count() / 1000),
             static_cast<suseconds_t>(limit.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[4096];
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET))
      return true;
    if (n < 0 && errno != EINTR)
      return false;
  }
  return false;
}

// Whether an idle server's CPU time says whether it spins: under TSan the accepts, TLS setups and
// handshake timeouts that fall in the window cost up to most of a core themselves.
#if defined(__SANITIZE_THREAD__)
constexpr bool idle_cpu_tells_a_spin = false;
#else
constexpr bool idle_cpu_tells_a_spin = true;
#endif

#if defined(__SANITIZE_THREAD__)
constexpr std::uint64_t memory_scale = 6; // TSan's shadow is four times what it shadows, and more
#elif defined(__SANITIZE_ADDRESS__)
constexpr std::uint64_t memory_scale = 2;
#else
constexpr std::uint64_t memory_scale = 1;
#endif

// The ASan pass also runs UBSan, whose type checks probe memory through a pipe: in a process out
// of descriptors the probe fails and UBSan reports a bad object where there is none.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool sanitizer_needs_descriptors = true;
#else
constexpr bool sanitizer_needs_descriptors = false;
#endif

/// A served child whose descriptor limit is `nofile` (soft and hard) while it serves `opts`.
served served_with_nofile(serve_options opts, rlim_t nofile) {
  return served{served::body{[opts = std::move(opts), nofile](const auto& ready) mutable {
    rlimit lim{nofile, nofile};
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0)
      throw std::runtime_error("setrlimit");
    auto srv = serve(std::move(opts));
    ready(srv.port());
    srv.stop();
  }}};
}

} // namespace

BOOST_AUTO_TEST_SUITE(front_door)

BOOST_AUTO_TEST_CASE(headers_announcing_huge_messages_close_the_connection_and_cost_no_memory) {
  temp_dir root;
  write_file(root / "f.txt", "still here");
  served server{served_dir(root.path())};
  auto before = status_kib(server.pid(), "VmRSS");
  std::vector<int> fds;
  scoped_fds closing{fds};
  // CAF alone would set each announced size aside at once and keep it while the peer stalls.
  for (std::uint32_t announced : {256u << 20, 256u << 20, 0xffffffffu, 2u << 20}) {
    int fd = raw_connection(server.port());
    auto header = basp_header(announced);
    BOOST_REQUIRE(::write(fd, header.data(), header.size()) == 32);
    BOOST_REQUIRE_MESSAGE(closed_by_server(fd, std::chrono::seconds(10)),
                          "a header announcing " << announced << " bytes was kept");
    fds.push_back(fd);
  }
  auto refused = status_kib(server.pid(), "VmRSS");
  BOOST_TEST(refused < before + 16 * 1024 * memory_scale,
             "RSS " << before << " KiB before, " << refused << " after");
  // Peers still in the handshake may announce 1 MiB each and 64 MiB in all: these stall
  // within it, and are kept.
  auto first_kept = fds.size();
  for (int i = 0; i < 64; ++i) {
    int fd = raw_connection(server.port());
    auto header = basp_header(1u << 20);
    BOOST_REQUIRE(::write(fd, header.data(), header.size()) == 32);
    fds.push_back(fd);
  }
  int over = raw_connection(server.port());
  auto header = basp_header(1u << 20);
  BOOST_REQUIRE(::write(over, header.data(), header.size()) == 32);
  fds.push_back(over);
  // Whichever header the server read last is the one over: that connection alone is closed.
  std::set<int> closed;
  auto count_closed = [&] {
    char buf[4096];
    for (auto i = first_kept; i < fds.size(); ++i)
      for (;;) {
        auto n = ::recv(fds[i], buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
          closed.insert(fds[i]);
        if (n <= 0)
          break;
      }
    return closed.size();
  };
  BOOST_TEST(eventually([&] { return count_closed() >= 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  BOOST_TEST(count_closed() == 1u);
  auto m = connect("127.0.0.1", server.port(), {}, short_timeout());
  BOOST_TEST(m.checksum("f.txt", "sha256").get() == sha256("still here"));
  auto after = status_kib(server.pid(), "VmRSS");
  // The 64 MiB the stalled peers may make it hold, and room for the rest.
  BOOST_TEST(after < before + 100 * 1024 * memory_scale,
             "RSS " << before << " KiB before, " << after << " after");
  BOOST_TEST(server.stop() == 0);
}

BOOST_AUTO_TEST_CASE(a_connection_that_never_handshakes_is_closed_after_the_timeout) {
  temp_dir root;
  auto opts = served_dir(root.path());
  opts.limits.handshake_timeout = std::chrono::milliseconds(300);
  served server{opts};
  auto start = std::chrono::steady_clock::now();
  int fd = raw_connection(server.port());
  BOOST_TEST(closed_by_server(fd, std::chrono::seconds(10)));
  BOOST_TEST((std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(250)));
  ::close(fd);
  // A client that does handshake stays, however long it waits between calls.
  auto m = connect("127.0.0.1", server.port(), {}, short_timeout());
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  BOOST_TEST(m.currently_open().get() == 0u);
}

/// A server as `opts` says, with 40 descriptors and a 1 s handshake timeout, and 80 connections
/// that never say a word: the server does not spin, closes every one (at once past its client
/// limit, after the handshake timeout within it), and serves a real client (with `tls`) after.
/// `opts` names a root holding "f.txt" ("served").
void check_idle_connections_past_the_descriptor_limit(serve_options opts, const tls_options& tls) {
  opts.limits.handshake_timeout = std::chrono::milliseconds(1000);
  auto server = served_with_nofile(opts, 40);
  std::vector<int> idle;
  scoped_fds closing{idle};
  for (int i = 0; i < 80; ++i)
    idle.push_back(raw_connection(server.port()));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto cpu_before = cpu_time(server.pid());
  auto wall_before = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  auto cpu = cpu_time(server.pid()) - cpu_before;
  auto wall = std::chrono::steady_clock::now() - wall_before;
  if (idle_cpu_tells_a_spin)
    BOOST_TEST((cpu * 10 < wall), "the server used " << cpu.count() << " ms of CPU while idle");
  for (int fd : idle)
    BOOST_TEST(closed_by_server(fd, std::chrono::seconds(10)));
  auto m = connect("127.0.0.1", server.port(), tls, short_timeout());
  BOOST_TEST(m.checksum("f.txt", "sha256").get() == sha256("served"));
}

BOOST_AUTO_TEST_CASE(idle_connections_past_the_descriptor_limit_neither_spin_nor_lock_clients_out,
                     *boost::unit_test::enable_if<!sanitizer_needs_descriptors>()) {
  temp_dir root;
  write_file(root / "f.txt", "served");
  // The default client limit, half of 40 descriptors; and one above them, so that accept itself
  // fails with EMFILE.
  for (std::size_t max_clients : {std::size_t{0}, std::size_t{1000}}) {
    BOOST_TEST_CONTEXT("max_clients " << max_clients) {
      auto opts = served_dir(root.path());
      opts.limits.max_clients = max_clients;
      check_idle_connections_past_the_descriptor_limit(opts, {});
    }
  }
}

BOOST_AUTO_TEST_CASE(a_client_past_max_clients_is_refused_and_one_after_is_served) {
  temp_dir root;
  auto opts = served_dir(root.path());
  opts.limits.max_clients = 2;
  served server{opts};
  auto a = connect("127.0.0.1", server.port(), {}, short_timeout());
  auto b = connect("127.0.0.1", server.port(), {}, short_timeout());
  BOOST_TEST(errno_of([&] { connect("127.0.0.1", server.port(), {}, short_timeout()); }) ==
             ECONNREFUSED);
  a = b;
  BOOST_TEST(eventually([&] {
    try {
      connect("127.0.0.1", server.port(), {}, short_timeout());
      return true;
    } catch (const io_error&) {
      return false;
    }
  }));
}

// Not under the sanitizers: too few client processes fit in the time for ~1 KiB each to show
// against their allocators' own growth.
BOOST_AUTO_TEST_CASE(many_short_client_connections_leave_the_servers_memory_where_it_was,
                     *boost::unit_test::enable_if<memory_scale == 1>()) {
  temp_dir root;
  served server{served_dir(root.path())};
  // A process of its own each: CAF names a node by host and process, and keeps state per node.
  auto connect_once = [&] {
    auto pid = ::fork();
    BOOST_REQUIRE(pid >= 0);
    if (pid == 0) {
      try {
        connect("127.0.0.1", server.port(), {}, short_timeout());
        ::_exit(0);
      } catch (...) {
        ::_exit(1);
      }
    }
    int st = 0;
    ::waitpid(pid, &st, 0);
    BOOST_REQUIRE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  };
  // Warms the server's allocator up: its first clients cost it memory it keeps for reuse.
  for (int i = 0; i < 50; ++i)
    connect_once();
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  auto before = status_kib(server.pid(), "RssAnon");
  // As many as fit in a few seconds (fewer under the sanitizers): a leak of ~1 KiB each, as CAF's
  // per-node helper actors cost when kept, shows.
  int n = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(8);
  for (; n < 1000 && std::chrono::steady_clock::now() < until; ++n)
    connect_once();
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  auto after = status_kib(server.pid(), "RssAnon");
  BOOST_TEST_MESSAGE(n << " connections: RssAnon " << before << " KiB -> " << after << " KiB");
  BOOST_TEST(n >= 200);
  BOOST_TEST(after <= before + n / 4 + 64,
             n << " connections: RssAnon " << before << " KiB -> " << after << " KiB");
}

// The same protections with TLS: actorio's doorman and its TLS scribe in front of CAF.

BOOST_AUTO_TEST_CASE(a_tls_client_past_max_clients_is_refused_and_one_after_is_served) {
  temp_dir root;
  temp_dir certs_dir;
  certificates certs{certs_dir.path()};
  auto opts = served_dir(root.path());
  opts.tls = certs.tls("server");
  opts.limits.max_clients = 2;
  served server{opts};
  auto a = connect("127.0.0.1", server.port(), certs.tls("client"), short_timeout());
  auto b = connect("127.0.0.1", server.port(), certs.tls("client"), short_timeout());
  BOOST_TEST(errno_of([&] {
               connect("127.0.0.1", server.port(), certs.tls("client"), short_timeout());
             }) == ECONNREFUSED);
  a = b;
  BOOST_TEST(eventually([&] {
    try {
      connect("127.0.0.1", server.port(), certs.tls("client"), short_timeout());
      return true;
    } catch (const io_error&) {
      return false;
    }
  }));
}

BOOST_AUTO_TEST_CASE(tls_connections_that_never_complete_both_handshakes_are_closed_in_time) {
  temp_dir root;
  temp_dir certs_dir;
  certificates certs{certs_dir.path()};
  auto opts = served_dir(root.path());
  opts.tls = certs.tls("server");
  opts.limits.handshake_timeout = std::chrono::milliseconds(300);
  served server{opts};
  // A TCP peer that never starts TLS.
  auto start = std::chrono::steady_clock::now();
  int fd = raw_connection(server.port());
  BOOST_TEST(closed_by_server(fd, std::chrono::seconds(5)));
  BOOST_TEST((std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(250)));
  ::close(fd);
  // A peer that completes the TLS handshake (with a good certificate) and says nothing after.
  auto tls = certs.tls("client");
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_client_method()),
                                                        &SSL_CTX_free};
  BOOST_REQUIRE(SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert.c_str()) == 1);
  BOOST_REQUIRE(SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key.c_str(), SSL_FILETYPE_PEM) == 1);
  fd = raw_connection(server.port());
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl{SSL_new(ctx.get()), &SSL_free};
  SSL_set_fd(ssl.get(), fd);
  start = std::chrono::steady_clock::now();
  BOOST_REQUIRE(SSL_connect(ssl.get()) == 1);
  BOOST_TEST(closed_by_server(fd, std::chrono::seconds(5)));
  BOOST_TEST((std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(250)));
  ::close(fd);
  // A client that does handshake stays, however long it waits between calls.
  auto m = connect("127.0.0.1", server.port(), certs.tls("client"), short_timeout());
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  BOOST_TEST(m.currently_open().get() == 0u);
}

BOOST_AUTO_TEST_CASE(a_tls_peer_announcing_a_huge_message_is_closed_at_once) {
  // Vetted once decrypted: CAF alone sets the announced size aside and waits for it.
  temp_dir root;
  temp_dir certs_dir;
  certificates certs{certs_dir.path()};
  write_file(root / "f.txt", "still here");
  auto opts = served_dir(root.path());
  opts.tls = certs.tls("server");
  served server{opts};
  auto tls = certs.tls("client");
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_client_method()),
                                                        &SSL_CTX_free};
  BOOST_REQUIRE(SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert.c_str()) == 1);
  BOOST_REQUIRE(SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key.c_str(), SSL_FILETYPE_PEM) == 1);
  int fd = raw_connection(server.port());
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl{SSL_new(ctx.get()), &SSL_free};
  SSL_set_fd(ssl.get(), fd);
  BOOST_REQUIRE(SSL_connect(ssl.get()) == 1);
  auto header = basp_header(256u << 20);
  BOOST_REQUIRE(SSL_write(ssl.get(), header.data(), static_cast<int>(header.size())) == 32);
  // Well within the handshake timeout (10 s).
  BOOST_TEST(closed_by_server(fd, std::chrono::seconds(3)));
  ::close(fd);
  auto m = connect("127.0.0.1", server.port(), tls, short_timeout());
  BOOST_TEST(m.checksum("f.txt", "sha256").get() == sha256("still here"));
}

BOOST_AUTO_TEST_CASE(idle_tls_connections_past_the_descriptor_limit_neither_spin_nor_lock_out,
                     *boost::unit_test::enable_if<!sanitizer_needs_descriptors>()) {
  temp_dir root;
  temp_dir certs_dir;
  certificates certs{certs_dir.path()};
  write_file(root / "f.txt", "served");
  // Above the descriptors, so that accept itself fails with EMFILE.
  auto opts = served_dir(root.path());
  opts.tls = certs.tls("server");
  opts.limits.max_clients = 1000;
  check_idle_connections_past_the_descriptor_limit(opts, certs.tls("client"));
}

BOOST_AUTO_TEST_SUITE_END()
