#define BOOST_TEST_MODULE path_sandbox_test
#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/src/path_sandbox.hpp"
#include "support/symlink_swapper.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace actorio;
using namespace actorio::detail;
using namespace std::string_literals;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}

void spit(const fs::path& p, const std::string& bytes) {
  std::ofstream{p, std::ios::binary} << bytes;
}

std::string read_fd(int fd) {
  std::string out;
  char buf[256];
  for (ssize_t n; (n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(out.size()))) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  return out;
}

/// A sandbox root `root/` with a file `inside.txt`, next to a canary file outside the root that
/// no refused open may change, and an `outside/` directory that none may create anything in.
struct fixture {
  test::temp_dir dir;
  fs::path root = dir / "root";
  fs::path canary = dir / "canary.txt";
  fs::path outside = dir / "outside";
  path_sandbox box = make();

  path_sandbox make() {
    fs::create_directories(root / "sub");
    fs::create_directories(outside);
    spit(root / "inside.txt", "inside");
    spit(canary, "canary bytes");
    auto b = path_sandbox::open(root.string());
    BOOST_REQUIRE(b);
    return std::move(b).value();
  }

  /// Nothing outside the root changed: the canary is intact and `outside/` is still empty.
  void outside_untouched() {
    BOOST_TEST(slurp(canary) == "canary bytes");
    BOOST_TEST(fs::is_empty(outside));
  }
};

/// Both resolutions: the kernel's openat2 and the component walk used where it is missing.
using opener_fn = std::function<result<unique_fd>(const path_sandbox&, const std::string&, int)>;

const opener_fn kernel = [](const path_sandbox& b, const std::string& p, int flags) {
  return b.open_beneath(p, flags, 0644);
};
const opener_fn walk = [](const path_sandbox& b, const std::string& p, int flags) {
  return walk_beneath(b.root_fd(), p, flags, 0644);
};

void expect_refused(const result<unique_fd>& r, int code, const std::string& path) {
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().code == code,
             "errno " << r.error().code << " (" << r.error().detail << "), expected " << code);
  BOOST_TEST(r.error().path == path);
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(path_sandbox_tests, fixture)

BOOST_AUTO_TEST_CASE(a_file_beneath_the_root_opens_by_either_resolution) {
  for (const auto& open : {kernel, walk}) {
    auto fd = open(box, "inside.txt", O_RDONLY);
    BOOST_REQUIRE(fd);
    BOOST_TEST(read_fd(fd->get()) == "inside");
    auto dotted = open(box, "./sub/../inside.txt", O_RDONLY);
    BOOST_REQUIRE(dotted);
    BOOST_TEST(read_fd(dotted->get()) == "inside");
  }
}

BOOST_AUTO_TEST_CASE(a_trailing_dot_after_a_file_fails_with_enotdir_by_either_resolution) {
  // From fuzz/path_sandbox_fuzzer.cpp: the walk must not open the file itself.
  for (const auto& open : {kernel, walk})
    expect_refused(open(box, "inside.txt/.", O_RDONLY), ENOTDIR, "inside.txt/.");
}

BOOST_AUTO_TEST_CASE(a_root_that_is_not_a_directory_is_refused) {
  auto b = path_sandbox::open((root / "inside.txt").string());
  BOOST_REQUIRE(!b);
  BOOST_TEST(b.error().code == ENOTDIR);
}

BOOST_AUTO_TEST_CASE(an_absolute_path_is_refused_with_eacces) {
  for (const auto& open : {kernel, walk})
    expect_refused(open(box, canary.string(), O_RDWR | O_TRUNC), EACCES, canary.string());
  outside_untouched();
}

BOOST_AUTO_TEST_CASE(dot_dot_escapes_are_refused_with_eacces) {
  for (const auto& open : {kernel, walk}) {
    for (auto p : {"../canary.txt"s, "sub/../../canary.txt"s, "sub/../sub/../../canary.txt"s, ".."s,
                   "sub/../.."s}) {
      expect_refused(open(box, p, O_RDWR | O_TRUNC), EACCES, p);
    }
    expect_refused(open(box, "../outside/new", O_RDWR | O_CREAT), EACCES, "../outside/new");
  }
  outside_untouched();
}

