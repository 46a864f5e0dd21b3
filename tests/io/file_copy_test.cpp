#define BOOST_TEST_MODULE file_copy_test
#include <boost/test/unit_test.hpp>

#include "io/src/file_copy.hpp"

#include "support/describe.hpp"
#include "support/fault_shim.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "support/tiny_tmpfs.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

using actorio::failure;
using actorio::detail::copy_options;
using actorio::test::describe;
using actorio::test::fault_call;
using actorio::test::read_file;
using actorio::test::run_command;
using actorio::test::scoped_fault;
using actorio::test::temp_dir;
using actorio::test::why;
using actorio::test::write_file;

namespace {

constexpr std::uint64_t mib = std::uint64_t{1} << 20;
constexpr std::uint64_t gib = std::uint64_t{1} << 30;

std::string quoted(const fs::path& p) {
  std::string out = "'";
  for (char c : p.string()) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

/// cmp(1) as the oracle for content equality; run_command throws if the files differ.
bool same_bytes(const fs::path& a, const fs::path& b) {
  try {
    run_command("cmp -- " + quoted(a) + " " + quoted(b));
    return true;
  } catch (const std::exception& e) {
    BOOST_TEST_MESSAGE(e.what());
    return false;
  }
}

/// Permission bits as stat(1) prints them, e.g. "644" or "4755".
std::string mode_of(const fs::path& p) {
  auto out = run_command("stat -c %a -- " + quoted(p));
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
    out.pop_back();
  return out;
}

struct ::stat stat_of(const fs::path& p) {
  struct ::stat st {};
  if (::stat(p.c_str(), &st) != 0)
    throw std::system_error(errno, std::generic_category(), "stat " + p.string());
  return st;
}

/// Allocated bytes, from st_blocks (always 512-byte units).
std::uint64_t allocated_bytes(const fs::path& p) {
  return static_cast<std::uint64_t>(stat_of(p).st_blocks) * 512;
}

/// Sorted names in `dir`.
std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

/// A file of `size` bytes that is all hole except `chunks` (offset, bytes).
void make_sparse(const fs::path& p, std::uint64_t size,
                 const std::vector<std::pair<std::uint64_t, std::string>>& chunks) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::system_error(errno, std::generic_category(), "open " + p.string());
  bool ok = ::ftruncate(fd, static_cast<off_t>(size)) == 0;
  for (const auto& [off, bytes] : chunks)
    ok = ok && ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(off)) ==
                 static_cast<ssize_t>(bytes.size());
  ::close(fd);
  if (!ok)
    throw std::runtime_error("cannot write sparse file " + p.string());
}

std::string pattern(char seed, std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<char>(seed + static_cast<char>(i % 61));
  return out;
}

/// Qualified and renamed on purpose: with fs::path arguments an unqualified copy_file(a, b, {})
/// or copy(a, b, {}) finds the std::filesystem function by ADL and silently calls that instead.
actorio::result<std::uint64_t> do_copy(const fs::path& src, const fs::path& dst,
                                       const copy_options& opts) {
  return actorio::detail::copy_file(src.string(), dst.string(), opts);
}

struct fixture {
  temp_dir dir;
};

/// A scratch directory on a filesystem other than the temp_dir's, or empty if there is none.
struct foreign_dir {
  foreign_dir(const fs::path& home) {
    std::string tmpl = "/dev/shm/actorio-test-XXXXXX";
    if (!fs::is_directory("/dev/shm") || ::mkdtemp(tmpl.data()) == nullptr)
      return;
    path = tmpl;
    if (stat_of(path).st_dev == stat_of(home).st_dev) {
      fs::remove_all(path);
      path.clear();
    }
  }
  ~foreign_dir() {
    std::error_code ignored;
    if (!path.empty())
      fs::remove_all(path, ignored);
  }
  fs::path path;
};

boost::test_tools::assertion_result another_filesystem_at_dev_shm(boost::unit_test::test_unit_id) {
  temp_dir home;
  if (!foreign_dir{home.path()}.path.empty())
    return {true};
  boost::test_tools::assertion_result res(false);
  res.message() << "/dev/shm is missing or on the same filesystem as " << home.path().string();
  return res;
}

const fs::path sysfs_attribute = "/sys/kernel/mm/transparent_hugepage/enabled";

