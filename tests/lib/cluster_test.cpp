#define BOOST_TEST_MODULE cluster
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <fstream>
#include <future>
#include <limits>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "actorio/cluster.hpp"
#include "actorio/io_error.hpp"
#include "support/bulk_calls.hpp"
#include "support/describe.hpp"
#include "support/files.hpp"
#include "support/ports.hpp"
#include "support/served.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace actorio;
using namespace actorio::test;

namespace {

serve_options served_dir(const fs::path& root) {
  serve_options o;
  o.root = root;
  return o;
}

/// `opts` that also append each client node's name to `log` as it connects.
serve_options logging_connections(serve_options opts, const fs::path& log) {
  opts.on_connect = [log](const std::string& node) {
    std::ofstream{log, std::ios::app} << node << '\n';
  };
  return opts;
}

/// The client nodes a server logged with logging_connections.
std::size_t connections_in(const fs::path& log) {
  std::ifstream in{log};
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);)
    ++n;
  return n;
}

endpoint local(std::uint16_t port, tls_options tls = {}) {
  return endpoint{"127.0.0.1", port, std::move(tls)};
}

std::string name_of(std::uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

/// File name -> sha256, as coreutils' sha256sum computes them in `root`.
std::map<std::string, std::string> sha256sum_in(const fs::path& root,
                                                const std::vector<std::string>& names) {
  std::string cmd = "cd '" + root.string() + "' && sha256sum";
  for (const auto& n : names)
    cmd += " '" + n + "'";
  std::istringstream out{run_command(cmd)};
  std::map<std::string, std::string> sums;
  std::string hex, name;
  while (out >> hex >> name)
    sums[name] = hex;
  return sums;
}

/// A different small tree per node: `seed` changes every byte.
std::vector<std::string> fill(const fs::path& root, int seed) {
  std::vector<std::string> names{"a.txt", "b.bin", "c.txt"};
  write_file(root / "a.txt", "node " + std::to_string(seed) + "\n");
  std::string data(100000, '\0');
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>(i * (seed + 3) + i / 7);
  write_file(root / "b.bin", data);
  write_file(root / "c.txt", std::string(static_cast<std::size_t>(seed) * 10, 'c') + "needle");
  return names;
}

std::vector<fs::path> as_paths(const std::vector<std::string>& names) {
  return {names.begin(), names.end()};
}

/// Progress options that make `reached` ready once a report satisfies `when`.
struct watch {
  std::shared_ptr<std::promise<void>> promise = std::make_shared<std::promise<void>>();
  std::future<void> reached = promise->get_future();
  bulk_options opts;

  explicit watch(std::function<bool(const progress&)> when) {
    opts.progress_interval = std::chrono::milliseconds(10);
    opts.on_progress = [promise = promise, when = std::move(when),
                        once = std::make_shared<std::atomic<bool>>(false)](const progress& p) {
      if (when(p) && !once->exchange(true))
        promise->set_value();
    };
  }
};

/// Copy options that verify and move the file in 64 KiB chunks, two in flight: a file of a few MiB
/// crosses in many pieces.
node_copy_options verified_in_small_chunks() {
  node_copy_options o;
  o.verify = true;
  o.chunk_bytes = 64 << 10;
  o.window = 2;
  return o;
}

/// Progress options that keep the latest report (`get()`), reporting as often as they can.
struct last_report {
  std::mutex lock;
  progress last;
  bulk_options opts;

  last_report() {
    opts.progress_interval = std::chrono::milliseconds(0);
    opts.on_progress = [this](const progress& x) {
      std::lock_guard<std::mutex> guard{lock};
      last = x;
    };
  }
  last_report(const last_report&) = delete;
  last_report& operator=(const last_report&) = delete;

  progress get() {
    std::lock_guard<std::mutex> guard{lock};
    return last;
  }
};

/// `last` is the final report of a call of one item of `size` bytes.
void check_last_of_one_item(const progress& last, std::uint64_t size) {
  BOOST_TEST(last.bytes_done == size);
  BOOST_TEST(last.bytes_total == size);
  BOOST_TEST(last.items_done == 1u);
}

/// A served root forked now (before the test has threads of its own) that listens on `port` only
/// once `start()` is called: a node that comes up after a cluster found it down.
class late_server {
public:
  late_server(const fs::path& root, std::uint16_t port) {
    int go[2];
    int up[2];
    if (::pipe(go) != 0 || ::pipe(up) != 0)
      throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(go[1]);
      ::close(up[0]);
      char c;
      if (::read(go[0], &c, 1) != 1)
        ::_exit(0);
      try {
        auto opts = served_dir(root);
        opts.port = port;
        auto srv = serve(opts);
        (void)!::write(up[1], &c, 1);
        (void)!::read(go[0], &c, 1); // until the test closes its end
        srv.stop();
        ::_exit(0);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "late server: %s\n", e.what());
        ::_exit(1);
      }
    }
    ::close(go[0]);
    ::close(up[1]);
    go_ = go[1];
    up_ = up[0];
  }

  late_server(const late_server&) = delete;
  late_server& operator=(const late_server&) = delete;

  /// Returns once the server listens.
  void start() {
    char c = 'x';
    (void)!::write(go_, &c, 1);
    if (::read(up_, &c, 1) != 1)
      throw std::runtime_error("the late server did not start");
  }

  ~late_server() {
    ::close(go_);
    ::close(up_);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }

