#define BOOST_TEST_MODULE mmap_manager_sandbox_test
#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "actorio/actors.hpp"
#include "support/files.hpp"
#include "support/runtime_fixture.hpp"
#include "support/symlink_swapper.hpp"

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

BOOST_AUTO_TEST_CASE(the_walk_lists_the_root_in_pages_and_refuses_symlinks_leading_out) {
  write_file(root / "sub" / "b", "b");
  write_file(root / "sub" / "a", "a");
  auto walk_all = [&](walk_options opts, std::vector<failure>& errors) {
    std::vector<std::string> files;
    std::string after;
    for (int pages = 0; pages < 100; ++pages) {
      auto page = mgr.walk(".", opts, after).get();
      BOOST_TEST(page.files.size() <= opts.page_size);
      files.insert(files.end(), page.files.begin(), page.files.end());
      errors.insert(errors.end(), page.errors.begin(), page.errors.end());
      if (page.done)
        break;
      after = page.next;
    }
    return files;
  };
  std::vector<failure> errors;
  walk_options opts;
  opts.page_size = 2;
  BOOST_TEST(walk_all(opts, errors) ==
               (std::vector<std::string>{"./inside.txt", "./sub/a", "./sub/b"}),
             boost::test_tools::per_element());
  BOOST_TEST(errors.empty());
  // Followed, the symlink inside is listed; every one leading out is refused, none followed.
  opts.follow_symlinks = true;
  BOOST_TEST(walk_all(opts, errors) ==
               (std::vector<std::string>{"./inside.txt", "./link", "./sub/a", "./sub/b"}),
             boost::test_tools::per_element());
  std::vector<std::string> refused;
  for (const auto& e : errors) {
    refused.push_back(e.path);
    BOOST_TEST(refusals.count(e.code) == 1, to_string(e));
  }
  BOOST_TEST(refused ==
               (std::vector<std::string>{"./etc", "./loop_a", "./loop_b", "./out", "./to_canary"}),
             boost::test_tools::per_element());
  BOOST_TEST(error_of(mgr.walk("..")).code().value() == EACCES);
  outside_untouched();
}

BOOST_AUTO_TEST_CASE(absolute_and_dot_dot_paths_are_refused_with_eacces) {
  for (auto p : {canary.string(), "../canary.txt"s, "sub/../../canary.txt"s}) {
    auto e = error_of(mgr.checksum(p, "sha256"));
    BOOST_TEST(e.code().value() == EACCES, p << ": " << e.what());
    BOOST_TEST(e.path1() == p);
  }
  BOOST_TEST(error_of(mgr.open("to_canary")).code().value() == EACCES);
  BOOST_TEST(error_of(mgr.open("etc/passwd", 0, open_mode::read_only)).code().value() == EACCES);
  BOOST_TEST(error_of(mgr.open("loop_a")).code().value() == ELOOP);
  BOOST_TEST(error_of(mgr.open("inside.txt\0/../../canary.txt"s)).code().value() == EINVAL);
  outside_untouched();
}