boost::test_tools::assertion_result sysfs_attribute_with_a_size(boost::unit_test::test_unit_id) {
  struct ::stat st {};
  if (::stat(sysfs_attribute.c_str(), &st) == 0 && st.st_size != 0)
    return {true};
  boost::test_tools::assertion_result res(false);
  res.message() << sysfs_attribute.string() << " is missing or of size 0";
  return res;
}

/// Restores the working directory, so the relative-path test cannot leak into others.
struct cwd_guard {
  fs::path saved = fs::current_path();
  ~cwd_guard() {
    fs::current_path(saved);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(file_copy, fixture)

BOOST_AUTO_TEST_CASE(copy_has_identical_bytes_per_cmp) {
  auto src = dir / "src.bin";
  auto dst = dir / "dst.bin";
  std::string bytes = pattern('a', 100'000);
  bytes[5] = '\0';
  write_file(src, bytes);
  auto r = do_copy(src, dst, {});
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(*r == bytes.size());
  BOOST_TEST(same_bytes(src, dst));
}

BOOST_AUTO_TEST_CASE(copy_counts_progress_and_a_cancel_leaves_no_destination) {
  auto src = dir / "src.bin";
  write_file(src, pattern('a', 3'000'000));
  actorio::detail::work_control counting{1, std::chrono::milliseconds(0), {}};
  auto r = do_copy(src, dir / "counted", {{}, &counting});
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(counting.snapshot().bytes_done == 3'000'000u);
  actorio::detail::work_control cancelled{1, std::chrono::milliseconds(0), {}};
  cancelled.cancel();
  auto c = do_copy(src, dir / "cancelled", {{}, &cancelled});
  BOOST_REQUIRE(!c.ok());
  BOOST_TEST(c.error().code == ECANCELED);
  BOOST_TEST(c.error().path == src.string());
  // Only the source and the first copy: no destination, no temporary.
  BOOST_TEST(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator{}) == 2);
}

BOOST_AUTO_TEST_CASE(copy_keeps_mode_bits) {
  // 0444: written through an fd opened before the mode is set. 04755: setuid would be cleared
  // by a write after fchmod.
  for (auto mode : {0644, 0444, 0751, 0604, 04755, 02710}) {
    auto src = dir / ("src-" + std::to_string(mode));
    auto dst = dir / ("dst-" + std::to_string(mode));
    write_file(src, "mode test");
    BOOST_REQUIRE(::chmod(src.c_str(), static_cast<mode_t>(mode)) == 0);
    auto r = do_copy(src, dst, {});
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(mode_of(dst) == mode_of(src));
    BOOST_TEST(same_bytes(src, dst));
  }
}

BOOST_AUTO_TEST_CASE(copy_of_empty_file_is_empty) {
  auto src = dir / "empty";
  auto dst = dir / "empty.copy";
  write_file(src, "");
  auto r = do_copy(src, dst, {});
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(*r == 0u);
  BOOST_TEST(fs::is_regular_file(dst));
  BOOST_TEST(fs::file_size(dst) == 0u);
}

BOOST_AUTO_TEST_CASE(copy_preserves_holes_of_sparse_file) {
  auto src = dir / "sparse";
  auto dst = dir / "sparse.copy";
  make_sparse(src, gib,
              {{0, pattern('A', 5000)},
               {gib / 2 + 12345, pattern('M', 7000)},
               {gib - 3000, pattern('Z', 3000)}});
  BOOST_REQUIRE(fs::file_size(src) == gib);
  // Without holes in the source this test would prove nothing.
  BOOST_REQUIRE(allocated_bytes(src) < mib);
  auto r = do_copy(src, dst, {});
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(*r == gib);
  BOOST_TEST(fs::file_size(dst) == gib);
  BOOST_TEST(allocated_bytes(dst) < mib);
  BOOST_TEST(same_bytes(src, dst));
}

BOOST_AUTO_TEST_CASE(copy_preserves_trailing_hole) {
  auto src = dir / "tail-hole";
  auto dst = dir / "tail-hole.copy";
  make_sparse(src, 256 * mib, {{100, pattern('t', 4000)}});
  auto r = do_copy(src, dst, {});
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(fs::file_size(dst) == 256 * mib);
  BOOST_TEST(allocated_bytes(dst) < mib);
  BOOST_TEST(same_bytes(src, dst));
}

BOOST_AUTO_TEST_CASE(existing_destination_is_eexist_and_untouched) {
  auto src = dir / "src";
  auto dst = dir / "dst";
  write_file(src, "new content");
  write_file(dst, "old");
  BOOST_REQUIRE(::chmod(dst.c_str(), 0600) == 0);
  auto inode = stat_of(dst).st_ino;
  auto r = do_copy(src, dst, {});
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == EEXIST, why(r));
  BOOST_TEST(r.error().op == "copy");
  BOOST_TEST(r.error().path == dst.string());
  BOOST_TEST(read_file(dst) == "old");
  BOOST_TEST(mode_of(dst) == "600");
  BOOST_TEST(stat_of(dst).st_ino == inode);
}

BOOST_AUTO_TEST_CASE(overwrite_replaces_destination) {
  auto src = dir / "src";
  auto dst = dir / "dst";
  write_file(src, "short");
  write_file(dst, pattern('o', 50'000));
  BOOST_REQUIRE(::chmod(src.c_str(), 0640) == 0);
  BOOST_REQUIRE(::chmod(dst.c_str(), 0777) == 0);
  auto r = do_copy(src, dst, {{.replace = true}});
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(*r == 5u);
  BOOST_TEST(same_bytes(src, dst));
  BOOST_TEST(mode_of(dst) == "640");
  BOOST_TEST(entries(dir.path()) == (std::vector<std::string>{"dst", "src"}));
}

BOOST_AUTO_TEST_CASE(missing_source_is_enoent_with_source_path) {
  auto src = dir / "nope";
  auto dst = dir / "dst";
  auto r = do_copy(src, dst, {});
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == ENOENT, why(r));
  BOOST_TEST(r.error().op == "copy");
  BOOST_TEST(r.error().path == src.string());
  BOOST_TEST(!fs::exists(dst));
}

BOOST_AUTO_TEST_CASE(directory_source_is_eisdir) {
  auto src = dir / "subdir";
  auto dst = dir / "dst";
  fs::create_directory(src);
  auto r = do_copy(src, dst, {});
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == EISDIR, why(r));
  BOOST_TEST(r.error().path == src.string());
  BOOST_TEST(!fs::exists(dst));
}

BOOST_AUTO_TEST_CASE(fifo_source_is_einval_without_blocking) {
  // A FIFO has no writer here; opening it for reading must not wait for one.
  auto src = dir / "fifo";
  auto dst = dir / "dst";
  BOOST_REQUIRE(::mkfifo(src.c_str(), 0644) == 0);
  auto r = do_copy(src, dst, {});
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == EINVAL, why(r));
  BOOST_TEST(r.error().path == src.string());
  BOOST_TEST(!fs::exists(dst));
}