private:
  pid_t pid_ = -1;
  int go_ = -1;
  int up_ = -1;
};

} // namespace

BOOST_AUTO_TEST_SUITE(cluster_of_served_nodes)

BOOST_AUTO_TEST_CASE(each_node_answers_for_itself_while_one_is_down_and_one_dies_mid_call) {
  temp_dir roots[3];
  std::vector<std::string> names[3];
  for (int i = 0; i < 3; ++i)
    names[i] = fill(roots[i].path(), i + 1);
  // Node 1 also holds a sparse file that takes seconds to hash: it is killed while hashing it.
  constexpr std::uint64_t big = std::uint64_t{16} << 30;
  { std::ofstream f(roots[1] / "big.bin"); }
  fs::resize_file(roots[1] / "big.bin", big);
  temp_dir certs_dir;
  certificates certs{certs_dir.path()};
  auto tls_opts = served_dir(roots[2].path());
  tls_opts.tls = certs.tls("server");
  served plain0{served_dir(roots[0].path())};
  served plain1{served_dir(roots[1].path())};
  served tls2{tls_opts};
  auto nothing = unused_port();
  cluster c{{local(plain0.port()), local(plain1.port()), local(tls2.port(), certs.tls("client")),
             local(nothing)}};
  BOOST_TEST(c.nodes().size() == 4u);

  // Every node is asked for the three files, node 1 for big.bin too (absent elsewhere: ENOENT).
  auto paths = as_paths(names[0]);
  paths.emplace_back("big.bin");
  // Node 1 has started on big.bin once the summed total holds it and more than the small files
  // are done.
  watch killed_when{
    [&](const progress& p) { return p.bytes_total >= big && p.bytes_done > 1u << 20; }};
  auto op = c.bulk_checksum(paths, "sha256", killed_when.opts);
  BOOST_REQUIRE(killed_when.reached.wait_for(std::chrono::seconds(60)) ==
                std::future_status::ready);
  plain1.kill();
  auto sums = op.get();

  BOOST_REQUIRE(sums.size() == 4u);
  for (int i : {0, 2}) {
    auto node = name_of(i == 0 ? plain0.port() : tls2.port());
    const auto& got = sums.at(node);
    auto expected = sha256sum_in(roots[i].path(), names[i]);
    BOOST_TEST(got.size() == 4u);
    for (const auto& [name, hex] : expected) {
      const auto& r = got.at(name);
      BOOST_TEST_REQUIRE(r.ok(), node << " " << name << ": " << why(r));
      BOOST_TEST(*r == hex, node << " " << name);
    }
    BOOST_TEST(!got.at("big.bin").ok());
    BOOST_TEST(got.at("big.bin").error().code == ENOENT);
  }
  // The killed node: its items that were not done yet failed with ECONNRESET; none is missing.
  const auto& dead = sums.at(name_of(plain1.port()));
  BOOST_TEST(dead.size() == 4u);
  BOOST_TEST_REQUIRE(!dead.at("big.bin").ok());
  BOOST_TEST(dead.at("big.bin").error().code == ECONNRESET, why(dead.at("big.bin")));
  BOOST_TEST(dead.at("big.bin").error().detail.find(name_of(plain1.port())) != std::string::npos);
  // Nothing listening: every item is ECONNREFUSED, as `connect` reports.
  const auto& down = sums.at(name_of(nothing));
  BOOST_TEST(down.size() == 4u);
  for (const auto& [path, r] : down) {
    BOOST_TEST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().code == ECONNREFUSED, path << ": " << why(r));
    BOOST_TEST(r.error().op == "connect");
    BOOST_TEST(r.error().path == path.string());
  }

  // The next call connects again: the killed node is now refused, the others still answer.
  auto again = c.bulk_checksum(as_paths(names[0]), "sha256").get();
  BOOST_TEST(again.at(name_of(plain1.port())).at("a.txt").error().code == ECONNREFUSED);
  BOOST_TEST(*again.at(name_of(tls2.port())).at("a.txt") ==
             sha256sum_in(roots[2].path(), {"a.txt"}).at("a.txt"));
}

BOOST_AUTO_TEST_CASE(a_node_that_comes_up_later_is_connected_on_the_next_call) {
  temp_dir root;
  auto names = fill(root.path(), 5);
  auto port = unused_port();
  late_server server{root.path(), port};
  cluster c{{local(port)}};
  auto first = c.bulk_checksum(as_paths(names)).get();
  BOOST_TEST(first.at(name_of(port)).at("a.txt").error().code == ECONNREFUSED);
  server.start();
  auto second = c.bulk_checksum(as_paths(names), "sha256").get();
  auto expected = sha256sum_in(root.path(), names);
  for (const auto& [name, hex] : expected) {
    const auto& r = second.at(name_of(port)).at(name);
    BOOST_TEST_REQUIRE(r.ok(), name << ": " << why(r));
    BOOST_TEST(*r == hex);
  }
}

