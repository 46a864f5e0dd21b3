#pragma once

// Helpers, oracles and string models shared by the mapped_region_*_test files.

#include <boost/test/unit_test.hpp>

#include "io/src/mapped_region.hpp"

#include "support/describe.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

using actorio::failure;
using actorio::open_mode;
using actorio::detail::mapped_region;
using actorio::test::describe;
using actorio::test::read_file;
using actorio::test::temp_dir;
using actorio::test::why;
using actorio::test::write_file;

namespace {

constexpr std::uint64_t kib = std::uint64_t{1} << 10;
constexpr std::uint64_t mib = std::uint64_t{1} << 20;
constexpr std::uint64_t gib = std::uint64_t{1} << 30;
constexpr std::uint64_t page = 4096;

/// Passes if `r` failed with `code` about `path`; otherwise says what came back instead.
template <class T>
boost::test_tools::predicate_result failed_with(const actorio::result<T>& r, int code,
                                                const fs::path& path) {
  if (!r.ok() && r.error().code == code && r.error().path == path.string())
    return true;
  boost::test_tools::predicate_result res(false);
  res.message() << "expected errno " << code << " on " << path.string() << ", got " << why(r);
  return res;
}

inline actorio::result<mapped_region> open_region(const fs::path& p, open_mode mode,
                                                  std::int64_t init_size = 0,
                                                  bool minimize_writes = false) {
  return mapped_region::open(p.string(), mode, init_size, minimize_writes);
}

/// Opens and requires success; for tests whose subject is not the open itself.
inline mapped_region must_open(const fs::path& p, open_mode mode, std::int64_t init_size = 0,
                               bool minimize_writes = false) {
  auto r = open_region(p, mode, init_size, minimize_writes);
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  return std::move(r).value();
}

inline std::string as_string(const std::vector<char>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

/// Reads through the region and requires success.
inline std::string read_all(const mapped_region& region, std::int64_t offset = 0,
                            std::int64_t size = -1) {
  auto r = region.read(offset, size);
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  return as_string(*r);
}

/// Writes through the region and requires success.
inline void must_write(mapped_region& region, const std::string& bytes, std::int64_t offset) {
  auto r = region.write(bytes.data(), bytes.size(), offset);
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_REQUIRE(*r == bytes.size());
}

inline struct ::stat stat_of(const fs::path& p) {
  struct ::stat st {};
  if (::stat(p.c_str(), &st) != 0)
    throw std::system_error(errno, std::generic_category(), "stat " + p.string());
  return st;
}

/// Allocated bytes, from st_blocks (always 512-byte units).
inline std::uint64_t allocated_bytes(const fs::path& p) {
  return static_cast<std::uint64_t>(stat_of(p).st_blocks) * 512;
}

/// `n` bytes read with pread from a descriptor of our own: an oracle independent of the class,
/// for files too large to read whole.
inline std::string pread_file(const fs::path& p, std::uint64_t offset, std::size_t n) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw std::system_error(errno, std::generic_category(), "open " + p.string());
  std::string out(n, '\0');
  auto got = ::pread(fd, out.data(), n, static_cast<off_t>(offset));
  ::close(fd);
  if (got < 0)
    throw std::system_error(errno, std::generic_category(), "pread " + p.string());
  out.resize(static_cast<std::size_t>(got));
  return out;
}

inline std::string pattern(char seed, std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<char>(seed + static_cast<char>(i % 61));
  return out;
}

inline std::string zeros(std::size_t n) {
  return std::string(n, '\0');
}

/// Number of open descriptors of this process.
inline std::size_t open_fd_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd"))
    ++n;
  return n;
}

inline bool fd_is_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1;
}