BOOST_AUTO_TEST_CASE(dot_dot_that_stays_inside_works) {
  for (const auto& open : {kernel, walk}) {
    auto fd = open(box, "sub/..", O_RDONLY | O_DIRECTORY);
    BOOST_REQUIRE(fd);
    struct stat a {
    }, b{};
    BOOST_REQUIRE(::fstat(fd->get(), &a) == 0);
    BOOST_REQUIRE(::stat(root.c_str(), &b) == 0);
    BOOST_TEST(a.st_ino == b.st_ino);
  }
}

BOOST_AUTO_TEST_CASE(a_symlink_to_a_file_outside_is_refused) {
  fs::create_symlink("/etc/passwd", root / "passwd");
  fs::create_symlink(canary, root / "canary");
  fs::create_symlink("../canary.txt", root / "relative");
  expect_refused(kernel(box, "passwd", O_RDONLY), EACCES, "passwd");
  expect_refused(kernel(box, "canary", O_RDWR | O_TRUNC), EACCES, "canary");
  expect_refused(kernel(box, "relative", O_RDWR | O_TRUNC), EACCES, "relative");
  expect_refused(kernel(box, "canary", O_RDWR | O_CREAT | O_TRUNC), ELOOP, "canary");
  for (auto p : {"passwd", "canary", "relative"})
    expect_refused(walk(box, p, O_RDWR | O_TRUNC), ELOOP, p);
  outside_untouched();
}

BOOST_AUTO_TEST_CASE(a_symlink_to_a_directory_outside_is_refused) {
  fs::create_symlink(outside, root / "out");
  fs::create_symlink("/etc", root / "etc");
  // openat2 says the link leads outside; the walk refuses every symlink.
  for (auto [open, code] : {std::pair{kernel, EACCES}, std::pair{walk, ELOOP}}) {
    expect_refused(open(box, "etc/passwd", O_RDONLY), code, "etc/passwd");
    expect_refused(open(box, "out/new", O_RDWR | O_CREAT), code, "out/new");
    expect_refused(open(box, "out", O_RDONLY | O_DIRECTORY), code, "out");
  }
  expect_refused(box.open_beneath("out/new", O_RDWR | O_CREAT | O_EXCL, 0644), EACCES, "out/new");
  auto parent = box.open_parent("out/new");
  BOOST_REQUIRE(!parent);
  BOOST_TEST(parent.error().code == EACCES);
  outside_untouched();
}

BOOST_AUTO_TEST_CASE(a_symlink_loop_is_refused_with_eloop) {
  fs::create_symlink("loop_b", root / "loop_a");
  fs::create_symlink("loop_a", root / "loop_b");
  for (const auto& open : {kernel, walk}) {
    expect_refused(open(box, "loop_a", O_RDONLY), ELOOP, "loop_a");
    expect_refused(open(box, "loop_a/x", O_RDONLY), ELOOP, "loop_a/x");
  }
}

BOOST_AUTO_TEST_CASE(a_symlink_that_stays_inside_works_with_openat2_only) {
  fs::create_symlink("inside.txt", root / "link");
  fs::create_symlink("../inside.txt", root / "sub" / "up");
  fs::create_symlink("sub", root / "dirlink");
  for (auto p : {"link", "sub/up", "dirlink/up"}) {
    auto fd = kernel(box, p, O_RDONLY);
    BOOST_REQUIRE_MESSAGE(fd, p);
    BOOST_TEST(read_fd(fd->get()) == "inside");
    expect_refused(walk(box, p, O_RDONLY), ELOOP, p);
  }
}

BOOST_AUTO_TEST_CASE(a_nul_byte_is_refused_with_einval) {
  auto p = "inside.txt\0/../../canary.txt"s;
  for (const auto& open : {kernel, walk})
    expect_refused(open(box, p, O_RDWR | O_TRUNC), EINVAL, p);
  BOOST_TEST(slurp(root / "inside.txt") == "inside");
  outside_untouched();
}

BOOST_AUTO_TEST_CASE(an_empty_path_is_refused_with_enoent) {
  for (const auto& open : {kernel, walk})
    expect_refused(open(box, "", O_RDONLY), ENOENT, "");
}