BOOST_AUTO_TEST_CASE(bulk_calls_return_every_nodes_results_keyed_by_node_and_path) {
  temp_dir roots[2];
  std::vector<std::string> names[2];
  for (int i = 0; i < 2; ++i) {
    names[i] = fill(roots[i].path(), i + 1);
    fs::create_directory(roots[i] / "sub");
    write_file(roots[i] / "sub" / "z.txt", std::string("zero\0\0\0", 7));
  }
  served s0{served_dir(roots[0].path())};
  served s1{served_dir(roots[1].path())};
  cluster c{{local(s0.port()), local(s1.port())}};
  auto n0 = name_of(s0.port());
  auto n1 = name_of(s1.port());

  auto hits = c.find_in_files("needle", {{"a.txt", 0}, {"c.txt", 0}, {"missing", 0}}).get();
  for (auto [node, seed] : {std::pair{n0, 1}, std::pair{n1, 2}}) {
    // No hit in a.txt: left out; the missing file keeps its error.
    BOOST_TEST(hits.at(node).count("a.txt") == 0u);
    BOOST_TEST(*hits.at(node).at("c.txt") == std::vector<std::uint64_t>{std::uint64_t(seed) * 10});
    BOOST_TEST(hits.at(node).at("missing").error().code == ENOENT);
  }

  auto read =
    c.bulk_read({{"a.txt", std::nullopt}, {"b.bin", std::vector<byte_range>{{5, 3}}}}).get();
  for (int i = 0; i < 2; ++i) {
    const auto& got = read.at(i == 0 ? n0 : n1);
    auto a = *got.at("a.txt");
    BOOST_TEST(std::string(a[0].begin(), a[0].end()) == read_file(roots[i] / "a.txt"));
    auto b = *got.at("b.bin");
    BOOST_TEST(std::string(b[0].begin(), b[0].end()) == read_file(roots[i] / "b.bin").substr(5, 3));
  }

  walk_options small_pages;
  small_pages.page_size = 2;
  auto tree = c.walk(".", small_pages).get();
  for (const auto& node : {n0, n1}) {
    BOOST_TEST_REQUIRE(tree.at(node).ok(), why(tree.at(node)));
    BOOST_TEST(tree.at(node)->files ==
                 (std::vector<std::string>{"./a.txt", "./b.bin", "./c.txt", "./sub/z.txt"}),
               boost::test_tools::per_element());
    BOOST_TEST(tree.at(node)->done);
  }

  {
    auto maps = c.prefetch_files({"a.txt", "missing"}).get();
    for (const auto& node : {n0, n1}) {
      const auto& files = maps.at(node).files;
      BOOST_TEST_REQUIRE(files.size() == 2u);
      BOOST_TEST(files[0].second.ok());
      BOOST_TEST(files[1].second.error().code == ENOENT);
    }
  }

  auto compacted = c.compact_files({"sub/z.txt"}).get();
  for (int i = 0; i < 2; ++i) {
    const auto& r = compacted.at(i == 0 ? n0 : n1).at("sub/z.txt");
    BOOST_TEST_REQUIRE(r.ok(), why(r));
    BOOST_TEST(r->old_size == 7u);
    BOOST_TEST(r->new_size == 4u);
    BOOST_TEST(fs::file_size(roots[i] / "sub" / "z.txt") == 4u);
  }

  // A list per node: each node is asked only for its own paths.
  using lists = cluster::per_node<std::vector<fs::path>>;
  auto own = c.bulk_checksum(lists{{n0, {"a.txt"}}, {n1, {"b.bin", "c.txt"}}}, "sha256").get();
  BOOST_TEST(own.at(n0).size() == 1u);
  BOOST_TEST(own.at(n1).size() == 2u);
  BOOST_TEST(*own.at(n1).at("c.txt") == sha256sum_in(roots[1].path(), {"c.txt"}).at("c.txt"));
  BOOST_TEST(errno_of([&] { c.bulk_checksum(lists{{"elsewhere:1", {"a.txt"}}}).get(); }) == EINVAL);
}

BOOST_AUTO_TEST_CASE(progress_adds_up_over_nodes) {
  temp_dir roots[2];
  for (int i = 0; i < 2; ++i)
    fill(roots[i].path(), i + 1);
  served s0{served_dir(roots[0].path())};
  served s1{served_dir(roots[1].path())};
  cluster c{{local(s0.port()), local(s1.port())}};
  std::mutex lock;
  progress last;
  bulk_options opts;
  opts.progress_interval = std::chrono::milliseconds(1);
  opts.on_progress = [&](const progress& p) {
    std::lock_guard<std::mutex> guard{lock};
    last = p;
  };
  c.bulk_checksum({"a.txt", "b.bin", "c.txt"}, "sha256", opts).get();
  std::uint64_t total = 0;
  for (int i = 0; i < 2; ++i)
    for (auto name : {"a.txt", "b.bin", "c.txt"})
      total += fs::file_size(roots[i] / name);
  std::lock_guard<std::mutex> guard{lock};
  BOOST_TEST(last.bytes_total == total);
  BOOST_TEST(last.bytes_done == total);
  BOOST_TEST(last.items_total == 6u);
  BOOST_TEST(last.items_done == 6u);
}