BOOST_AUTO_TEST_CASE(every_single_operation_refuses_escapes) {
  for (const auto& p : escapes()) {
    expect_refused(mgr.open(p, 0, open_mode::read_write), "open r+b " + p);
    expect_refused(mgr.open(p, 0, open_mode::read_only), "open rb " + p);
    expect_refused(mgr.open(p, 100, open_mode::read_write), "open grow " + p);
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
  BOOST_TEST(compacted.at("inside.txt")->new_size == 11u);
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

  template <class T>
  static void expect_erofs_item(const result<T>& r, const std::string& what) {
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
  expect_erofs(f.replace("inside", "INSIDE"), "replace");
  expect_erofs(f.fill("X", 0, 3), "fill");
  expect_erofs(f.copy_within(1, 0, 2), "copy_within");
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
  BOOST_TEST((f.find("text").get() == std::optional<std::uint64_t>{7}));
  f.sync().get();
  auto rb = mgr.open("inside.txt", 0, open_mode::read_only).get();
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

// -- TOCTOU: a path component swapped with a symlink during the calls --------------------------

namespace {

/// Set in the environment of a child run of this executable that must resolve without openat2.
constexpr const char* without_openat2_env = "ACTORIO_TEST_WITHOUT_OPENAT2";

/// With `without_openat2_env` set, the process runs as on a kernel without openat2 (before 5.6):
/// a seccomp filter makes the system call fail with ENOSYS, so every confined open takes the
/// O_NOFOLLOW walk. Installed before any test starts a thread (new threads inherit it).
struct without_openat2_when_asked {
  without_openat2_when_asked() {
    if (std::getenv(without_openat2_env) == nullptr)
      return;
    // System call numbers of openat2 are the same (437) on every architecture.
    sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{static_cast<unsigned short>(std::size(filter)), filter};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
      throw std::system_error(errno, std::generic_category(), "seccomp filter for openat2");
  }
};

bool openat2_works() {
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  auto fd = ::syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof how);
  if (fd < 0)
    return errno != ENOSYS;
  ::close(static_cast<int>(fd));
  return true;
}

/// `root/swapped/` is a real directory holding `f`; `root/swap_link` is a symlink to
/// `elsewhere/`, outside the root, which holds an `f` of the same length that no call may read or
/// change, and nothing may be created beside it.
struct swap_dirs {
  temp_dir dir;
  fs::path root = dir / "root";
  fs::path elsewhere = dir / "elsewhere";
  struct stat outside_before {};

  swap_dirs() {
    fs::create_directories(root / "swapped");
    fs::create_directories(elsewhere);
    write_file(root / "swapped" / "f", "inside-00000000");
    write_file(root / "inside.txt", "inside text");
    write_file(elsewhere / "f", "OUTSIDE-XXXXXXX");
    fs::create_symlink(elsewhere, root / "swap_link");
    BOOST_REQUIRE(::stat((elsewhere / "f").c_str(), &outside_before) == 0);
  }

  /// The name the real directory has now.
  fs::path real_dir() const {
    return fs::is_symlink(root / "swapped") ? root / "swap_link" : root / "swapped";
  }

  void outside_untouched() const {
    struct stat now {};
    BOOST_REQUIRE(::stat((elsewhere / "f").c_str(), &now) == 0);
    BOOST_TEST(read_file(elsewhere / "f") == "OUTSIDE-XXXXXXX");
    BOOST_TEST(now.st_mtim.tv_sec == outside_before.st_mtim.tv_sec);
    BOOST_TEST(now.st_mtim.tv_nsec == outside_before.st_mtim.tv_nsec);
    BOOST_TEST(std::distance(fs::directory_iterator{elsewhere}, {}) == 1);
  }
};

struct swap_race : swap_dirs {
  runtime rt{config_for(root, true, false)};
  mmap_manager mgr = rt.manager();
};

/// A refusal of the swapped path: EACCES (openat2's EXDEV) or ELOOP (the walk refuses symlinks).
const std::set<int> swap_refusals{EACCES, ELOOP};

/// Precondition of the case that starts the child run without openat2: not in that child run.
boost::test_tools::assertion_result not_the_child_run(boost::unit_test::test_unit_id) {
  if (std::getenv(without_openat2_env) == nullptr)
    return {true};
  boost::test_tools::assertion_result res(false);
  res.message() << "this is the child run without openat2 (" << without_openat2_env << " set)";
  return res;
}

} // namespace

BOOST_TEST_GLOBAL_FIXTURE(without_openat2_when_asked);

BOOST_AUTO_TEST_SUITE(mmap_manager_sandbox_race)

BOOST_FIXTURE_TEST_CASE(calls_through_a_component_swapped_with_a_symlink_to_outside_stay_inside,
                        swap_race) {
  bool walk = std::getenv(without_openat2_env) != nullptr;
  BOOST_REQUIRE(openat2_works() == !walk);
  BOOST_TEST_MESSAGE("resolution: " << (walk ? "O_NOFOLLOW walk (openat2 denied)" : "openat2"));
  std::string model = "inside-00000000";
  int succeeded = 0;
  int refused = 0;
  int copies_in = 0;
  // Runs one call; true if it succeeded, false if it was refused as it should be.
  auto attempt = [&](const std::string& what, auto&& call) {
    try {
      call();
      ++succeeded;
      return true;
    } catch (const io_error& e) {
      BOOST_TEST(swap_refusals.count(e.code().value()) == 1, what << ": " << e.what());
      ++refused;
      return false;
    }
  };
  auto item = [&](const std::string& what, const auto& r) {
    if (r) {
      ++succeeded;
      return true;
    }
    BOOST_TEST(swap_refusals.count(r.error().code) == 1, what << ": " << to_string(r.error()));
    ++refused;
    return false;
  };
  symlink_swapper swapper{root / "swapped", root / "swap_link"};
  for (int i = 0; i < 600; ++i) {
    char stamp[9];
    std::snprintf(stamp, sizeof stamp, "%08x", static_cast<unsigned>(i));
    swapper.jitter();
    attempt("open r+b, read, write", [&] {
      auto f = mgr.open("swapped/f").get();
      BOOST_TEST(text(f.read().get()) == model);
      f.write(stamp, 7).get();
      model.replace(7, 8, stamp);
      f.close().get();
    });
    swapper.jitter();
    attempt("open rb, read", [&] {
      auto f = mgr.open("swapped/f", 0, open_mode::read_only).get();
      BOOST_TEST(text(f.read().get()) == model);
      f.close().get();
    });
    swapper.jitter();
    auto reads = mgr.bulk_read({{"swapped/f", std::nullopt}}).get();
    if (item("bulk_read", reads.at("swapped/f")))
      BOOST_TEST(text(reads.at("swapped/f")->at(0)) == model);
    stamp[0] = 'w';
    swapper.jitter();
    auto writes = mgr.bulk_write({{"swapped/f", {chunk{7, bytes(stamp, stamp + 8)}}}}).get();
    if (item("bulk_write", writes.at("swapped/f")))
      model.replace(7, 8, stamp);
    auto copy = "copy" + std::to_string(i);
    swapper.jitter();
    if (attempt("copy from", [&] { mgr.copy_file("swapped/f", copy).get(); }))
      BOOST_TEST(read_file(root / copy) == model);
    fs::remove(root / copy);
    swapper.jitter();
    if (attempt("copy into",
                [&] { mgr.copy_file("inside.txt", "swapped/c" + std::to_string(i)).get(); }))
      ++copies_in;
  }
  swapper.stop();
  BOOST_TEST_MESSAGE(swapper.swaps()
                     << " swaps: " << succeeded << " calls succeeded, " << refused << " refused");
  // Both outcomes happened, so the race was really run.
  BOOST_TEST(succeeded > 0);
  BOOST_TEST(refused > 0);
  // What succeeded happened in the real directory, and a refused copy left no temporary there.
  BOOST_TEST(read_file(real_dir() / "f") == model);
  BOOST_TEST(std::distance(fs::directory_iterator{real_dir()}, {}) == copies_in + 1);
  outside_untouched();
}

BOOST_AUTO_TEST_CASE(calls_through_a_swapped_component_stay_inside_by_the_fallback_walk_too,
                     *boost::unit_test::precondition(not_the_child_run)) {
  // The same race in a child run of this executable with openat2 denied (see
  // without_openat2_when_asked): the filter is process-wide, so it cannot be set in this one.
  auto self = fs::read_symlink("/proc/self/exe").string();
  auto cmd = std::string{without_openat2_env} + "=1 '" + self +
             "' --run_test=mmap_manager_sandbox_race/"
             "calls_through_a_component_swapped_with_a_symlink_to_outside_stay_inside "
             "--log_level=message 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> child(::popen(cmd.c_str(), "r"), ::pclose);
  BOOST_REQUIRE(child);
  std::string output;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, child.get())) > 0;)
    output.append(buf, n);
  int status = ::pclose(child.release());
  BOOST_TEST_MESSAGE(output);
  BOOST_TEST(status == 0, "the child run failed:\n" << output);
  BOOST_TEST(output.find("O_NOFOLLOW walk") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
