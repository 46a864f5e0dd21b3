#define BOOST_TEST_MODULE mmap_manager_sandbox_test
#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <filesystem>
#include <functional>
#include <future>
#include <set>
#include <string>
#include <vector>

#include "actorio/actorio.hpp"
#include "support/files.hpp"
#include "support/runtime_fixture.hpp"

namespace fs = std::filesystem;
using namespace actorio;
using namespace actorio::test;
using namespace std::string_literals;

namespace {

runtime_config config_for(const fs::path& root, bool confine, bool read_only) {
  auto cfg = runtime_fixture::make_config();
  cfg.root = root;
  cfg.confine_to_root = confine;
  cfg.read_only = read_only;
  return cfg;
}

/// A root directory holding `inside.txt`, `sub/` and symlinks that lead out of it, next to a
/// canary file and an empty directory that nothing done through the manager may change.
struct layout {
  temp_dir dir;
  fs::path root = dir / "root";
  fs::path canary = dir / "canary.txt";
  fs::path outside = dir / "outside";

  layout() {
    fs::create_directories(root / "sub");
    fs::create_directories(outside);
    write_file(root / "inside.txt", "inside text");
    write_file(canary, "canary bytes");
    fs::create_symlink(canary, root / "to_canary");
    fs::create_symlink("/etc", root / "etc");
    fs::create_symlink(outside, root / "out");
    fs::create_symlink("loop_b", root / "loop_a");
    fs::create_symlink("loop_a", root / "loop_b");
    fs::create_symlink("inside.txt", root / "link");
  }

  void outside_untouched() const {
    BOOST_TEST(read_file(canary) == "canary bytes");
    BOOST_TEST(fs::is_empty(outside));
    BOOST_TEST(!fs::exists(dir / "made"));
  }
};

struct confined : layout {
  runtime rt{config_for(root, true, false)};
  mmap_manager mgr = rt.manager();

