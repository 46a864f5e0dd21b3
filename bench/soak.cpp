// Load and soak: random mixed operations through the public facade from 8 threads on a
// local runtime and from 4 client processes connected over TCP (127.0.0.1) to a server process,
// each on files only it touches, so an in-memory model knows every file's exact bytes and every
// result is checked against it (digests with OpenSSL's EVP, files on disk with read(2), finds
// with a naive search). Meanwhile the RSS and descriptor count of the local process and of the
// server are sampled once a second.
//
//   actorio_soak [--seconds N] [--threads N] [--clients N]    (defaults: 600, 8, 4)
//
// Prints ops/s, p50/p99 latency per operation, RSS and descriptors at start, end of warm-up,
// middle and end, then PASS or FAIL. Exit status 1 on any model mismatch, unexpected error,
// client process that did not finish, or growth past the bounds below; 2 on a usage error.
//
// Flatness bounds, after a warm-up of a tenth of the run (at least 2 s): RSS may grow by at most
// 32 MiB from the end of warm-up to the end (allocator arenas and CAF's mailbox caches settle in
// the warm-up; a leak of 64 bytes per operation exceeds it within a minute at ~10,000 ops/s). The
// RSS bound is not applied under AddressSanitizer, whose quarantine holds freed memory on purpose.
// Once every map is closed and every client has gone, each process holds at most 4 descriptors
// more than before the first operation (CAF opens a few lazily), whatever the run length; while
// running, no sample may exceed the warm-up's highest by more than 16.
//
// Latencies are kept in fixed log-linear histograms (16 steps per power of two, so a percentile
// is exact to within 6.25%; printed as the bucket's upper bound) so that the measurement itself
// never grows the memory it watches.
#include <actorio/actorio.hpp>
#include <actorio/remote.hpp>

#include "support/served.hpp"

#include <openssl/evp.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

// Under ASan (its quarantine holds freed blocks) and TSan (its allocator and shadow memory keep
// what the run touched) RSS grows by design, so the RSS bound applies to normal builds only.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool under_sanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool under_sanitizer = true;
#else
constexpr bool under_sanitizer = false;
#endif
#else
constexpr bool under_sanitizer = false;
#endif

constexpr std::uint64_t rss_growth_bound_kib = 32 * 1024;
constexpr long quiet_fd_slack = 4;
constexpr long running_fd_slack = 16;

/// Files each worker owns, and the largest any of them may grow to.
constexpr int files_per_worker = 3;
constexpr std::size_t max_file_size = 256 * 1024;

// -- latency histogram ----------------------------------------------------------------------------

/// Log-linear histogram of nanoseconds: values below 16 exactly, then 16 buckets per power of two.
struct histogram {
  std::array<std::uint64_t, 1024> counts{};

  static std::size_t index(std::uint64_t ns) {
    if (ns < 16)
      return ns;
    auto e = static_cast<std::size_t>(std::bit_width(ns) - 1); // >= 4
    return (e - 3) * 16 + ((ns >> (e - 4)) & 15);
  }

  /// The exclusive upper bound of bucket `i`, in ns.
  static std::uint64_t upper(std::size_t i) {
    if (i < 16)
      return i + 1;
    auto e = i / 16 + 3;
    auto s = i % 16;
    return ((16 + s) << (e - 4)) + (std::uint64_t{1} << (e - 4));
  }

  void add(clock_type::duration d) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    ++counts[index(static_cast<std::uint64_t>(std::max<std::int64_t>(ns, 0)))];
  }

  void merge(const histogram& other) {
    for (std::size_t i = 0; i < counts.size(); ++i)
      counts[i] += other.counts[i];
  }

  std::uint64_t total() const {
    std::uint64_t n = 0;
    for (auto c : counts)
      n += c;
    return n;
  }

  /// The `q` quantile in microseconds (upper bound of its bucket); 0 when empty.
  double quantile_us(double q) const {
    auto n = total();
    if (n == 0)
      return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(n - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
      seen += counts[i];
      if (seen >= rank)
        return static_cast<double>(upper(i)) / 1000.0;
    }
    return 0;
  }
};