/// Dirty kB (Shared_Dirty + Private_Dirty) of every mapping of `p` in /proc/self/smaps,
/// matched by device and inode. -1 if no mapping of `p` exists.
inline long dirty_kib_of(const fs::path& p) {
  auto st = stat_of(p);
  std::ifstream in("/proc/self/smaps");
  std::string line;
  bool inside = false;
  bool found = false;
  long total = 0;
  while (std::getline(in, line)) {
    // A VMA header: "lo-hi perms offset maj:min inode [path]"; field lines start "Name:".
    std::istringstream ls(line);
    std::string range, perms, offset, dev;
    unsigned long long inode = 0;
    if (line.find('-') < line.find(' ') && (ls >> range >> perms >> offset >> dev >> inode)) {
      unsigned maj = 0, min = 0;
      inside = std::sscanf(dev.c_str(), "%x:%x", &maj, &min) == 2 &&
               ::makedev(maj, min) == st.st_dev && inode == st.st_ino;
      found = found || inside;
      continue;
    }
    if (inside && (line.rfind("Shared_Dirty:", 0) == 0 || line.rfind("Private_Dirty:", 0) == 0))
      total += std::stol(line.substr(line.find(':') + 1));
  }
  return found ? total : -1;
}

/// Runs `body` in a forked child and returns its wait status; the child is killed after
/// `timeout`. `body` returns the child's exit code (0: all good).
inline int run_in_child(const std::function<int()>& body,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0)
    throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0)
    ::_exit(body());
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int wstatus = 0;
  for (;;) {
    pid_t done = ::waitpid(pid, &wstatus, WNOHANG);
    if (done == pid)
      return wstatus;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &wstatus, 0);
      return wstatus;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

inline std::string describe_wait(int wstatus) {
  if (WIFEXITED(wstatus))
    return "exit " + std::to_string(WEXITSTATUS(wstatus));
  if (WIFSIGNALED(wstatus))
    return "signal " + std::to_string(WTERMSIG(wstatus));
  return "status " + std::to_string(wstatus);
}

/// VmSize of this process in bytes, from /proc/self/status.
inline std::uint64_t vm_size_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmSize:", 0) == 0)
      return std::stoull(line.substr(7)) * kib;
  return 0;
}

// ---- helpers for the editing / searching operations ------------------------------------------

/// Passes if `r` failed with `code` about `path` from operation `op`.
template <class T>
boost::test_tools::predicate_result failed_as(const actorio::result<T>& r, int code,
                                              const fs::path& path, const std::string& op) {
  if (!r.ok() && r.error().code == code && r.error().path == path.string() && r.error().op == op)
    return true;
  boost::test_tools::predicate_result res(false);
  res.message() << "expected errno " << code << " from " << op << " on " << path.string()
                << ", got " << why(r);
  return res;
}

/// The value of a result that must have succeeded.
template <class T>
T must(actorio::result<T> r) {
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  return std::move(r).value();
}

inline std::vector<char> bytes_of(std::string_view s) {
  return std::vector<char>(s.begin(), s.end());
}

inline std::vector<std::string> as_strings(const std::vector<std::vector<char>>& lines) {
  std::vector<std::string> out;
  for (const auto& line : lines)
    out.push_back(as_string(line));
  return out;
}

/// readline as (line, next offset) with the line as a string.
inline std::pair<std::string, std::uint64_t> line_at(const mapped_region& region,
                                                     std::int64_t offset, std::int64_t size = -1,
                                                     bool incl_newline = false) {
  auto r = must(region.readline(offset, size, incl_newline));
  return {as_string(r.first), r.second};
}

inline std::pair<std::string, std::uint64_t> until(const mapped_region& region,
                                                   std::string_view delim, std::int64_t offset,
                                                   std::int64_t maxsize = -1) {
  auto r = must(region.read_until(delim, offset, maxsize));
  return {as_string(r.first), r.second};
}

/// A file holding `content`, opened read-write.
inline mapped_region region_with(const fs::path& p, const std::string& content,
                                 bool minimize_writes = false) {
  write_file(p, content);
  return must_open(p, open_mode::read_write, 0, minimize_writes);
}

// Naive string models of the editing operations: written from the doc comments, sharing no code
// with the class.

inline void model_write(std::string& s, const std::string& data, std::uint64_t off) {
  if (data.empty())
    return;
  if (off + data.size() > s.size())
    s.resize(off + data.size(), '\0');
  for (std::size_t i = 0; i < data.size(); ++i)
    s[off + i] = data[i];
}

inline std::uint64_t model_insert(std::string& s, const std::string& data, std::uint64_t off) {
  if (data.empty())
    return s.size();
  if (off >= s.size()) {
    model_write(s, data, off);
    return s.size();
  }
  s = s.substr(0, off) + data + s.substr(off);
  return s.size();
}