BOOST_AUTO_TEST_CASE(cancel_stops_every_nodes_part) {
  temp_dir roots[2];
  constexpr std::uint64_t big = std::uint64_t{16} << 30;
  for (auto& r : roots) {
    { std::ofstream f(r / "big.bin"); }
    fs::resize_file(r / "big.bin", big);
    write_file(r / "small.txt", "small");
  }
  served s0{served_dir(roots[0].path())};
  served s1{served_dir(roots[1].path())};
  cluster c{{local(s0.port()), local(s1.port())}};
  // Both nodes have reported their totals and started.
  watch started{[&](const progress& p) { return p.bytes_total == 2 * big && p.bytes_done > 0; }};
  auto op = c.bulk_checksum({"big.bin"}, "sha512", started.opts);
  BOOST_REQUIRE(started.reached.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  auto cancelled_at = std::chrono::steady_clock::now();
  op.cancel();
  BOOST_TEST(errno_of([&] { op.get(); }) == ECANCELED);
  // Far less than hashing 32 GiB takes: the nodes stopped.
  BOOST_TEST((std::chrono::steady_clock::now() - cancelled_at < std::chrono::seconds(5)));
  // The nodes are free again at once.
  auto after = c.bulk_checksum({"small.txt"}, "sha256").get();
  for (const auto& [node, sums] : after)
    BOOST_TEST(*sums.at("small.txt") ==
               sha256sum_in(roots[0].path(), {"small.txt"}).at("small.txt"));
}

BOOST_AUTO_TEST_CASE(a_node_that_accepts_and_never_answers_is_etimedout_and_the_others_answer) {
  temp_dir root;
  auto names = fill(root.path(), 4);
  served server{served_dir(root.path())};
  // Listens (the kernel completes the TCP handshake) and never reads a byte.
  int silent = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::bind(silent, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  BOOST_REQUIRE(::listen(silent, 4) == 0);
  socklen_t len = sizeof a;
  ::getsockname(silent, reinterpret_cast<sockaddr*>(&a), &len);
  auto silent_port = ntohs(a.sin_port);
  connect_options opts;
  opts.timeout = std::chrono::milliseconds(300);
  cluster c{{local(silent_port), local(server.port())}, opts};
  auto sums = c.bulk_checksum(as_paths(names), "sha256").get();
  for (const auto& [path, r] : sums.at(name_of(silent_port))) {
    BOOST_TEST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().code == ETIMEDOUT, path << ": " << why(r));
  }
  auto expected = sha256sum_in(root.path(), names);
  for (const auto& [name, hex] : expected)
    BOOST_TEST(*sums.at(name_of(server.port())).at(name) == hex);
  ::close(silent);
}

/// SIGSTOPs a served process for as long as it lives; SIGCONT at the end. Returns once every
/// thread of it has stopped: kill() only queues the stop, and a thread busy in the kernel (a
/// reply being sent) finishes that first.
class stopped {
public:
  explicit stopped(pid_t pid)
    : pid_(pid) {
    ::kill(pid_, SIGSTOP);
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!all_threads_stopped() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stopped(const stopped&) = delete;
  stopped& operator=(const stopped&) = delete;
  ~stopped() {
    resume();
  }
  void resume() {
    if (pid_ > 0)
      ::kill(std::exchange(pid_, -1), SIGCONT);
  }

private:
  bool all_threads_stopped() const {
    auto tasks = fs::path{"/proc"} / std::to_string(pid_) / "task";
    std::error_code ec;
    for (const auto& task : fs::directory_iterator(tasks, ec)) {
      std::ifstream in(task.path() / "stat");
      std::string line;
      std::getline(in, line);
      // "pid (comm) S ...": the state follows the last ')'.
      auto close = line.rfind(')');
      if (close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'T')
        return false;
    }
    return !ec;
  }

  pid_t pid_;
};

BOOST_AUTO_TEST_CASE(a_stopped_node_misses_its_deadline_with_etimedout_and_the_others_answer) {
  temp_dir roots[2];
  std::vector<std::string> names[2];
  for (int i = 0; i < 2; ++i)
    names[i] = fill(roots[i].path(), i + 5);
  served s0{served_dir(roots[0].path())};
  served s1{served_dir(roots[1].path())};
  cluster_options opts;
  opts.deadline = std::chrono::milliseconds(500);
  cluster c{{local(s0.port()), local(s1.port())}, opts};
  // Connected and answering first: the node goes silent on a connection that stays up.
  c.bulk_checksum(as_paths(names[0]), "sha256").get();
  stopped frozen{s0.pid()};
  auto sums = c.bulk_checksum(as_paths(names[0]), "sha256").get();
  for (const auto& [path, r] : sums.at(name_of(s0.port()))) {
    BOOST_TEST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().code == ETIMEDOUT, path << ": " << why(r));
    BOOST_TEST(why(r).find(name_of(s0.port())) != std::string::npos, why(r));
  }
  auto expected = sha256sum_in(roots[1].path(), names[1]);
  for (const auto& [name, hex] : expected)
    BOOST_TEST(*sums.at(name_of(s1.port())).at(name) == hex);
  // Awake again, the node is connected anew on the next call and answers.
  frozen.resume();
  auto again = c.bulk_checksum(as_paths(names[0]), "sha256").get();
  expected = sha256sum_in(roots[0].path(), names[0]);
  for (const auto& [name, hex] : expected)
    BOOST_TEST(*again.at(name_of(s0.port())).at(name) == hex);
}

BOOST_AUTO_TEST_CASE(cancel_returns_at_once_while_a_node_is_stopped) {
  temp_dir roots[2];
  for (int i = 0; i < 2; ++i)
    fill(roots[i].path(), i + 1);
  served s0{served_dir(roots[0].path())};
  served s1{served_dir(roots[1].path())};
  cluster_options opts;
  opts.deadline = std::chrono::seconds(60);
  cluster c{{local(s0.port()), local(s1.port())}, opts};
  c.bulk_checksum(std::vector<fs::path>{"a.txt"}, "sha256").get();
  stopped frozen{s0.pid()};
  auto op = c.bulk_checksum(std::vector<fs::path>{"a.txt", "b.bin"}, "sha256");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto cancelled_at = std::chrono::steady_clock::now();
  op.cancel();
  BOOST_TEST(errno_of([&] { op.get(); }) == ECANCELED);
  BOOST_TEST((std::chrono::steady_clock::now() - cancelled_at < std::chrono::seconds(5)));
}

BOOST_AUTO_TEST_CASE(a_cluster_without_nodes_or_with_a_node_twice_is_einval) {
  BOOST_TEST(errno_of([] { cluster c{{}}; }) == EINVAL);
  BOOST_TEST(errno_of([] { cluster c{{local(1), local(1)}}; }) == EINVAL);
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

/// Every name in `dir`, hidden ones (temporaries) included.
std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    out.insert(e.path().filename().string());
  return out;
}

/// `n` bytes that differ everywhere from a run of zeros or a shifted copy.
std::string pattern_bytes(std::size_t n, unsigned seed) {
  std::string data(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : data) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return data;
}

/// A sparse file of `size` bytes: no disk, but every byte crosses the network when copied.
void sparse_file(const fs::path& p, std::uint64_t size) {
  { std::ofstream f(p); }
  fs::resize_file(p, size);
}

} // namespace