BOOST_AUTO_TEST_CASE(over_long_names_are_refused_with_enametoolong) {
  auto long_name = std::string(NAME_MAX + 1, 'n');
  std::string long_path;
  while (long_path.size() < PATH_MAX)
    long_path += "sub/";
  long_path += "x";
  for (const auto& open : {kernel, walk}) {
    expect_refused(open(box, long_name, O_RDWR | O_CREAT), ENAMETOOLONG, long_name);
    expect_refused(open(box, long_path, O_RDONLY), ENAMETOOLONG, long_path);
  }
  BOOST_TEST(std::distance(fs::directory_iterator{root}, fs::directory_iterator{}) == 2);
}

BOOST_AUTO_TEST_CASE(create_makes_the_file_beneath_the_root) {
  auto fd = box.open_beneath("sub/new.bin", O_RDWR | O_CREAT | O_EXCL, 0600);
  BOOST_REQUIRE(fd);
  BOOST_TEST(::pwrite(fd->get(), "x", 1, 0) == 1);
  BOOST_TEST(slurp(root / "sub" / "new.bin") == "x");
  expect_refused(box.open_beneath("sub/new.bin", O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST,
                 "sub/new.bin");
  expect_refused(box.open_beneath("sub/", O_RDWR | O_CREAT, 0600), EISDIR, "sub/");
  auto walked = walk(box, "sub/walked.bin", O_RDWR | O_CREAT | O_EXCL);
  BOOST_REQUIRE(walked);
  BOOST_TEST(fs::exists(root / "sub" / "walked.bin"));
}

BOOST_AUTO_TEST_CASE(create_never_follows_a_symlink_in_the_last_component) {
  fs::create_symlink(outside / "made", root / "dangling");
  expect_refused(box.open_beneath("dangling", O_RDWR | O_CREAT, 0644), ELOOP, "dangling");
  expect_refused(box.open_beneath("dangling", O_RDWR | O_CREAT | O_EXCL, 0644), EEXIST, "dangling");
  expect_refused(walk(box, "dangling", O_RDWR | O_CREAT), ELOOP, "dangling");
  outside_untouched();
}

BOOST_AUTO_TEST_CASE(the_sandbox_stays_with_the_root_it_opened) {
  // The descriptor pins the directory: a new directory put at the root's path is not used.
  fs::rename(root, dir / "moved");
  fs::create_directories(root);
  spit(root / "inside.txt", "impostor");
  auto fd = box.open_beneath("inside.txt", O_RDONLY);
  BOOST_REQUIRE(fd);
  BOOST_TEST(read_fd(fd->get()) == "inside");
}

BOOST_AUTO_TEST_CASE(a_missing_file_keeps_the_kernels_errno) {
  for (const auto& open : {kernel, walk}) {
    expect_refused(open(box, "missing", O_RDONLY), ENOENT, "missing");
    expect_refused(open(box, "inside.txt/x", O_RDONLY), ENOTDIR, "inside.txt/x");
  }
}

BOOST_AUTO_TEST_CASE(the_plain_opener_opens_any_path_and_the_confined_one_only_beneath) {
  file_opener plain;
  auto fd = plain.open(canary.string(), O_RDONLY, 0, "read");
  BOOST_REQUIRE(fd);
  BOOST_TEST(read_fd(fd->get()) == "canary bytes");
  auto missing = plain.open((dir / "missing").string(), O_RDONLY, 0, "read");
  BOOST_REQUIRE(!missing);
  BOOST_TEST(missing.error().code == ENOENT);
  BOOST_TEST(missing.error().op == "read");

  auto shared = std::make_shared<path_sandbox>(std::move(box));
  file_opener confined{shared};
  expect_refused(confined.open(canary.string(), O_RDONLY, 0, "read"), EACCES, canary.string());
  auto inside = confined.open("inside.txt", O_RDONLY, 0, "read");
  BOOST_REQUIRE(inside);
  BOOST_TEST(read_fd(inside->get()) == "inside");

  spit(root / "sub" / "doomed", "x");
  confined.remove("sub/doomed");
  BOOST_TEST(!fs::exists(root / "sub" / "doomed"));
  confined.remove("../canary.txt");
  outside_untouched();
}

BOOST_AUTO_TEST_CASE(a_component_swapped_with_a_symlink_to_outside_never_resolves_outside) {
  // TOCTOU: while `swapped` flips between a real directory and a symlink to `elsewhere/` (outside
  // the root), every open through it either reaches the real directory or is refused; never
  // `elsewhere/f`, and nothing is created in `elsewhere/`.
  auto elsewhere = dir / "elsewhere";
  fs::create_directories(root / "swapped");
  fs::create_directories(elsewhere);
  spit(root / "swapped" / "f", "inside");
  spit(elsewhere / "f", "elsewhere");
  fs::create_symlink(elsewhere, root / "swap_link");
  struct stat inside_file {};
  struct stat inside_dir {};
  struct stat outside_before {};
  BOOST_REQUIRE(::stat((root / "swapped" / "f").c_str(), &inside_file) == 0);
  BOOST_REQUIRE(::stat((root / "swapped").c_str(), &inside_dir) == 0);
  BOOST_REQUIRE(::stat((elsewhere / "f").c_str(), &outside_before) == 0);
  auto same = [](const struct stat& a, const struct stat& b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
  };
  const std::set<int> refusals{EACCES, ELOOP};
  int created = 0;
  for (const auto& open : {kernel, walk}) {
    int opened = 0;
    int refused = 0;
    test::symlink_swapper swapper{root / "swapped", root / "swap_link"};
    for (int i = 0; i < 4000; ++i) {
      auto kind = i % 4;
      auto path = kind == 2   ? "swapped/new" + std::to_string(i) + "_" + std::to_string(created)
                  : kind == 3 ? "swapped"s
                              : "swapped/f"s;
      // The parent directory as open_parent opens it (O_PATH, so a symlink is opened itself).
      int flags = kind == 0   ? O_RDONLY
                  : kind == 1 ? O_RDWR
                  : kind == 2 ? O_WRONLY | O_CREAT | O_EXCL
                              : O_PATH | O_DIRECTORY;
      swapper.jitter();
      auto r = open(box, path, flags);
      if (!r) {
        BOOST_TEST(refusals.count(r.error().code) == 1,
                   path << ": errno " << r.error().code << " (" << r.error().detail << ")");
        ++refused;
        continue;
      }
      ++opened;
      struct stat st {};
      BOOST_REQUIRE(::fstat(r->get(), &st) == 0);
      if (kind < 2) {
        BOOST_TEST(same(st, inside_file), path << " opened another file");
        BOOST_TEST(read_fd(r->get()) == "inside");
      } else if (kind == 2) {
        ++created;
      } else {
        BOOST_TEST(same(st, inside_dir), path << " opened another directory");
      }
    }
    swapper.stop();
    BOOST_TEST_MESSAGE(swapper.swaps()
                       << " swaps: " << opened << " opened, " << refused << " refused");
    // Both outcomes happened, so the race was really run.
    BOOST_TEST(opened > 0);
    BOOST_TEST(refused > 0);
  }
  auto real = fs::is_symlink(root / "swapped") ? root / "swap_link" : root / "swapped";
  BOOST_TEST(static_cast<int>(std::distance(fs::directory_iterator{real}, {})) == created + 1);
  BOOST_TEST(std::distance(fs::directory_iterator{elsewhere}, {}) == 1);
  struct stat outside_after {};
  BOOST_REQUIRE(::stat((elsewhere / "f").c_str(), &outside_after) == 0);
  BOOST_TEST(slurp(elsewhere / "f") == "elsewhere");
  BOOST_TEST(outside_after.st_mtim.tv_sec == outside_before.st_mtim.tv_sec);
  BOOST_TEST(outside_after.st_mtim.tv_nsec == outside_before.st_mtim.tv_nsec);
  outside_untouched();
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(lexically_normal_agrees_with_std_filesystem) {
  for (std::string p : {"",        "/",        "//",      "///a",   "a",         "/a/b/c", "a/b/c",
                        "a/b/",    "a//b",     "./a",     "a/.",    "a/./b",     "..",     "../a",
                        "a/..",    "a/../..",  "/..",     "/../a",  "a/b/../c",  ".",      "./",
                        "a/.../b", "a/..b/.c", "/a/b/c/", "a/b/..", ".hidden/x", "x/..."})
    BOOST_TEST(lexically_normal(p) == fs::path{p}.lexically_normal().string(), "'" << p << "'");
}