BOOST_AUTO_TEST_CASE(missing_destination_directory_is_enoent_with_dest_path) {
  auto src = dir / "src";
  auto dst = dir / "missing" / "dst";
  write_file(src, "x");
  auto r = do_copy(src, dst, {});
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == ENOENT, why(r));
  BOOST_TEST(r.error().path == dst.string());
  BOOST_TEST(!fs::exists(dir / "missing"));
}

BOOST_AUTO_TEST_CASE(no_temporary_left_after_failure) {
  // EEXIST is only detected at the rename, after the temporary was fully written.
  auto src = dir / "src";
  auto dst = dir / "dst";
  write_file(src, pattern('s', 300'000));
  write_file(dst, "keep");
  auto r = do_copy(src, dst, {});
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == EEXIST, why(r));
  BOOST_TEST(entries(dir.path()) == (std::vector<std::string>{"dst", "src"}));
  // Same after an early failure.
  auto r2 = do_copy(dir / "absent", dir / "other", {});
  BOOST_REQUIRE(!r2.ok());
  BOOST_TEST(entries(dir.path()) == (std::vector<std::string>{"dst", "src"}));
}

BOOST_AUTO_TEST_CASE(large_file_copy_matches) {
  auto src = dir / "large";
  auto dst = dir / "large.copy";
  run_command("head -c " + std::to_string(40 * mib) + " /dev/urandom > " + quoted(src));
  BOOST_REQUIRE(fs::file_size(src) == 40 * mib);
  auto r = do_copy(src, dst, {});
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(*r == 40 * mib);
  BOOST_TEST(same_bytes(src, dst));
}

BOOST_AUTO_TEST_CASE(flush_option_copies_too) {
  auto src = dir / "src";
  auto dst = dir / "dst";
  write_file(src, pattern('f', 70'000));
  BOOST_REQUIRE(::chmod(src.c_str(), 0612) == 0);
  auto r = do_copy(src, dst, {{.flush = true}});
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(*r == 70'000u);
  BOOST_TEST(same_bytes(src, dst));
  BOOST_TEST(mode_of(dst) == "612");
  write_file(src, "second");
  auto r2 = do_copy(src, dst, {{.flush = true, .replace = true}});
  BOOST_REQUIRE_MESSAGE(r2.ok(), why(r2));
  BOOST_TEST(read_file(dst) == "second");
}

BOOST_AUTO_TEST_CASE(relative_paths_use_working_directory) {
  cwd_guard guard;
  fs::current_path(dir.path());
  write_file("src", "relative");
  auto r = do_copy("src", "dst", {});
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(read_file(dir / "dst") == "relative");
  BOOST_TEST(entries(dir.path()) == (std::vector<std::string>{"dst", "src"}));
}

BOOST_AUTO_TEST_CASE(copy_across_filesystems_matches,
                     *boost::unit_test::precondition(another_filesystem_at_dev_shm)) {
  // copy_file_range refuses most cross-filesystem copies (EXDEV), so this runs the
  // pread/pwrite fallback, holes included.
  foreign_dir other{dir.path()};
  BOOST_REQUIRE(!other.path.empty());
  auto src = other.path / "sparse";
  auto dst = dir / "sparse.copy";
  make_sparse(src, 64 * mib, {{10, pattern('x', 9000)}, {64 * mib - 10, "0123456789"}});
  BOOST_REQUIRE(::chmod(src.c_str(), 0700) == 0);
  auto r = do_copy(src, dst, {});
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(*r == 64 * mib);
  BOOST_TEST(same_bytes(src, dst));
  BOOST_TEST(mode_of(dst) == "700");
  BOOST_TEST(allocated_bytes(dst) < mib);
}

// ---- fault injection (support/fault_shim.cpp) ------------------------------------------------

BOOST_AUTO_TEST_CASE(copy_falls_back_to_read_write_when_copy_file_range_declines) {
  auto src = dir / "src.bin";
  auto dst = dir / "dst.bin";
  write_file(src, pattern('f', 3 * mib + 17));
  for (int err : {EXDEV, EINVAL, EOPNOTSUPP, ENOSYS}) {
    BOOST_TEST_CONTEXT("errno " << err) {
      scoped_fault fault{fault_call::copy_file_range, err, dir.path().string()};
      auto r = do_copy(src, dst, {{.replace = true}});
      BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
      BOOST_TEST(scoped_fault::hits() == 1); // declined once, then never asked again
      BOOST_TEST(same_bytes(src, dst));
    }
  }
}

BOOST_AUTO_TEST_CASE(enospc_from_copy_file_range_fails_and_leaves_nothing) {
  auto src = dir / "src.bin";
  write_file(src, pattern('n', 2 * mib));
  scoped_fault fault{fault_call::copy_file_range, ENOSPC, dir.path().string()};
  auto r = do_copy(src, dir / "dst.bin", {});
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == ENOSPC, why(r));
  BOOST_TEST(r.error().path == (dir / "dst.bin").string());
  BOOST_TEST(entries(dir.path()) == (std::vector<std::string>{"src.bin"}));
}

BOOST_AUTO_TEST_CASE(enospc_from_the_write_fallback_fails_and_leaves_nothing) {
  auto src = dir / "src.bin";
  write_file(src, pattern('w', 2 * mib));
  scoped_fault declines{fault_call::copy_file_range, EXDEV, dir.path().string()};
  scoped_fault full{fault_call::pwrite, ENOSPC, dir.path().string()};
  auto r = do_copy(src, dir / "dst.bin", {});
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == ENOSPC, why(r));
  BOOST_TEST(r.error().path == (dir / "dst.bin").string());
  BOOST_TEST(entries(dir.path()) == (std::vector<std::string>{"src.bin"}));
}

BOOST_AUTO_TEST_CASE(fsync_failure_with_flush_fails_and_leaves_nothing) {
  auto src = dir / "src.bin";
  write_file(src, pattern('s', 100'000));
  scoped_fault fault{fault_call::fsync, EIO, dir.path().string()};
  auto r = do_copy(src, dir / "dst.bin", {{.flush = true}});
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == EIO, why(r));
  BOOST_TEST(entries(dir.path()) == (std::vector<std::string>{"src.bin"}));
}

BOOST_AUTO_TEST_CASE(verify_catches_a_copy_that_copy_file_range_silently_zeroed) {
  auto src = dir / "src.bin";
  write_file(src, pattern('v', 1 * mib));
  scoped_fault fault{fault_call::copy_file_range, 0, dir.path().string()};
  auto r = do_copy(src, dir / "dst.bin", {{.verify = true}});
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == EIO, why(r));
  BOOST_TEST(r.error().detail.find("verify") != std::string::npos, why(r));
  BOOST_TEST(entries(dir.path()) == (std::vector<std::string>{"src.bin"}));
  // Without verify the same bug goes unnoticed: the check above is what caught it.
  auto unverified = do_copy(src, dir / "bad.bin", {});
  BOOST_REQUIRE_MESSAGE(unverified.ok(), why(unverified));
  BOOST_TEST(!same_bytes(src, dir / "bad.bin"));
}

BOOST_AUTO_TEST_CASE(verify_passes_a_good_copy) {
  auto src = dir / "src.bin";
  auto dst = dir / "dst.bin";
  make_sparse(src, 4 * mib, {{0, "head"}, {3 * mib, pattern('t', 5000)}});
  auto r = do_copy(src, dst, {{.verify = true}});
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(same_bytes(src, dst));
}

BOOST_AUTO_TEST_CASE(copy_onto_a_full_filesystem_fails_with_enospc_and_leaves_nothing,
                     *boost::unit_test::precondition(actorio::test::tmpfs_can_be_mounted)) {
  actorio::test::tiny_tmpfs small{dir / "mnt", 256 * 1024};
  BOOST_REQUIRE_MESSAGE(small.mounted(), "tmpfs mount refused: " << std::strerror(small.error()));
  auto src = dir / "src.bin";
  write_file(src, pattern('e', 1 * mib));
  for (bool verify : {false, true}) {
    auto r = do_copy(src, small / "dst.bin", {{.verify = verify}});
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().code == ENOSPC, why(r));
    BOOST_TEST(fs::is_empty(small / ""));
  }
  // The filesystem is still usable: a copy that fits succeeds.
  write_file(dir / "small.bin", "fits");
  auto ok = do_copy(dir / "small.bin", small / "small.bin", {{.verify = true}});
  BOOST_REQUIRE_MESSAGE(ok.ok(), why(ok));
  BOOST_TEST(read_file(small / "small.bin") == "fits");
}

BOOST_AUTO_TEST_CASE(a_proc_file_whose_size_says_0_copies_all_its_bytes_as_cp_does) {
  auto ours = dir / "ours";
  auto theirs = dir / "theirs";
  BOOST_REQUIRE(stat_of("/proc/version").st_size == 0);
  for (bool verify : {false, true}) {
    fs::remove(ours);
    auto r = do_copy("/proc/version", ours, {{.verify = verify}});
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    run_command("cp /proc/version " + quoted(theirs));
    BOOST_TEST(fs::file_size(theirs) > 0u);
    BOOST_TEST(*r == fs::file_size(theirs));
    BOOST_TEST(same_bytes(ours, theirs));
  }
}

BOOST_AUTO_TEST_CASE(a_sysfs_file_whose_size_says_a_page_copies_what_reading_it_gives,
                     *boost::unit_test::precondition(sysfs_attribute_with_a_size)) {
  // sysfs reports 4096 bytes for attributes of a few bytes.
  const fs::path& attribute = sysfs_attribute;
  auto ours = dir / "ours";
  auto theirs = dir / "theirs";
  auto r = do_copy(attribute, ours, {});
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  run_command("cp " + quoted(attribute) + " " + quoted(theirs));
  BOOST_TEST(*r == fs::file_size(theirs));
  BOOST_TEST(same_bytes(ours, theirs));
}

BOOST_AUTO_TEST_CASE(an_empty_regular_file_still_copies_as_empty) {
  auto src = dir / "empty";
  write_file(src, "");
  auto r = do_copy(src, dir / "copy", {{.verify = true}});
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(*r == 0u);
  BOOST_TEST(fs::file_size(dir / "copy") == 0u);
}

BOOST_AUTO_TEST_CASE(replace_swaps_in_the_copy_and_leaves_no_temporary) {
  auto src = dir / "src";
  auto dst = dir / "dst";
  write_file(src, pattern('n', 70'000));
  write_file(dst, "old");
  auto old_inode = stat_of(dst).st_ino;
  auto r = do_copy(src, dst, {{.replace = true, .target = actorio::copy_target::file}});
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(same_bytes(src, dst));
  BOOST_TEST(stat_of(dst).st_ino != old_inode);
  BOOST_TEST(entries(dir.path()) == (std::vector<std::string>{"dst", "src"}));
}

BOOST_AUTO_TEST_CASE(replace_of_the_source_itself_or_a_hard_link_to_it_is_einval) {
  auto src = dir / "src";
  write_file(src, "keep me");
  fs::create_hard_link(src, dir / "link");
  for (const auto& dst : {src, dir / "link"}) {
    auto r = do_copy(src, dst, {{.replace = true}});
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().code == EINVAL, why(r));
    BOOST_TEST(r.error().path == dst.string());
  }
  BOOST_TEST(read_file(src) == "keep me");
  BOOST_TEST(entries(dir.path()) == (std::vector<std::string>{"link", "src"}));
}

BOOST_AUTO_TEST_CASE(a_directory_target_copies_into_it_under_the_source_name) {
  write_file(dir / "a.txt", "alpha");
  fs::create_directory(dir / "into");
  fs::create_directory_symlink("into", dir / "via-link");
  auto r = do_copy(dir / "a.txt", dir / "into", {{.target = actorio::copy_target::directory}});
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(read_file(dir / "into" / "a.txt") == "alpha");
  // Again through a symlink to the directory, replacing the copy made above.
  write_file(dir / "a.txt", "alpha 2");
  auto again = do_copy(dir / "a.txt", dir / "via-link",
                       {{.replace = true, .target = actorio::copy_target::file_or_directory}});
  BOOST_REQUIRE_MESSAGE(again.ok(), why(again));
  BOOST_TEST(read_file(dir / "into" / "a.txt") == "alpha 2");
  BOOST_TEST(entries(dir / "into") == (std::vector<std::string>{"a.txt"}));
}

BOOST_AUTO_TEST_CASE(file_or_directory_names_the_file_itself_when_it_is_no_directory) {
  write_file(dir / "a", "alpha");
  write_file(dir / "b", "bravo");
  auto opts = copy_options{{.replace = true, .target = actorio::copy_target::file_or_directory}};
  auto replaced = do_copy(dir / "a", dir / "b", opts);
  BOOST_REQUIRE_MESSAGE(replaced.ok(), why(replaced));
  BOOST_TEST(read_file(dir / "b") == "alpha");
  auto created = do_copy(dir / "a", dir / "new", opts);
  BOOST_REQUIRE_MESSAGE(created.ok(), why(created));
  BOOST_TEST(read_file(dir / "new") == "alpha");
}

BOOST_AUTO_TEST_CASE(a_directory_target_that_is_a_file_or_missing_fails_and_makes_nothing) {
  write_file(dir / "a", "alpha");
  write_file(dir / "plain", "plain");
  auto opts = copy_options{{.target = actorio::copy_target::directory}};
  auto file = do_copy(dir / "a", dir / "plain", opts);
  BOOST_REQUIRE(!file.ok());
  BOOST_TEST(file.error().code == ENOTDIR, why(file));
  BOOST_TEST(file.error().path == (dir / "plain").string());
  auto missing = do_copy(dir / "a", dir / "nowhere", opts);
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().code == ENOENT, why(missing));
  BOOST_TEST(missing.error().path == (dir / "nowhere").string());
  BOOST_TEST(read_file(dir / "plain") == "plain");
  BOOST_TEST(entries(dir.path()) == (std::vector<std::string>{"a", "plain"}));
}

BOOST_AUTO_TEST_SUITE_END()