BOOST_AUTO_TEST_SUITE(copies_between_nodes)

BOOST_AUTO_TEST_CASE(a_copy_between_a_plain_and_a_tls_node_in_small_chunks_is_byte_identical) {
  temp_dir roots[2];
  // Larger than chunk x window many times over: the copy streams it in bounded pieces.
  auto data = pattern_bytes((std::size_t{3} << 20) + 123, 7);
  write_file(roots[0] / "src.bin", data);
  fs::create_directory(roots[1] / "d");
  write_file(roots[1] / "d" / "old.bin", "old content");
  temp_dir certs_dir;
  certificates certs{certs_dir.path()};
  auto tls_opts = served_dir(roots[1].path());
  tls_opts.tls = certs.tls("server");
  served plain{served_dir(roots[0].path())};
  served tls{tls_opts};
  auto a = name_of(plain.port());
  auto b = name_of(tls.port());
  cluster c{{local(plain.port()), local(tls.port(), certs.tls("client"))}};
  auto o = verified_in_small_chunks();
  last_report last;
  BOOST_TEST(c.copy(a, "src.bin", b, "d/new.bin", o, last.opts).get() == data.size());
  BOOST_TEST((read_file(roots[1] / "d" / "new.bin") == data));
  BOOST_TEST(sha256sum_in(roots[1] / "d", {"new.bin"}).at("new.bin") ==
             sha256sum_in(roots[0].path(), {"src.bin"}).at("src.bin"));
  check_last_of_one_item(last.get(), data.size());
  // Back the other way, flushed, over an existing file, which is replaced; and an empty file.
  o.flush = true;
  BOOST_TEST(c.copy(b, "d/old.bin", a, "src.bin", o).get() == 11u);
  BOOST_TEST(read_file(roots[0] / "src.bin") == "old content");
  write_file(roots[0] / "empty", "");
  BOOST_TEST(c.copy(a, "empty", b, "d/empty", o).get() == 0u);
  BOOST_TEST(fs::file_size(roots[1] / "d" / "empty") == 0u);
  // Nothing but the files themselves: no temporary left.
  BOOST_TEST((names_in(roots[1] / "d") == std::set<std::string>{"empty", "new.bin", "old.bin"}));
  BOOST_TEST((names_in(roots[0].path()) == std::set<std::string>{"empty", "src.bin"}));
}

