#define BOOST_TEST_MODULE file_tree_walk_test
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/src/file_tree_walk.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace actorio;
using namespace actorio::detail;

namespace {

void spit(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream{p, std::ios::binary} << bytes;
}

/// The oracle: std::filesystem's own walk (symlinks not followed), regular files only, sorted as
/// strings, i.e. by bytes.
std::vector<std::string> regular_files_below(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && !e.is_symlink())
      out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

struct fixture {
  test::temp_dir dir;
  fs::path tree = dir / "tree";
  file_opener plain;

  fixture() {
    // Names whose byte order differs from a per-directory sort of plain names: '-' (0x2d) and
    // '.' (0x2e) sort before '/' (0x2f), so "a-c" and "a.txt" come before everything in "a/".
    for (auto leaf : {"a/b", "a/z/deep", "a-c", "a.txt", "B", "a/b.d/x", "sub dir/new\nline", "d/e",
                      "a/y/1", "a/y/2", "zz"})
      spit(tree / leaf, leaf);
    fs::create_directories(tree / "void");
  }

  /// Every page of the walk of `path`, concatenated; the errors of all pages into `errors`.
  std::vector<std::string> walk_all(const std::string& path, walk_options opts,
                                    std::vector<failure>* errors = nullptr,
                                    const file_opener* opener = nullptr) {
    std::vector<std::string> out;
    std::string after;
    for (int pages = 0; pages < 10000; ++pages) {
      auto page = walk_tree(path, path, opts, after, opener ? *opener : plain, nullptr);
      if (!page)
        BOOST_FAIL(to_string(page.error()));
      out.insert(out.end(), page->files.begin(), page->files.end());
      if (errors)
        errors->insert(errors->end(), page->errors.begin(), page->errors.end());
      if (page->done)
        return out;
      after = page->next;
    }
    BOOST_FAIL("the walk never ended");
    return out;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(file_tree_walk, fixture)

BOOST_AUTO_TEST_CASE(lists_the_regular_files_in_byte_order_of_their_whole_paths) {
  auto files = walk_all(tree.string(), {});
  auto expected = regular_files_below(tree);
  BOOST_TEST(files == expected, boost::test_tools::per_element());
  BOOST_TEST(std::is_sorted(files.begin(), files.end()));
}

BOOST_AUTO_TEST_CASE(pages_of_any_size_join_to_the_whole_listing) {
  auto expected = regular_files_below(tree);
  for (std::uint32_t size : {1u, 2u, 3u, 5u, 100u}) {
    BOOST_TEST_CONTEXT("page size " << size) {
      walk_options opts;
      opts.page_size = size;
      auto first = walk_tree(tree.string(), tree.string(), opts, "", plain, nullptr);
      BOOST_REQUIRE(first);
      BOOST_TEST(first->files.size() <= size);
      BOOST_TEST(walk_all(tree.string(), opts) == expected, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(paths_keep_the_directory_as_given) {
  auto slash = walk_all(tree.string() + "/", {});
  BOOST_REQUIRE(!slash.empty());
  BOOST_TEST(slash.front() == (tree / "B").string());
  auto cwd = fs::current_path();
  fs::current_path(dir.path());
  auto relative = walk_all("tree", {});
  fs::current_path(cwd);
  BOOST_REQUIRE(!relative.empty());
  BOOST_TEST(relative.front() == "tree/B");
}

BOOST_AUTO_TEST_CASE(a_file_given_as_the_directory_is_listed_alone_and_a_missing_one_fails) {
  auto file = (tree / "zz").string();
  BOOST_TEST(walk_all(file, {}) == std::vector<std::string>{file},
             boost::test_tools::per_element());
  auto missing = walk_tree((tree / "nope").string(), "nope", {}, "", plain, nullptr);
  BOOST_REQUIRE(!missing);
  BOOST_TEST(missing.error().code == ENOENT);
  BOOST_TEST(missing.error().path == "nope");
}

BOOST_AUTO_TEST_CASE(fifos_and_sockets_met_in_the_walk_are_skipped) {
  BOOST_REQUIRE(::mkfifo((tree / "fifo").c_str(), 0600) == 0);
  int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  BOOST_REQUIRE(s >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  auto sock = (tree / "a" / "sock").string();
  BOOST_REQUIRE(sock.size() < sizeof addr.sun_path);
  std::copy(sock.begin(), sock.end(), addr.sun_path);
  BOOST_REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  std::vector<failure> errors;
  auto files = walk_all(tree.string(), {}, &errors);
  ::close(s);
  BOOST_TEST(files == regular_files_below(tree), boost::test_tools::per_element());
  BOOST_TEST(errors.empty());
}

BOOST_AUTO_TEST_CASE(symlinks_met_in_the_walk_are_skipped_unless_followed_and_loops_are_errors) {
  fs::create_directory_symlink("a", tree / "B.link");
  fs::create_symlink("zz", tree / "zz.link");
  fs::create_directory_symlink("..", tree / "a" / "up"); // a loop back to the tree
  fs::create_symlink("missing", tree / "dangling");
  auto plain_files = regular_files_below(tree);
  BOOST_TEST(walk_all(tree.string(), {}) == plain_files, boost::test_tools::per_element());

  walk_options follow;
  follow.follow_symlinks = true;
  std::vector<failure> errors;
  auto files = walk_all(tree.string(), follow, &errors);
  auto t = tree.string() + "/";
  // The linked directory's files appear under the link's name, the linked file under its own.
  for (auto p : {"B.link/b", "B.link/y/1", "zz.link", "a/b"})
    BOOST_TEST((std::find(files.begin(), files.end(), t + p) != files.end()), p);
  BOOST_TEST(std::is_sorted(files.begin(), files.end()));
  BOOST_TEST((std::adjacent_find(files.begin(), files.end()) == files.end()));
  // a/up leads to the tree itself, B.link/up to it too: both are loops; the dangling link fails.
  std::vector<std::string> seen;
  for (const auto& e : errors)
    seen.push_back(e.path + " " + std::to_string(e.code));
  std::vector<std::string> expected{t + "B.link/up " + std::to_string(ELOOP),
                                    t + "a/up " + std::to_string(ELOOP),
                                    t + "dangling " + std::to_string(ENOENT)};
  BOOST_TEST(seen == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(globs_choose_files_by_base_name_and_prune_directories) {
  walk_options opts;
  opts.include = {"*.txt", "b*"};
  auto t = tree.string() + "/";
  BOOST_TEST(walk_all(tree.string(), opts) == (std::vector<std::string>{t + "a.txt", t + "a/b"}),
             boost::test_tools::per_element());
  opts = {};
  opts.exclude = {"[0-9]", "a*"};
  opts.exclude_dir = {"a", "sub*"};
  BOOST_TEST(walk_all(tree.string(), opts) ==
               (std::vector<std::string>{t + "B", t + "d/e", t + "zz"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_confined_walk_refuses_symlinks_that_lead_out_of_the_root) {
  spit(dir / "secret" / "key", "outside");
  fs::create_directory_symlink("../../secret", tree / "a" / "out");
  fs::create_symlink((dir / "secret" / "key").string(), tree / "abs");
  fs::create_directory_symlink("../a/y", tree / "d" / "in");
  auto box = path_sandbox::open(tree.string());
  BOOST_REQUIRE(box);
  file_opener confined{std::make_shared<const path_sandbox>(std::move(*box))};
  walk_options follow;
  follow.follow_symlinks = true;
  std::vector<failure> errors;
  auto files = walk_all(".", follow, &errors, &confined);
  for (const auto& f : files)
    BOOST_TEST(f.find("out") == std::string::npos, f);
  BOOST_TEST((std::find(files.begin(), files.end(), "./d/in/1") != files.end()));
  BOOST_REQUIRE(errors.size() == 2u);
  BOOST_TEST(errors[0].path == "./a/out");
  BOOST_TEST(errors[0].code == EACCES);
  BOOST_TEST(errors[1].path == "./abs");
  BOOST_TEST(errors[1].code == EACCES);
  // Not followed, the symlinks are simply not listed.
  errors.clear();
  auto unfollowed = walk_all("a", {}, &errors, &confined);
  BOOST_TEST(errors.empty());
  BOOST_TEST(unfollowed ==
               (std::vector<std::string>{"a/b", "a/b.d/x", "a/y/1", "a/y/2", "a/z/deep"}),
             boost::test_tools::per_element());
  // The root itself cannot be left either.
  auto up = walk_tree("..", "..", {}, "", confined, nullptr);
  BOOST_REQUIRE(!up);
  BOOST_TEST(up.error().code == EACCES);
}

BOOST_AUTO_TEST_CASE(an_unreadable_directory_is_an_error_and_the_walk_goes_on) {
  fs::permissions(tree / "a" / "y", fs::perms::none);
  if (::geteuid() != 0) {
    std::vector<failure> errors;
    auto files = walk_all(tree.string(), {}, &errors);
    BOOST_REQUIRE(errors.size() == 1u);
    BOOST_TEST(errors[0].code == EACCES);
    BOOST_TEST(errors[0].path == (tree / "a" / "y").string());
    BOOST_TEST((std::find(files.begin(), files.end(), (tree / "zz").string()) != files.end()));
    return;
  }
  // Root reads every directory: the walk runs as nobody in a child process.
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::others_exec);
  fs::permissions(tree, fs::perms::all);
  pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0)
      ::_exit(10);
    auto page = walk_tree(tree.string(), "t", {}, "", plain, nullptr);
    if (!page)
      ::_exit(11);
    bool one_error =
      page->errors.size() == 1 && page->errors[0].code == EACCES && page->errors[0].path == "t/a/y";
    bool rest_listed = !page->files.empty() && page->files.back() == "t/zz";
    ::_exit(one_error && rest_listed ? 0 : 12);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  fs::permissions(tree / "a" / "y", fs::perms::owner_all);
  BOOST_TEST((WIFEXITED(st) && WEXITSTATUS(st) == 0), "child status " << st);
}

BOOST_AUTO_TEST_CASE(a_cancelled_walk_stops_with_ecanceled) {
  work_control control{0, std::chrono::milliseconds(0), {}};
  control.cancel();
  auto page = walk_tree(tree.string(), "t", {}, "", plain, &control);
  BOOST_REQUIRE(!page);
  BOOST_TEST(page.error().code == ECANCELED);
}

BOOST_AUTO_TEST_SUITE_END()