// -- operations and what a worker reports ---------------------------------------------------------

enum class op_kind {
  open,
  write,
  read,
  resize,
  flush,
  size,
  close,
  bulk_write,
  bulk_read,
  bulk_checksum,
  checksum,
  find_in_files,
  copy,
  compact,
};
constexpr std::size_t op_count = 14;
constexpr std::array<const char*, op_count> op_names{
  "open",        "mapped write",  "mapped read", "mapped resize", "mapped flush",
  "mapped size", "mapped close",  "bulk_write",  "bulk_read",     "bulk_checksum",
  "checksum",    "find_in_files", "copy_file",   "compact_files"};

/// One worker's tally. Plain data: a client process writes it to its pipe as it is.
struct tally {
  std::array<histogram, op_count> latency;
  std::uint64_t expected_errors = 0;
  bool failed = false;
  bool finished = false;
  char first_failure[512] = {};

  std::uint64_t ops() const {
    std::uint64_t n = 0;
    for (auto& h : latency)
      n += h.total();
    return n;
  }

  void merge(const tally& other) {
    for (std::size_t i = 0; i < op_count; ++i)
      latency[i].merge(other.latency[i]);
    expected_errors += other.expected_errors;
    if (other.failed && !failed) {
      failed = true;
      std::memcpy(first_failure, other.first_failure, sizeof first_failure);
    }
    finished = finished && other.finished;
  }
};