/// Peak resident set of process `pid` in KiB (VmHWM), after `reset` set it to the current RSS.
std::uint64_t peak_kib_of(pid_t pid, bool reset = false) {
  auto dir = "/proc/" + std::to_string(pid);
  if (reset) {
    std::ofstream out(dir + "/clear_refs");
    out << "5";
  }
  std::ifstream in(dir + "/status");
  std::string key;
  while (in >> key) {
    if (key == "VmHWM:") {
      std::uint64_t kib = 0;
      in >> kib;
      return kib;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

// Under a sanitizer the peak is not the program's: ASan's quarantine keeps up to 256 MiB of freed
// blocks resident (chunks of a copy among them), and TSan's shadow memory grows with what is
// touched. The copies still run and are checked.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool peak_rss_is_the_programs = false;
#else
constexpr bool peak_rss_is_the_programs = true;
#endif

constexpr std::uint64_t copied_size = std::uint64_t{256} << 20;

/// Copies a sparse file of `copied_size` bytes between two served nodes with `how` and
/// `progress`, the destination pulling it (`pulled`) or not, checks the copy, and returns how far
/// the peak RSS of each process rose meanwhile, in KiB: this one, the source's, the destination's.
std::array<std::uint64_t, 3> peak_rises_of_a_copy(const node_copy_options& how,
                                                  const bulk_options& progress = {},
                                                  bool pulled = false) {
  temp_dir roots[2];
  sparse_file(roots[0] / "big.bin", copied_size);
  served s0{served_dir(roots[0].path())};
  auto pulling = served_dir(roots[1].path());
  if (pulled)
    pulling.pull_from = {name_of(s0.port())};
  served s1{pulling};
  cluster c{{local(s0.port()), local(s1.port())}};
  // Connected and warm before the peaks are reset.
  c.bulk_checksum(std::vector<fs::path>{"big.bin"}, "xxh64").get();
  pid_t pids[3] = {::getpid(), s0.pid(), s1.pid()};
  std::array<std::uint64_t, 3> before{};
  for (int i = 0; i < 3; ++i)
    before[i] = peak_kib_of(pids[i], true);
  BOOST_TEST(
    c.copy(name_of(s0.port()), "big.bin", name_of(s1.port()), "copy.bin", how, progress).get() ==
    copied_size);
  BOOST_TEST(fs::file_size(roots[1] / "copy.bin") == copied_size);
  std::array<std::uint64_t, 3> rises{};
  for (int i = 0; i < 3; ++i) {
    rises[i] = peak_kib_of(pids[i]) - before[i];
    BOOST_TEST_MESSAGE("process " << i << ": peak RSS rose by " << rises[i] << " KiB");
  }
  return rises;
}

BOOST_AUTO_TEST_CASE(a_copy_holds_a_bounded_part_of_the_file_in_every_process) {
  node_copy_options o;
  o.chunk_bytes = 1 << 20;
  o.window = 2;
  auto rises = peak_rises_of_a_copy(o);
  // A quarter of the file at most in any process (4 chunks in flight are 4 MiB).
  for (int i = 0; i < 3; ++i)
    if (peak_rss_is_the_programs)
      BOOST_TEST(rises[i] < copied_size / 4 / 1024, "process " << i);
}

/// A copy with the default options, pulled by the destination or not: the first report carries the
/// size, and no process grows by more than 24 MiB.
void check_a_copy_with_the_default_options(bool pulled) {
  std::uint64_t first_total = 0;
  std::uint64_t first_done = 1;
  bulk_options p;
  p.on_progress = [&, seen = false](const progress& x) mutable {
    // Reports come one at a time, from the copy's thread.
    if (!std::exchange(seen, true)) {
      first_total = x.bytes_total;
      first_done = x.bytes_done;
    }
  };
  auto rises = peak_rises_of_a_copy({}, p, pulled);
  // The size is reported before any byte is written: a progress bar shows a percentage at once.
  BOOST_TEST(first_total == copied_size);
  BOOST_TEST(first_done == 0u);
  // With a process starting at about 15 MiB, this keeps each under 64 MiB for any file size.
  for (int i = 0; i < 3; ++i)
    if (peak_rss_is_the_programs)
      BOOST_TEST(rises[i] < 24u << 10, "process " << i);
}

BOOST_AUTO_TEST_CASE(a_copy_with_the_default_options_keeps_every_process_small) {
  check_a_copy_with_the_default_options(false);
}

BOOST_AUTO_TEST_CASE(a_pulled_copy_with_the_default_options_keeps_every_process_small) {
  check_a_copy_with_the_default_options(true);
}

/// A 1 GiB copy between two served nodes, the destination pulling it itself (`pulled`) or not,
/// with the source (`kill_source`) or the destination killed once 8 MiB are across: the copy
/// fails naming the dead node, and the destination's directory holds neither the file nor a
/// temporary.
void check_a_node_killed_mid_copy(bool kill_source, bool pulled) {
  temp_dir roots[2];
  sparse_file(roots[0] / "big.bin", std::uint64_t{1} << 30);
  temp_dir logs;
  served s0{logging_connections(served_dir(roots[0].path()), logs / "s0")};
  auto pulling = served_dir(roots[1].path());
  if (pulled)
    pulling.pull_from = {name_of(s0.port())};
  served s1{pulling};
  cluster c{{local(s0.port()), local(s1.port())}};
  watch started{[](const progress& p) { return p.bytes_done >= (std::uint64_t{8} << 20); }};
  node_copy_options o;
  o.chunk_bytes = 1 << 20;
  o.window = 2;
  started.opts.progress_interval = std::chrono::milliseconds(0);
  auto op = c.copy(name_of(s0.port()), "big.bin", name_of(s1.port()), "copy.bin", o, started.opts);
  BOOST_REQUIRE(started.reached.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  // A pulling destination is the source's second client.
  BOOST_TEST(connections_in(logs / "s0") == (pulled ? 2u : 1u));
  auto& dead = kill_source ? s0 : s1;
  dead.kill();
  try {
    op.get();
    BOOST_FAIL("the copy succeeded");
  } catch (const io_error& e) {
    BOOST_TEST((e.code().value() == ECONNRESET || e.code().value() == ETIMEDOUT), e.what());
    BOOST_TEST(std::string{e.what()}.find(name_of(dead.port())) != std::string::npos, e.what());
  }
  BOOST_TEST(names_in(roots[1].path()).empty());
}

BOOST_AUTO_TEST_CASE(a_destination_killed_mid_copy_leaves_no_file_and_no_temporary) {
  check_a_node_killed_mid_copy(false, false);
}

BOOST_AUTO_TEST_CASE(a_source_killed_mid_copy_leaves_nothing_at_the_destination) {
  check_a_node_killed_mid_copy(true, false);
}

BOOST_AUTO_TEST_CASE(a_destination_killed_mid_pull_leaves_no_file_and_no_temporary) {
  check_a_node_killed_mid_copy(false, true);
}

BOOST_AUTO_TEST_CASE(a_source_killed_mid_pull_leaves_nothing_at_the_destination) {
  check_a_node_killed_mid_copy(true, true);
}

/// A 1 GiB copy between two served nodes, pulled by the destination or not, cancelled once it
/// started: ECANCELED, nothing at the destination, and both nodes usable at once.
void check_a_cancelled_copy(bool pulled) {
  temp_dir roots[2];
  sparse_file(roots[0] / "big.bin", std::uint64_t{1} << 30);
  temp_dir logs;
  served s0{logging_connections(served_dir(roots[0].path()), logs / "s0")};
  auto pulling = served_dir(roots[1].path());
  if (pulled)
    pulling.pull_from = {name_of(s0.port())};
  served s1{pulling};
  cluster c{{local(s0.port()), local(s1.port())}};
  watch started{[](const progress& p) { return p.bytes_done > 0; }};
  started.opts.progress_interval = std::chrono::milliseconds(0);
  node_copy_options o;
  o.chunk_bytes = 1 << 20;
  auto op = c.copy(name_of(s0.port()), "big.bin", name_of(s1.port()), "copy.bin", o, started.opts);
  BOOST_REQUIRE(started.reached.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  BOOST_TEST(connections_in(logs / "s0") == (pulled ? 2u : 1u));
  op.cancel();
  BOOST_TEST(errno_of([&] { op.get(); }) == ECANCELED);
  // The discard is answered before the copy fails; the listing follows it.
  BOOST_TEST(names_in(roots[1].path()).empty());
  // The nodes are usable at once.
  write_file(roots[0] / "small", "small");
  BOOST_TEST(c.copy(name_of(s0.port()), "small", name_of(s1.port()), "small").get() == 5u);
}

BOOST_AUTO_TEST_CASE(a_cancelled_copy_leaves_nothing_at_the_destination) {
  check_a_cancelled_copy(false);
}

BOOST_AUTO_TEST_CASE(a_cancelled_pull_leaves_nothing_at_the_destination) {
  check_a_cancelled_copy(true);
}

BOOST_AUTO_TEST_CASE(a_node_that_pulls_from_the_source_copies_over_one_connection_with_tls) {
  temp_dir roots[2];
  temp_dir logs;
  auto data = pattern_bytes((std::size_t{3} << 20) + 77, 11);
  write_file(roots[0] / "src.bin", data);
  temp_dir certs_dir;
  certificates certs{certs_dir.path()};
  auto source_opts = logging_connections(served_dir(roots[0].path()), logs / "s0");
  source_opts.tls = certs.tls("server");
  served s0{source_opts};
  // The destination connects to the source with its own certificate, which the same CA signed.
  auto dest_opts = logging_connections(served_dir(roots[1].path()), logs / "s1");
  dest_opts.tls = certs.tls("server");
  dest_opts.pull_from = {name_of(s0.port())};
  served s1{dest_opts};
  cluster c{{local(s0.port(), certs.tls("client")), local(s1.port(), certs.tls("client"))}};
  auto o = verified_in_small_chunks();
  last_report last;
  BOOST_TEST(
    c.copy(name_of(s0.port()), "src.bin", name_of(s1.port()), "new.bin", o, last.opts).get() ==
    data.size());
  BOOST_TEST((read_file(roots[1] / "new.bin") == data));
  // The destination's own progress, passed on.
  check_last_of_one_item(last.get(), data.size());
  // The source served two nodes: this client, and the destination that pulled.
  BOOST_TEST(connections_in(logs / "s0") == 2u);
  // The other way the source does not pull: the bytes pass through this client, and the
  // destination of that copy hears from no node but it.
  BOOST_TEST(c.copy(name_of(s1.port()), "new.bin", name_of(s0.port()), "back.bin", o).get() ==
             data.size());
  BOOST_TEST((read_file(roots[0] / "back.bin") == data));
  BOOST_TEST(connections_in(logs / "s1") == 1u);
  BOOST_TEST(connections_in(logs / "s0") == 2u);
  BOOST_TEST((names_in(roots[1].path()) == std::set<std::string>{"new.bin"}));
}

BOOST_AUTO_TEST_CASE(a_pull_from_a_node_not_listed_is_eperm_and_a_local_manager_has_none) {
  temp_dir roots[2];
  write_file(roots[0] / "f", "data");
  served s0{served_dir(roots[0].path())};
  auto pulling = served_dir(roots[1].path());
  pulling.pull_from = {"127.0.0.1:1"};
  pulling.limits.max_open_maps = 1;
  served s1{pulling};
  auto dest = connect("127.0.0.1", s1.port());
  auto source = "tcp://" + name_of(s0.port());
  BOOST_TEST(errno_of([&] { dest.pull(source, "f", "f").get(); }) == EPERM);
  BOOST_TEST(errno_of([&] { dest.pull("nonsense", "f", "f").get(); }) == EINVAL);
  node_copy_options none;
  none.window = 0;
  BOOST_TEST(errno_of([&] { dest.pull(source, "f", "f", none).get(); }) == EINVAL);
  // A pull counts as a map the client holds.
  auto held = dest.open("held", 4, open_mode::create).get();
  BOOST_TEST(errno_of([&] { dest.pull("tcp://127.0.0.1:1", "f", "f").get(); }) == EMFILE);
  held.close().get();
  // Listed but not listening: the connect fails, with its own op.
  try {
    dest.pull("tcp://127.0.0.1:1", "f", "f").get();
    BOOST_FAIL("the pull succeeded");
  } catch (const io_error& e) {
    BOOST_TEST(e.code().value() == ECONNREFUSED, e.what());
    BOOST_TEST(e.why().op == "connect", e.what());
  }
  runtime rt{runtime_config{.root = roots[1].path()}};
  BOOST_TEST(errno_of([&] { rt.manager().pull(source, "f", "f").get(); }) == EOPNOTSUPP);
  BOOST_TEST((names_in(roots[1].path()) == std::set<std::string>{"held"}));
}

BOOST_AUTO_TEST_CASE(a_served_staged_file_is_its_clients_alone_and_counts_as_a_held_map) {
  temp_dir root;
  auto opts = served_dir(root.path());
  opts.limits.max_open_maps = 1;
  served s{opts};
  auto mine = connect("127.0.0.1", s.port());
  auto other = connect("127.0.0.1", s.port());
  auto id = mine.stage("f").get();
  BOOST_TEST(errno_of([&] { other.write_staged(id, 0, pieces_of("x")).get(); }) == EBADF);
  BOOST_TEST(errno_of([&] { other.commit_staged(id).get(); }) == EBADF);
  other.discard_staged(id).get(); // not its own: nothing happens
  // The limit of held maps counts staged files too.
  BOOST_TEST(errno_of([&] { mine.stage("g").get(); }) == EMFILE);
  BOOST_TEST(mine.write_staged(id, 0, pieces_of("ok")).get() == 2u);
  BOOST_TEST(mine.commit_staged(id).get().empty());
  BOOST_TEST(read_file(root / "f") == "ok");
  // Committed: the id is gone and the allowance free again.
  BOOST_TEST(errno_of([&] { mine.commit_staged(id).get(); }) == EBADF);
  mine.discard_staged(mine.stage("g").get()).get();
  BOOST_TEST((names_in(root.path()) == std::set<std::string>{"f"}));
}

BOOST_AUTO_TEST_CASE(a_read_only_destination_refuses_the_copy_with_erofs) {
  temp_dir roots[2];
  write_file(roots[0] / "f", "data");
  auto ro = served_dir(roots[1].path());
  ro.read_only = true;
  served s0{served_dir(roots[0].path())};
  served s1{ro};
  cluster c{{local(s0.port()), local(s1.port())}};
  try {
    c.copy(name_of(s0.port()), "f", name_of(s1.port()), "f").get();
    BOOST_FAIL("the copy succeeded");
  } catch (const io_error& e) {
    BOOST_TEST(e.code().value() == EROFS, e.what());
    BOOST_TEST(std::string{e.what()}.find(name_of(s1.port())) != std::string::npos, e.what());
  }
  BOOST_TEST(names_in(roots[1].path()).empty());
}

/// The threads this process runs now.
std::size_t threads_running() {
  return static_cast<std::size_t>(
    std::distance(fs::directory_iterator{"/proc/self/task"}, fs::directory_iterator{}));
}

BOOST_AUTO_TEST_CASE(a_cluster_dropped_once_its_copy_answered_leaves_no_thread_behind) {
  temp_dir roots[2];
  write_file(roots[0] / "f", "data");
  served s0{served_dir(roots[0].path())};
  served s1{served_dir(roots[1].path())};
  auto before = threads_running();
  // Each node's connection has an actor system of several threads: they end with the cluster, not
  // later on the thread of a call that answered. At most that thread may still be returning.
  std::size_t worst = 0;
  for (int round = 0; round < 20; ++round) {
    {
      cluster c{{local(s0.port()), local(s1.port())}};
      BOOST_TEST(errno_of([&] {
                   c.copy(name_of(s0.port()), "missing", name_of(s1.port()), "m").get();
                 }) == ENOENT);
    }
    worst = std::max(worst, threads_running());
  }
  BOOST_TEST(worst <= before + 1, worst << " threads, " << before << " before the clusters");
}

BOOST_AUTO_TEST_CASE(paths_that_leave_a_served_root_are_refused_at_either_end) {
  temp_dir roots[2];
  write_file(roots[0] / "f", "data");
  served s0{served_dir(roots[0].path())};
  served s1{served_dir(roots[1].path())};
  cluster c{{local(s0.port()), local(s1.port())}};
  auto a = name_of(s0.port());
  auto b = name_of(s1.port());
  auto outside = roots[1].path().filename().string();
  BOOST_TEST(errno_of([&] { c.copy(a, "f", b, "../" + outside + "-escaped").get(); }) == EACCES);
  BOOST_TEST(errno_of([&] { c.copy(a, "f", b, "/tmp/escaped").get(); }) == EACCES);
  BOOST_TEST(errno_of([&] { c.copy(a, "../etc/passwd", b, "p").get(); }) == EACCES);
  BOOST_TEST(errno_of([&] { c.copy(a, "missing", b, "m").get(); }) == ENOENT);
  BOOST_TEST(errno_of([&] { c.copy(a, "f", "nowhere:1", "m").get(); }) == EINVAL);
  BOOST_TEST(!fs::exists(roots[1].path().parent_path() / (outside + "-escaped")));
  BOOST_TEST(names_in(roots[1].path()).empty());
}

BOOST_AUTO_TEST_SUITE_END()
