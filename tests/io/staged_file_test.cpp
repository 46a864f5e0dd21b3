#define BOOST_TEST_MODULE staged_file_test
#include <boost/test/unit_test.hpp>

#include "io/src/staged_file.hpp"

#include "support/describe.hpp"
#include "support/fault_shim.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

#include <cerrno>
#include <filesystem>
#include <memory>
#include <set>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

using actorio::detail::file_opener;
using actorio::detail::path_sandbox;
using actorio::detail::staged_file;
using actorio::test::fault_call;
using actorio::test::read_file;
using actorio::test::run_command;
using actorio::test::scoped_fault;
using actorio::test::temp_dir;
using actorio::test::why;
using actorio::test::write_file;

namespace {

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    out.insert(e.path().filename().string());
  return out;
}

std::span<const char> view(const std::string& s) {
  return {s.data(), s.size()};
}

/// Stages `dst` (relative to `root`) through a sandbox of `root`.
actorio::result<staged_file> stage_in(const fs::path& root, const std::string& dst) {
  auto box = path_sandbox::open(root.string());
  BOOST_REQUIRE(box.ok());
  return staged_file::create(dst, file_opener{std::make_shared<path_sandbox>(std::move(*box))});
}

} // namespace

BOOST_AUTO_TEST_SUITE(staged_file_tests)

BOOST_AUTO_TEST_CASE(the_file_has_no_name_until_commit_gives_it_the_destinations) {
  temp_dir dir;
  auto f = stage_in(dir.path(), "out.bin");
  BOOST_TEST_REQUIRE(f.ok(), why(f));
  // Out of order, with a hole between the pieces.
  BOOST_TEST(*f->write(10, view("world")) == 5u);
  BOOST_TEST(*f->write(0, view("hello")) == 5u);
  BOOST_TEST(names_in(dir.path()).empty());
  auto done = f->commit(false);
  BOOST_TEST(done.ok(), why(done));
  BOOST_TEST((read_file(dir / "out.bin") == std::string{"hello"} + std::string(5, '\0') + "world"));
  BOOST_TEST((names_in(dir.path()) == std::set<std::string>{"out.bin"}));
}

BOOST_AUTO_TEST_CASE(only_a_flushed_commit_fsyncs_and_its_failure_leaves_nothing) {
  temp_dir dir;
  scoped_fault fault{fault_call::fsync, EIO, dir.path().string()};
  auto flushed = stage_in(dir.path(), "flushed");
  BOOST_TEST_REQUIRE(flushed.ok(), why(flushed));
  flushed->write(0, view("bytes"));
  auto failed = flushed->commit(true);
  BOOST_TEST_REQUIRE(!failed.ok());
  BOOST_TEST(failed.error().code == EIO);
  BOOST_TEST(names_in(dir.path()).empty());
  auto unflushed = stage_in(dir.path(), "unflushed");
  BOOST_TEST_REQUIRE(unflushed.ok(), why(unflushed));
  unflushed->write(0, view("bytes"));
  auto done = unflushed->commit(false);
  BOOST_TEST(done.ok(), why(done));
  BOOST_TEST(read_file(dir / "unflushed") == "bytes");
}

BOOST_AUTO_TEST_CASE(commit_replaces_an_existing_destination_with_a_new_file) {
  temp_dir dir;
  write_file(dir / "f", "old");
  fs::create_hard_link(dir / "f", dir / "link");
  auto f = stage_in(dir.path(), "f");
  BOOST_TEST_REQUIRE(f.ok(), why(f));
  f->write(0, view("new content"));
  BOOST_TEST(f->commit(false).ok());
  BOOST_TEST(read_file(dir / "f") == "new content");
  // A new inode: the old one lives on under its other name.
  BOOST_TEST(read_file(dir / "link") == "old");
  BOOST_TEST((names_in(dir.path()) == std::set<std::string>{"f", "link"}));
}

BOOST_AUTO_TEST_CASE(a_discarded_or_dropped_file_leaves_nothing_and_the_destination_as_it_was) {
  temp_dir dir;
  write_file(dir / "kept", "kept");
  {
    auto f = stage_in(dir.path(), "kept");
    BOOST_TEST_REQUIRE(f.ok(), why(f));
    f->write(0, view("never seen"));
    f->discard();
    BOOST_TEST(f->write(0, view("x")).error().code == EBADF);
    BOOST_TEST(f->commit(false).error().code == EBADF);
  }
  {
    auto f = stage_in(dir.path(), "other");
    f->write(0, view("dropped"));
  }
  BOOST_TEST(read_file(dir / "kept") == "kept");
  BOOST_TEST((names_in(dir.path()) == std::set<std::string>{"kept"}));
}

BOOST_AUTO_TEST_CASE(the_digest_of_what_was_written_is_sha256sums) {
  temp_dir dir;
  std::string data(100000, 'x');
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>(i * 31 + i / 251);
  write_file(dir / "oracle", data);
  auto f = stage_in(dir.path(), "f");
  f->write(0, view(data));
  std::istringstream out{run_command("sha256sum '" + (dir / "oracle").string() + "'")};
  std::string expected;
  out >> expected;
  BOOST_TEST(*f->digest("sha256") == expected);
}

BOOST_AUTO_TEST_CASE(destinations_outside_the_root_missing_or_directories_are_refused) {
  temp_dir dir;
  fs::create_directory(dir / "sub");
  BOOST_TEST(stage_in(dir.path(), "../escaped").error().code == EACCES);
  BOOST_TEST(stage_in(dir.path(), "/tmp/escaped").error().code == EACCES);
  BOOST_TEST(stage_in(dir.path(), "nodir/f").error().code == ENOENT);
  BOOST_TEST(stage_in(dir.path(), "sub/..").error().code == EISDIR);
  auto f = stage_in(dir.path(), "f");
  BOOST_TEST(f->write(-1, view("x")).error().code == EINVAL);
  BOOST_TEST(names_in(dir.path()) == std::set<std::string>{"sub"});
}

BOOST_AUTO_TEST_SUITE_END()