/// A check that failed: ends the worker, whose model can no longer be trusted.
struct mismatch : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// -- independent oracles --------------------------------------------------------------------------

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("EVP_Digest failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

/// The file's bytes as read(2) sees them.
std::string read_disk(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw mismatch("read(2) oracle: cannot open " + p.string() + ": " + std::strerror(errno));
  std::string out;
  char buf[65536];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

std::vector<std::uint64_t> naive_find(const std::string& hay, const std::string& needle,
                                      std::size_t start, bool overlapping) {
  std::vector<std::uint64_t> hits;
  for (auto i = start; i + needle.size() <= hay.size();) {
    if (hay.compare(i, needle.size(), needle) == 0) {
      hits.push_back(i);
      i += overlapping ? 1 : needle.size();
    } else {
      ++i;
    }
  }
  return hits;
}

std::string to_text(std::span<const char> b) {
  return {b.begin(), b.end()};
}

// -- one worker -----------------------------------------------------------------------------------

/// One thread (or client process) doing random operations on its own files through `mgr`, whose
/// root is the directory `disk_root` (read directly for the read(2) oracle).
class worker {
public:
  worker(actorio::mmap_manager mgr, fs::path disk_root, std::string prefix, std::uint64_t seed)
    : mgr_(std::move(mgr))
    , disk_root_(std::move(disk_root))
    , prefix_(std::move(prefix))
    , rng_(seed) {}

  void run(clock_type::time_point until, tally& out) {
    try {
      setup();
      while (clock_type::now() < until)
        step(out);
      for (auto& f : files_)
        if (f.map)
          timed(out, op_kind::close, [&] { close(f); });
      out.finished = true;
    } catch (const std::exception& e) {
      out.failed = true;
      std::snprintf(out.first_failure, sizeof out.first_failure, "%s: %s", prefix_.c_str(),
                    e.what());
    }
  }

private:
  struct owned {
    std::string path;
    std::string model;
    std::optional<actorio::mapped_file> map;
  };

  void setup() {
    for (int i = 0; i < files_per_worker; ++i) {
      owned f{prefix_ + "/f" + std::to_string(i), random_data(4096), std::nullopt};
      auto m = mgr_.create(f.path, 0, false).get();
      expect(m.write(f.model, 0).get() == f.model.size(), "initial write", f.path);
      m.close().get();
      files_.push_back(std::move(f));
    }
  }

  template <class F>
  void timed(tally& out, op_kind k, F&& f) {
    auto start = clock_type::now();
    f();
    out.latency[static_cast<std::size_t>(k)].add(clock_type::now() - start);
  }

  void step(tally& out) {
    auto& f = files_[pick(files_.size())];
    auto roll = pick(100);
    // Mapped-file operations need the map: opening it is timed as an operation of its own.
    if (roll < 50 && !f.map)
      return timed(out, op_kind::open, [&] { f.map = mgr_.open(f.path).get(); });
    if (roll < 12)
      return timed(out, op_kind::write, [&] { map_write(f); });
    if (roll < 24)
      return timed(out, op_kind::read, [&] { map_read(f); });
    if (roll < 29)
      return timed(out, op_kind::resize, [&] { map_resize(f); });
    if (roll < 34)
      return timed(out, op_kind::flush, [&] { map_flush(f); });
    if (roll < 40)
      return timed(out, op_kind::size,
                   [&] { expect(f.map->size().get() == f.model.size(), "mapped size", f.path); });
    if (roll < 50)
      return timed(out, op_kind::close, [&] { close(f); });
    if (roll < 58)
      return timed(out, op_kind::bulk_write, [&] { bulk_write(); });
    if (roll < 68)
      return timed(out, op_kind::bulk_read, [&] { bulk_read(); });
    if (roll < 76)
      return timed(out, op_kind::bulk_checksum, [&] { bulk_checksum(out); });
    if (roll < 80)
      return timed(out, op_kind::checksum, [&] {
        expect(mgr_.checksum(f.path, "sha256").get() == sha256_hex(f.model), "checksum", f.path);
      });
    if (roll < 88)
      return timed(out, op_kind::find_in_files, [&] { find(); });
    if (roll < 94)
      return timed(out, op_kind::copy, [&] { copy(f); });
    timed(out, op_kind::compact, [&] { compact(f); });
  }

  void map_write(owned& f) {
    auto data = random_data(pick(8) == 0 ? 32768 : 2048);
    auto off = pick(std::min(f.model.size() + 512, max_file_size - data.size()) + 1);
    expect(f.map->write(data, static_cast<std::int64_t>(off)).get() == data.size(), "mapped write",
           f.path);
    apply(f.model, off, data);
  }

  void map_read(owned& f) {
    auto off = pick(f.model.size() + 64);
    // A quarter of the reads go to the end.
    std::optional<std::int64_t> len;
    if (pick(4) != 0)
      len = static_cast<std::int64_t>(pick(8192));
    auto got = to_text(f.map->read(static_cast<std::int64_t>(off), len).get());
    auto want = off >= f.model.size()
                  ? std::string{}
                  : f.model.substr(off, len ? std::size_t(*len) : std::string::npos);
    expect(got == want, "mapped read", f.path);
  }

  void map_resize(owned& f) {
    auto n = pick(max_file_size / 4);
    expect(f.map->resize(static_cast<std::int64_t>(n)).get() == n, "mapped resize", f.path);
    f.model.resize(n, '\0');
  }

  void map_flush(owned& f) {
    if (pick(10) == 0)
      f.map->sync().get();
    else
      f.map->flush().get();
  }

  /// Closes the map, then checks the file on disk with read(2).
  void close(owned& f) {
    f.map->close().get();
    f.map.reset();
    expect(read_disk(disk_root_ / f.path) == f.model, "file after close (read(2))", f.path);
  }

  void bulk_write() {
    std::map<fs::path, std::vector<actorio::chunk>> jobs;
    std::map<std::string, std::uint64_t> sent;
    for (auto& f : some_files()) {
      auto& chunks = jobs[f->path];
      auto size = f->model.size();
      for (auto n = 1 + pick(3); n > 0; --n) {
        auto data = random_data(1024);
        auto off = pick(std::min(size + 256, max_file_size - data.size()) + 1);
        apply(f->model, off, data);
        size = f->model.size();
        sent[f->path] += data.size();
        chunks.push_back({static_cast<std::int64_t>(off), {data.begin(), data.end()}});
      }
    }
    auto res = mgr_.bulk_write(jobs).get();
    expect(res.size() == jobs.size(), "bulk_write result count", prefix_);
    for (auto& [path, r] : res) {
      if (!r)
        throw mismatch("bulk_write " + path.string() + ": " + actorio::to_string(r.error()));
      expect(*r == sent[path.string()], "bulk_write bytes", path.string());
    }
  }

  void bulk_read() {
    std::map<fs::path, std::optional<std::vector<actorio::byte_range>>> jobs;
    std::map<std::string, std::vector<std::string>> want;
    for (auto& f : some_files()) {
      auto& w = want[f->path];
      if (pick(3) == 0) {
        jobs[f->path] = std::nullopt;
        w.push_back(f->model);
        continue;
      }
      std::vector<actorio::byte_range> ranges;
      for (auto n = 1 + pick(3); n > 0; --n) {
        auto off = pick(f->model.size() + 16);
        auto len = static_cast<std::int64_t>(pick(4096));
        ranges.push_back({static_cast<std::int64_t>(off), len});
        w.push_back(off >= f->model.size() ? std::string{}
                                           : f->model.substr(off, static_cast<std::size_t>(len)));
      }
      jobs[f->path] = std::move(ranges);
    }
    auto res = mgr_.bulk_read(jobs).get();
    expect(res.size() == jobs.size(), "bulk_read result count", prefix_);
    for (auto& [path, r] : res) {
      if (!r)
        throw mismatch("bulk_read " + path.string() + ": " + actorio::to_string(r.error()));
      auto& w = want[path.string()];
      expect(r->size() == w.size(), "bulk_read piece count", path.string());
      for (std::size_t i = 0; i < w.size(); ++i)
        expect(to_text((*r)[i]) == w[i], "bulk_read bytes", path.string());
    }
  }

  /// Also asks for a file that does not exist: it must fail alone, with ENOENT.
  void bulk_checksum(tally& out) {
    std::vector<fs::path> paths;
    for (auto& f : files_)
      paths.push_back(f.path);
    auto missing = prefix_ + "/missing";
    paths.push_back(missing);
    auto res = mgr_.bulk_checksum(paths, "sha256").get();
    expect(res.size() == paths.size(), "bulk_checksum result count", prefix_);
    for (auto& f : files_) {
      auto& r = res.at(f.path);
      if (!r)
        throw mismatch("bulk_checksum " + f.path + ": " + actorio::to_string(r.error()));
      expect(*r == sha256_hex(f.model), "bulk_checksum digest", f.path);
    }
    auto& m = res.at(missing);
    expect(!m && m.error().code == ENOENT, "bulk_checksum of a missing file is ENOENT", missing);
    ++out.expected_errors;
  }

  void find() {
    static constexpr std::string_view letters = "abcd";
    std::string pattern;
    for (auto n = 1 + pick(3); n > 0; --n)
      pattern += letters[pick(letters.size())];
    bool overlapping = pick(2) == 0;
    std::map<fs::path, std::int64_t> starts;
    std::map<std::string, std::vector<std::uint64_t>> want;
    for (auto& f : some_files()) {
      auto start = pick(f->model.size() + 8);
      starts[f->path] = static_cast<std::int64_t>(start);
      auto hits = naive_find(f->model, pattern, start, overlapping);
      if (!hits.empty())
        want[f->path] = std::move(hits);
    }
    auto res = mgr_.find_in_files(pattern, starts, 0, overlapping).get();
    expect(res.size() == want.size(), "find_in_files files with hits", prefix_ + " " + pattern);
    for (auto& [path, r] : res) {
      if (!r)
        throw mismatch("find_in_files " + path.string() + ": " + actorio::to_string(r.error()));
      auto it = want.find(path.string());
      expect(it != want.end() && *r == it->second, "find_in_files offsets",
             path.string() + " " + pattern);
    }
  }

  /// copy_file or bulk_copy (verified or not) to a fresh name, checked with read(2), removed.
  void copy(owned& f) {
    auto dst = prefix_ + "/copy";
    fs::remove(disk_root_ / dst);
    actorio::copy_options opts;
    opts.verify = pick(2) == 0;
    std::uint64_t n = 0;
    if (pick(2) == 0) {
      n = mgr_.copy_file(f.path, dst, opts).get();
    } else {
      auto res = mgr_.bulk_copy({{f.path, dst}}, opts).get();
      expect(res.size() == 1, "bulk_copy result count", dst);
      if (!res[0])
        throw mismatch("bulk_copy " + dst + ": " + actorio::to_string(res[0].error()));
      n = *res[0];
    }
    expect(n == f.model.size(), "copy byte count", dst);
    expect(read_disk(disk_root_ / dst) == f.model, "copy bytes (read(2))", dst);
  }

  void compact(owned& f) {
    auto res = mgr_.compact_files({f.path}).get();
    auto& r = res.at(f.path);
    if (!r)
      throw mismatch("compact_files " + f.path + ": " + actorio::to_string(r.error()));
    auto end = f.model.find_last_not_of('\0');
    f.model.resize(end == std::string::npos ? 0 : end + 1);
    expect(r->new_size == f.model.size(), "compact_files size", f.path);
  }

  /// One to all of the worker's files, each once.
  std::vector<owned*> some_files() {
    std::vector<owned*> out;
    for (auto& f : files_)
      if (pick(2) == 0)
        out.push_back(&f);
    if (out.empty())
      out.push_back(&files_[pick(files_.size())]);
    return out;
  }

  /// Letters (for finds to hit), newlines and, now and then, a run of NULs (for compact).
  std::string random_data(std::size_t max) {
    static constexpr std::string_view alphabet = "abcd\nabcd\nxyz";
    std::string out(1 + pick(max), '\0');
    bool zeros = pick(4) == 0;
    for (auto& c : out)
      c = zeros && pick(2) == 0 ? '\0' : alphabet[pick(alphabet.size())];
    return out;
  }

  static void apply(std::string& model, std::size_t off, const std::string& data) {
    if (model.size() < off + data.size())
      model.resize(off + data.size(), '\0');
    model.replace(off, data.size(), data);
  }

  static void expect(bool ok, const char* what, const std::string& path) {
    if (!ok)
      throw mismatch(std::string{"model mismatch: "} + what + " (" + path + ")");
  }

  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>{0, n - 1}(rng_);
  }

  actorio::mmap_manager mgr_;
  fs::path disk_root_;
  std::string prefix_;
  std::mt19937_64 rng_;
  std::vector<owned> files_;
};

// -- processes ------------------------------------------------------------------------------------

/// RSS (KiB) and open descriptors of a process.
struct usage {
  std::uint64_t rss_kib = 0;
  long fds = 0;
};

usage usage_of(pid_t pid) {
  auto dir = fs::path{"/proc"} / std::to_string(pid);
  usage u;
  std::ifstream in{dir / "status"};
  for (std::string key; in >> key;) {
    if (key == "VmRSS:") {
      in >> u.rss_kib;
      break;
    }
    in.ignore(1 << 16, '\n');
  }
  std::error_code ec;
  for (fs::directory_iterator it{dir / "fd", ec}, end; !ec && it != end; it.increment(ec))
    ++u.fds;
  if (pid == ::getpid())
    --u.fds; // the directory_iterator's own descriptor
  return u;
}

bool write_all(int fd, const void* data, std::size_t n) {
  auto p = static_cast<const char*>(data);
  while (n > 0) {
    auto w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

bool read_all(int fd, void* data, std::size_t n) {
  auto p = static_cast<char*>(data);
  while (n > 0) {
    auto r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

/// A client process: connects to the server, runs one worker until `until`, and writes its tally
/// to a pipe.
struct client_process {
  pid_t pid = -1;
  int results = -1;
};

client_process start_client(int id, std::uint16_t port, const fs::path& disk_root, int seconds,
                            std::uint64_t seed) {
  int fds[2];
  if (::pipe(fds) != 0)
    throw std::runtime_error("pipe");
  auto pid = ::fork();
  if (pid < 0)
    throw std::runtime_error("fork");
  if (pid == 0) {
    ::close(fds[0]);
    auto out = std::make_unique<tally>();
    try {
      auto mgr = actorio::connect("127.0.0.1", port);
      worker w{mgr, disk_root, "c" + std::to_string(id), seed};
      w.run(clock_type::now() + std::chrono::seconds(seconds), *out);
    } catch (const std::exception& e) {
      out->failed = true;
      std::snprintf(out->first_failure, sizeof out->first_failure, "client %d: %s", id, e.what());
    }
    write_all(fds[1], out.get(), sizeof *out);
    ::close(fds[1]);
    // The connection's actor system ended with `mgr`; exit without running other destructors.
    ::_exit(0);
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

// -- the run --------------------------------------------------------------------------------------

struct options {
  int seconds = 600;
  int threads = 8;
  int clients = 4;
};

std::optional<options> parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](int& into) {
      if (i + 1 >= argc)
        return false;
      char* end = nullptr;
      auto v = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || v < 0 || v > 1000000)
        return false;
      into = static_cast<int>(v);
      return true;
    };
    bool ok = (a == "--seconds" && value(o.seconds)) || (a == "--threads" && value(o.threads)) ||
              (a == "--clients" && value(o.clients));
    if (!ok)
      return std::nullopt;
  }
  if (o.seconds < 1 || o.threads + o.clients < 1)
    return std::nullopt;
  return o;
}

struct sample {
  double at = 0;
  usage local;
  usage server;
};

void print_latencies(const tally& local, const tally& remote) {
  std::printf("\n%-15s %10s %9s %9s   %10s %9s %9s\n", "operation", "local n", "p50 us", "p99 us",
              "remote n", "p50 us", "p99 us");
  auto row = [](const char* name, const histogram& l, const histogram& r) {
    std::printf("%-15s %10llu %9.1f %9.1f   %10llu %9.1f %9.1f\n", name,
                static_cast<unsigned long long>(l.total()), l.quantile_us(0.5), l.quantile_us(0.99),
                static_cast<unsigned long long>(r.total()), r.quantile_us(0.5),
                r.quantile_us(0.99));
  };
  histogram all_local;
  histogram all_remote;
  for (std::size_t i = 0; i < op_count; ++i) {
    row(op_names[i], local.latency[i], remote.latency[i]);
    all_local.merge(local.latency[i]);
    all_remote.merge(remote.latency[i]);
  }
  row("all", all_local, all_remote);
}

/// The local half of a run: `o.threads` workers against one runtime until `until`, sampled
/// every second (with the server's usage from `server_usage`).
struct local_run {
  tally ops;
  usage before;
  /// Once every worker has closed its maps, with the runtime still up.
  usage after;
  std::vector<sample> samples;
};

local_run run_local(const options& o, const fs::path& local_root, std::uint64_t seed,
                    clock_type::time_point start, clock_type::time_point until,
                    const std::function<usage()>& server_usage) {
  local_run out;
  out.ops.finished = true;
  out.samples.reserve(static_cast<std::size_t>(o.seconds) + 16);
  actorio::runtime_config cfg;
  cfg.root = local_root;
  actorio::runtime rt{cfg};
  out.before = usage_of(::getpid());
  std::vector<std::unique_ptr<tally>> tallies;
  std::vector<std::thread> threads;
  for (int i = 0; i < o.threads; ++i) {
    tallies.push_back(std::make_unique<tally>());
    threads.emplace_back([&, i, t = tallies.back().get()] {
      worker w{rt.manager(), local_root, "t" + std::to_string(i), seed + i};
      w.run(until, *t);
    });
  }
  for (auto now = clock_type::now(); now < until; now = clock_type::now()) {
    out.samples.push_back(
      {std::chrono::duration<double>(now - start).count(), usage_of(::getpid()), server_usage()});
    std::this_thread::sleep_until(std::min(until, now + std::chrono::seconds(1)));
  }
  for (auto& t : threads)
    t.join();
  for (auto& t : tallies)
    out.ops.merge(*t);
  out.after = usage_of(::getpid());
  out.samples.push_back(
    {std::chrono::duration<double>(clock_type::now() - start).count(), out.after, server_usage()});
  return out;
}

/// Reads each client process's report and reaps it; a client that failed or exited badly adds
/// to `failures`.
tally collect_clients(std::vector<client_process>& clients, std::vector<std::string>& failures) {
  tally remote;
  remote.finished = true;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    auto t = std::make_unique<tally>();
    if (!read_all(clients[i].results, t.get(), sizeof *t)) {
      t->failed = true;
      std::snprintf(t->first_failure, sizeof t->first_failure, "client %zu ended without a report",
                    i);
    }
    ::close(clients[i].results);
    int st = 0;
    ::waitpid(clients[i].pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
      failures.push_back("client " + std::to_string(i) + " exited with status " +
                         std::to_string(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st)));
    remote.merge(*t);
  }
  return remote;
}

/// One process's descriptor counts over a run: the peak during warm-up and after it.
struct fd_peaks {
  long warm = 0;
  long run = 0;
};

/// The samples at warm-up's end, at half time and at the end of a run of `seconds`.
struct checkpoints {
  double warm_s;
  const sample* warm;
  const sample* mid;
  const sample* end;
};

checkpoints checkpoints_of(const std::vector<sample>& samples, int seconds) {
  auto at = [&](double t) -> const sample* {
    for (auto& s : samples)
      if (s.at >= t)
        return &s;
    return &samples.back();
  };
  auto warm_s = std::max(2.0, seconds / 10.0);
  return {warm_s, at(warm_s), at(seconds / 2.0), &samples.back()};
}

fd_peaks peaks_of(const std::vector<sample>& samples, double warm_s, usage sample::*which) {
  fd_peaks p;
  for (auto& s : samples) {
    auto& peak = s.at <= warm_s ? p.warm : p.run;
    peak = std::max(peak, (s.*which).fds);
  }
  return p;
}

/// Prints a process's RSS and descriptors before, at the checkpoints and once quiet.
void print_usage(const char* name, const checkpoints& c, usage before, usage sample::*which,
                 long peak, usage after) {
  auto mib = [](std::uint64_t kib) { return static_cast<double>(kib) / 1024.0; };
  std::printf("%-7s %9.1f %9.1f %9.1f %9.1f   %6ld %6ld %6ld %6ld %6ld %6ld\n", name,
              mib(before.rss_kib), mib((c.warm->*which).rss_kib), mib((c.mid->*which).rss_kib),
              mib((c.end->*which).rss_kib), before.fds, (c.warm->*which).fds, (c.mid->*which).fds,
              (c.end->*which).fds, peak, after.fds);
}

/// Adds to `failures` what a process's usage shows: RSS grown after warm-up, descriptors that
/// piled up during the run, or not given back once quiet.
void check_usage(const char* name, const checkpoints& c, usage before, usage sample::*which,
                 fd_peaks peaks, usage after, std::vector<std::string>& failures) {
  auto end_rss = (c.end->*which).rss_kib;
  auto warm_rss = (c.warm->*which).rss_kib;
  auto grown = end_rss > warm_rss ? end_rss - warm_rss : 0;
  if (!under_sanitizer && grown > rss_growth_bound_kib)
    failures.push_back(std::string{name} + ": RSS grew by " + std::to_string(grown / 1024) +
                       " MiB after warm-up (bound " + std::to_string(rss_growth_bound_kib / 1024) +
                       " MiB)");
  if (peaks.run > peaks.warm + running_fd_slack)
    failures.push_back(std::string{name} + ": " + std::to_string(peaks.run) +
                       " descriptors after warm-up, " + std::to_string(peaks.warm) +
                       " at most during it");
  if (after.fds > before.fds + quiet_fd_slack)
    failures.push_back(std::string{name} + ": " + std::to_string(after.fds) +
                       " descriptors once quiet, " + std::to_string(before.fds) + " before");
}

int run(const options& o) {
  auto dir = fs::temp_directory_path() / ("actorio_soak." + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto local_root = dir / "local";
  auto remote_root = dir / "remote";
  for (int i = 0; i < o.threads; ++i)
    fs::create_directories(local_root / ("t" + std::to_string(i)));
  for (int i = 0; i < o.clients; ++i)
    fs::create_directories(remote_root / ("c" + std::to_string(i)));
  fs::create_directories(remote_root);

  std::vector<std::string> failures;
  auto seed = static_cast<std::uint64_t>(clock_type::now().time_since_epoch().count());
  std::printf("actorio_soak: %d s, %d local threads, %d client processes over TCP, seed %llu\n",
              o.seconds, o.threads, o.clients, static_cast<unsigned long long>(seed));
  std::fflush(stdout);

  // Every fork happens before this process starts a thread: fork copies only the calling one.
  std::optional<actorio::test::served> server;
  if (o.clients > 0) {
    actorio::serve_options served_root;
    served_root.root = remote_root;
    server.emplace(std::move(served_root));
  }
  std::function<usage()> server_usage = [&] { return server ? usage_of(server->pid()) : usage{}; };
  auto server_before = server_usage();
  std::vector<client_process> clients;
  for (int i = 0; i < o.clients; ++i)
    clients.push_back(start_client(i, server->port(), remote_root, o.seconds, seed + 1000 + i));

  auto start = clock_type::now();
  auto local =
    run_local(o, local_root, seed, start, start + std::chrono::seconds(o.seconds), server_usage);
  auto remote = collect_clients(clients, failures);
  auto elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  // The server notices closed connections asynchronously: give it a few seconds to let go.
  auto server_after = server_usage();
  for (int i = 0; i < 50 && server_after.fds > server_before.fds + quiet_fd_slack; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server_after = server_usage();
  }
  if (server && server->stop() != 0)
    failures.push_back("the server did not stop cleanly");

  // -- report --
  auto local_ops = local.ops.ops();
  auto remote_ops = remote.ops();
  std::printf("\nops: %llu local (%.0f/s), %llu remote (%.0f/s), %.0f/s in all over %.1f s; "
              "%llu expected errors (ENOENT) seen\n",
              static_cast<unsigned long long>(local_ops), local_ops / elapsed,
              static_cast<unsigned long long>(remote_ops), remote_ops / elapsed,
              (local_ops + remote_ops) / elapsed, elapsed,
              static_cast<unsigned long long>(local.ops.expected_errors + remote.expected_errors));
  print_latencies(local.ops, remote);
  auto c = checkpoints_of(local.samples, o.seconds);
  auto local_peaks = peaks_of(local.samples, c.warm_s, &sample::local);
  auto server_peaks = peaks_of(local.samples, c.warm_s, &sample::server);
  std::printf("\n%-7s %9s %9s %9s %9s   %6s %6s %6s %6s %6s %6s\n", "process", "RSS MiB:", "warm",
              "mid", "end", "fds:", "warm", "mid", "end", "peak", "quiet");
  std::printf(
    "(first column: before the first operation; quiet: every map closed, clients gone)\n");
  print_usage("local", c, local.before, &sample::local, std::max(local_peaks.warm, local_peaks.run),
              local.after);
  if (server)
    print_usage("server", c, server_before, &sample::server,
                std::max(server_peaks.warm, server_peaks.run), server_after);

  // -- verdict --
  if (local.ops.failed)
    failures.push_back(std::string{"local: "} + local.ops.first_failure);
  if (remote.failed)
    failures.push_back(std::string{"remote: "} + remote.first_failure);
  if (!local.ops.finished || !remote.finished)
    failures.push_back("a worker did not finish");
  check_usage("local", c, local.before, &sample::local, local_peaks, local.after, failures);
  if (server)
    check_usage("server", c, server_before, &sample::server, server_peaks, server_after, failures);
  if (under_sanitizer)
    std::printf("(sanitizer build: the RSS bound is not applied)\n");

  fs::remove_all(dir);
  if (failures.empty()) {
    std::printf("\nPASS\n");
    return 0;
  }
  for (auto& f : failures)
    std::printf("\nFAIL: %s", f.c_str());
  std::printf("\n");
  return 1;
}

} // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  if (!o) {
    std::fprintf(stderr, "usage: actorio_soak [--seconds N] [--threads N] [--clients N]\n");
    return 2;
  }
  // A client that dies must not take this process with it.
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return run(*o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "actorio_soak: %s\n", e.what());
    return 1;
  }
}