inline std::uint64_t model_erase(std::string& s, std::uint64_t off, std::uint64_t n) {
  if (off >= s.size())
    return 0;
  n = std::min<std::uint64_t>(n, s.size() - off);
  s = s.substr(0, off) + s.substr(off + n);
  return n;
}

inline bool matches_at(const std::string& s, const std::string& sub, std::size_t i) {
  if (i + sub.size() > s.size())
    return false;
  for (std::size_t j = 0; j < sub.size(); ++j)
    if (s[i + j] != sub[j])
      return false;
  return true;
}

inline std::uint64_t model_replace(std::string& s, const std::string& old_bytes,
                                   const std::string& new_bytes, std::uint64_t off,
                                   std::int64_t count) {
  if (off >= s.size())
    return 0;
  std::string out = s.substr(0, off);
  std::uint64_t done = 0;
  std::size_t i = off;
  while (i < s.size()) {
    if ((count < 0 || done < static_cast<std::uint64_t>(count)) && matches_at(s, old_bytes, i)) {
      out += new_bytes;
      i += old_bytes.size();
      ++done;
    } else {
      out += s[i];
      ++i;
    }
  }
  s = out;
  return done;
}

inline std::uint64_t model_fill(std::string& s, const std::string& pat, std::uint64_t off,
                                std::uint64_t count) {
  std::string all;
  for (std::uint64_t i = 0; i < count; ++i)
    all += pat;
  model_write(s, all, off);
  return all.size();
}

inline std::uint64_t model_copy_within(std::string& s, std::uint64_t src, std::uint64_t dst,
                                       std::int64_t n) {
  if (src >= s.size())
    return 0;
  std::string buffer = n < 0 ? s.substr(src) : s.substr(src, static_cast<std::size_t>(n));
  model_write(s, buffer, dst);
  return buffer.size();
}

/// True if the move is in range (and done), false if it must be refused.
inline bool model_move(std::string& s, std::uint64_t dest, std::uint64_t src, std::uint64_t n) {
  if (src + n > s.size() || dest + n > s.size())
    return false;
  std::string buffer = s.substr(src, n);
  for (std::size_t i = 0; i < n; ++i)
    s[dest + i] = buffer[i];
  return true;
}

inline std::uint64_t model_compact(std::string& s) {
  std::size_t keep = s.size();
  while (keep > 0 && s[keep - 1] == '\0')
    --keep;
  auto removed = s.size() - keep;
  s.resize(keep);
  return removed;
}

/// Every hit of `pat` at or after `off`, by comparing at each position.
inline std::vector<std::uint64_t> naive_search(const std::string& s, const std::string& pat,
                                               std::uint64_t off, bool overlapping) {
  std::vector<std::uint64_t> hits;
  std::size_t i = off;
  while (i < s.size()) {
    if (matches_at(s, pat, i)) {
      hits.push_back(i);
      i += overlapping ? 1 : pat.size();
    } else {
      ++i;
    }
  }
  return hits;
}

inline std::string random_bytes(std::mt19937& rng, std::size_t n, std::string_view alphabet) {
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::string out(n, '\0');
  for (auto& c : out)
    c = alphabet[pick(rng)];
  return out;
}

struct fixture {
  temp_dir dir;
};

/// Precondition of the tests that read dirtiness from /proc/self/smaps: a disk filesystem cleans
/// a file's pages on msync(MS_SYNC), tmpfs keeps them dirty and the oracle cannot work there.
inline boost::test_tools::assertion_result msync_cleans_pages_here(boost::unit_test::test_unit_id) {
  temp_dir probe;
  auto p = probe / "probe";
  write_file(p, pattern('p', 4 * page));
  auto region = open_region(p, open_mode::read_write);
  if (!region.ok())
    return {false};
  auto r = region->read(0, -1); // faults every page in, clean
  if (!r.ok() || !region->sync().ok())
    return {false};
  if (dirty_kib_of(p) == 0)
    return {true};
  boost::test_tools::assertion_result res(false);
  res.message() << "pages of " << p.string() << " stay dirty after msync (tmpfs?)";
  return res;
}

} // namespace