  /// Paths that lead outside the root, each with the errnos a refusal may have: EACCES for an
  /// escape, ELOOP for a loop; creating over a symlink refuses to follow it (ELOOP, or EEXIST for
  /// an exclusive create) and that is also fine, as nothing outside is touched.
  std::vector<std::string> escapes() const {
    return {canary.string(), "../canary.txt", "sub/../../canary.txt",
            "to_canary",     "etc/passwd",    "out/made",
            "loop_a",        "../made"};
  }
};

const std::set<int> refusals{EACCES, ELOOP, EEXIST};

template <class Future>
void expect_refused(Future f, const std::string& what) {
  auto e = error_of(std::move(f));
  BOOST_TEST(refusals.count(e.code().value()) == 1, what << ": " << e.what());
}

template <class R>
void expect_refused_item(const R& r, const std::string& what) {
  BOOST_REQUIRE_MESSAGE(!r, what << " succeeded");
  BOOST_TEST(refusals.count(r.error().code) == 1, what << ": " << to_string(r.error()));
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(mmap_manager_sandbox, confined)

BOOST_AUTO_TEST_CASE(a_confined_manager_works_beneath_its_root) {
  auto f = mgr.create("sub/new.bin", 0, true).get();
  f.write("hello", 0).get();
  f.close().get();
  BOOST_TEST(read_file(root / "sub" / "new.bin") == "hello");
  auto linked = mgr.open("link").get();
  BOOST_TEST(text(linked.read().get()) == "inside text");
  BOOST_TEST(mgr.checksum("sub/new.bin", "sha256").get() ==
             run_command("printf hello | sha256sum").substr(0, 64));
  BOOST_TEST(mgr.copy_file("sub/new.bin", "copy.bin").get() == 5u);
  BOOST_TEST(read_file(root / "copy.bin") == "hello");
  // Paths stay relative to the root in what the manager reports.
  auto paths = mgr.open_paths().get();
  BOOST_TEST(paths.count("link") == 1);
}

BOOST_AUTO_TEST_CASE(absolute_and_dot_dot_paths_are_refused_with_eacces) {
  for (auto p : {canary.string(), "../canary.txt"s, "sub/../../canary.txt"s}) {
    auto e = error_of(mgr.checksum(p, "sha256"));
    BOOST_TEST(e.code().value() == EACCES, p << ": " << e.what());
    BOOST_TEST(e.path1() == p);
  }
  BOOST_TEST(error_of(mgr.open("to_canary")).code().value() == EACCES);
  BOOST_TEST(error_of(mgr.open("etc/passwd", 0, "rb")).code().value() == EACCES);
  BOOST_TEST(error_of(mgr.open("loop_a")).code().value() == ELOOP);
  BOOST_TEST(error_of(mgr.open("inside.txt\0/../../canary.txt"s)).code().value() == EINVAL);
  outside_untouched();
}

BOOST_AUTO_TEST_CASE(every_single_operation_refuses_escapes) {
  for (const auto& p : escapes()) {
    expect_refused(mgr.open(p, 0, "r+b"), "open r+b " + p);
    expect_refused(mgr.open(p, 0, "rb"), "open rb " + p);
    expect_refused(mgr.open(p, 100, "r+b"), "open grow " + p);
    expect_refused(mgr.create(p, 4, false), "create w+b " + p);
    expect_refused(mgr.create(p, 4, true), "create x+b " + p);
    expect_refused(mgr.create_sparse(p, 1 << 20, {chunk{0, bytes{'x'}}}), "sparse " + p);
    expect_refused(mgr.checksum(p, "sha256"), "checksum " + p);
    expect_refused(mgr.copy_file(p, "copy.bin"), "copy from " + p);
    expect_refused(mgr.copy_file("inside.txt", p), "copy to " + p);
  }
  BOOST_TEST(!fs::exists(root / "copy.bin"));
  BOOST_TEST(mgr.currently_open().get() == 0u);
  outside_untouched();
}

BOOST_AUTO_TEST_CASE(every_bulk_operation_refuses_escapes_per_item) {
  auto escapes_list = escapes();
  std::map<fs::path, std::optional<std::vector<byte_range>>> reads{{"inside.txt", std::nullopt}};
  std::map<fs::path, std::vector<chunk>> writes{{"inside.txt", {chunk{0, bytes{'I'}}}}};
  std::map<fs::path, std::int64_t> sizes{{"sub/../inside.txt", 11}};
  std::map<fs::path, std::int64_t> starts{{"inside.txt", 0}};
  std::vector<fs::path> paths{"inside.txt"};
  std::vector<std::pair<fs::path, fs::path>> copies{{"inside.txt", "copy.bin"}};
  for (const auto& p : escapes_list) {
    reads[p] = std::nullopt;
    writes[p] = {chunk{0, bytes{'X'}}};
    sizes[p] = 0;
    starts[p] = 0;
    paths.push_back(p);
    copies.push_back({p, "from_" + std::to_string(copies.size())});
    copies.push_back({"inside.txt", p});
  }
  auto read = mgr.bulk_read(reads).get();
  BOOST_TEST(text(read.at("inside.txt")->at(0)) == "inside text");
  auto written = mgr.bulk_write(writes).get();
  BOOST_TEST(*written.at("inside.txt") == 1u);
  auto resized = mgr.bulk_resize(sizes).get();
  BOOST_TEST(*resized.at("sub/../inside.txt") == 11u);
  auto sums = mgr.bulk_checksum(paths, "sha256").get();
  BOOST_TEST(sums.at("inside.txt").ok());
  auto found = mgr.find_in_files("e", starts).get();
  BOOST_TEST(found.at("inside.txt")->size() == 2u);
  auto compacted = mgr.compact_files(paths).get();
  BOOST_TEST(*compacted.at("inside.txt") == 11u);
  auto copied = mgr.bulk_copy(copies).get();
  BOOST_TEST(*copied.at(0) == 11u);
  auto prefetched = mgr.prefetch_files(paths).get();
  BOOST_TEST(prefetched.files.at(0).second.ok());
  for (const auto& p : escapes_list) {
    expect_refused_item(read.at(p), "bulk_read " + p);
    expect_refused_item(written.at(p), "bulk_write " + p);
    expect_refused_item(resized.at(p), "bulk_resize " + p);
    expect_refused_item(sums.at(p), "bulk_checksum " + p);
    // find_in_files leaves out files without a hit, never ones that failed.
    expect_refused_item(found.at(p), "find_in_files " + p);
    expect_refused_item(compacted.at(p), "compact_files " + p);
  }
  for (std::size_t i = 1; i < copies.size(); ++i)
    expect_refused_item(copied.at(i), "bulk_copy " + copies[i].first.string() + " -> " +
                                        copies[i].second.string());
  for (std::size_t i = 1; i < prefetched.files.size(); ++i)
    expect_refused_item(prefetched.files[i].second,
                        "prefetch " + prefetched.files[i].first.string());
  BOOST_TEST(read_file(root / "inside.txt") == "Inside text");
  outside_untouched();
}

BOOST_AUTO_TEST_CASE(a_confined_runtime_needs_its_root) {
  try {
    runtime missing{config_for(dir / "missing", true, false)};
    BOOST_FAIL("a runtime confined to a missing root started");
  } catch (const io_error& e) {
    BOOST_TEST(e.code().value() == ENOENT);
  }
}

BOOST_AUTO_TEST_CASE(caf_config_keys_set_confinement_and_read_only) {
  system_config cfg;
  cfg.set("actorio.confine-to-root", true);
  cfg.set("actorio.read-only", true);
  auto rc = runtime_config::from_caf(cfg);
  BOOST_TEST(rc.confine_to_root);
  BOOST_TEST(rc.read_only);
  auto plain = runtime_config::from_caf(system_config{});
  BOOST_TEST(!plain.confine_to_root);
  BOOST_TEST(!plain.read_only);
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

struct read_only : layout {
  runtime rt{config_for(root, false, true)};
  mmap_manager mgr = rt.manager();

  static void expect_erofs_item(const result<std::uint64_t>& r, const std::string& what) {
    BOOST_REQUIRE_MESSAGE(!r, what << " succeeded");
    BOOST_TEST(r.error().code == EROFS, what << ": " << to_string(r.error()));
  }
};

template <class Future>
void expect_erofs(Future f, const std::string& what) {
  auto e = error_of(std::move(f));
  BOOST_TEST(e.code().value() == EROFS, what << ": " << e.what());
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(mmap_manager_read_only, read_only)

BOOST_AUTO_TEST_CASE(a_read_only_manager_refuses_every_change_with_erofs) {
  expect_erofs(mgr.create("new.bin", 4, false), "create w+b");
  expect_erofs(mgr.create("inside.txt", 0, false), "create w+b over a file");
  expect_erofs(mgr.create("new.bin", 4, true), "create x+b");
  expect_erofs(mgr.create_sparse("new.bin", 4096, {}), "create_sparse");
  expect_erofs(mgr.copy_file("inside.txt", "new.bin"), "copy");
  expect_erofs(mgr.open("inside.txt", 100), "open growing the file");

  auto f = mgr.open("inside.txt").get();
  expect_erofs(f.write("X", 0), "write");
  expect_erofs(f.resize(1), "resize");
  expect_erofs(f.insert("X", 0), "insert");
  expect_erofs(f.erase(0, 1), "erase");
  expect_erofs(f.replace("inside", "INSIDE", 0, -1), "replace");
  expect_erofs(f.fill("X", 0, 3), "fill");
  expect_erofs(f.copy_range(0, 1, 2), "copy_range");
  expect_erofs(f.move(0, 1, 2), "move");
  expect_erofs(f.compact(), "compact");
  expect_erofs(f.writelines({"a"}, "\n", 0), "writelines");

  std::map<fs::path, std::vector<chunk>> writes{{"inside.txt", {chunk{0, bytes{'X'}}}},
                                                {"missing.txt", {chunk{0, bytes{'X'}}}}};
  for (auto& [p, r] : mgr.bulk_write(writes).get())
    expect_erofs_item(r, "bulk_write " + p.string());
  for (auto& [p, r] : mgr.bulk_resize({{"inside.txt", 1}}).get())
    expect_erofs_item(r, "bulk_resize " + p.string());
  for (auto& [p, r] : mgr.compact_files({"inside.txt"}).get())
    expect_erofs_item(r, "compact_files " + p.string());
  for (auto& r : mgr.bulk_copy({{"inside.txt", "new.bin"}, {"inside.txt", "new2.bin"}}).get())
    expect_erofs_item(r, "bulk_copy");
  f.close().get();

  BOOST_TEST(read_file(root / "inside.txt") == "inside text");
  BOOST_TEST(!fs::exists(root / "new.bin"));
  BOOST_TEST(!fs::exists(root / "new2.bin"));
}

BOOST_AUTO_TEST_CASE(a_read_only_manager_still_reads) {
  auto f = mgr.open("inside.txt").get();
  BOOST_TEST(text(f.read(0, 6).get()) == "inside");
  BOOST_TEST(f.find("text", 0, -1).get() == 7);
  f.sync().get();
  auto rb = mgr.open("inside.txt", 0, "rb").get();
  BOOST_TEST(text(rb.read().get()) == "inside text");
  BOOST_TEST(mgr.checksum("inside.txt", "sha256").get() ==
             run_command("sha256sum '" + (root / "inside.txt").string() + "'").substr(0, 64));
  auto read = mgr.bulk_read({{"inside.txt", std::nullopt}}).get();
  BOOST_TEST(text(read.at("inside.txt")->at(0)) == "inside text");
  BOOST_TEST(mgr.bulk_checksum({"inside.txt"}, "sha256").get().at("inside.txt").ok());
  BOOST_TEST(mgr.find_in_files("t", {{"inside.txt", 0}}).get().at("inside.txt")->size() == 2u);
  auto prefetched = mgr.prefetch_files({"inside.txt"}).get();
  BOOST_TEST(prefetched.files.at(0).second.ok());
  BOOST_TEST(error_of(mgr.open("missing.txt")).code().value() == ENOENT);
}

BOOST_AUTO_TEST_SUITE_END()
