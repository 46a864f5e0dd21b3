#define BOOST_TEST_MODULE mmap_manager_actor_test
#include <boost/test/unit_test.hpp>

#include "actorio/actors.hpp"

#include "support/describe.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <caf/all.hpp>

namespace fs = std::filesystem;

using actorio::bytes;
using actorio::chunk;
using actorio::failure;
using actorio::map_info;
using actorio::mapped_file_actor;
using actorio::open_file;
using actorio::open_mode;
using actorio::test::describe;
using actorio::test::read_file;
using actorio::test::run_command;
using actorio::test::temp_dir;
using actorio::test::write_file;

namespace {

/// Every request from the test has a finite timeout: a lost reply fails the test, never hangs it.
constexpr auto timeout = std::chrono::seconds(20);

/// How long a system may take to shut down before the test counts it as a hang.
constexpr auto shutdown_deadline = std::chrono::seconds(60);

/// What an embedding server does: its own config with actorio's types registered.
struct test_config : caf::actor_system_config {
  test_config() {
    actorio::add_message_types(*this);
    set("scheduler.policy", caf::atom("sharing"));
  }
};

/// The error of a reply for a check's message. Boost builds the message even when the check
/// passes, so it must not call error() on a value.
template <class T>
std::string why(caf::actor_system& sys, const caf::expected<T>& r) {
  return r ? std::string{"ok"} : sys.render(r.error());
}

bytes to_bytes(const std::string& s) {
  return bytes(s.begin(), s.end());
}

std::string text(const bytes& b) {
  return std::string(b.begin(), b.end());
}

/// Kills the process if the guarded scope does not end in time: a shutdown hang must fail the
/// run (with a message) instead of stalling until ctest's timeout.
class watchdog {
public:
  explicit watchdog(std::string what, std::chrono::seconds limit = shutdown_deadline)
    : thread_([this, what = std::move(what), limit] {
      std::unique_lock<std::mutex> guard{mtx_};
      if (!cv_.wait_for(guard, limit, [this] { return done_; })) {
        std::fprintf(stderr, "*** hang: %s did not finish within %lld s\n", what.c_str(),
                     static_cast<long long>(limit.count()));
        std::fflush(stderr);
        std::_Exit(3);
      }
    }) {}
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;
  ~watchdog() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

/// An actor user's view of the manager: request/receive through one scoped actor.
class client {
public:
  explicit client(caf::actor_system& sys)
    : self_(sys) {}

  caf::scoped_actor& self() {
    return self_;
  }

  template <class T, class Handle, class... Ts>
  caf::expected<T> call(const Handle& h, Ts&&... xs) {
    std::optional<caf::expected<T>> out;
    self_->request(h, timeout, std::forward<Ts>(xs)...)
      .receive([&](T& x) { out.emplace(std::move(x)); },
               [&](caf::error& e) { out.emplace(std::move(e)); });
    BOOST_REQUIRE(out.has_value());
    return std::move(*out);
  }

  /// For requests answered with `void`: the error, or none.
  template <class Handle, class... Ts>
  caf::error call_void(const Handle& h, Ts&&... xs) {
    caf::error out;
    self_->request(h, timeout, std::forward<Ts>(xs)...)
      .receive([] {}, [&](caf::error& e) { out = std::move(e); });
    return out;
  }

private:
  caf::scoped_actor self_;
};

/// A fresh system per test with a runtime attached to it, and a fresh temp dir as the runtime's
/// root. Members go in reverse order: the client, then the runtime (closing every map and stopping
/// its actors), then the system (which must not wait on anything), then its config, then the dir.
struct fixture {
  temp_dir dir;
  test_config cfg;
  caf::actor_system sys{cfg};
  actorio::runtime rt{sys, make_runtime_config(dir.path())};
  actorio::mmap_manager_actor mgr = actor_of(rt.manager());
  client c{sys};

  static actorio::runtime_config make_runtime_config(const fs::path& root) {
    actorio::runtime_config rc;
    rc.workers = 2;
    rc.request_timeout = timeout;
    rc.default_checksum = "sha256"; // not the library default, so "" is seen to use the config
    rc.root = root;
    return rc;
  }

  std::string path(const std::string& leaf) const {
    return (dir / leaf).string();
  }

  caf::expected<mapped_file_actor> open(const std::string& p, open_mode mode,
                                        std::int64_t init_size = 0) {
    return c.call<mapped_file_actor>(mgr, caf::open_atom_v, p, mode, init_size);
  }

  mapped_file_actor open_ok(const std::string& p, open_mode mode, std::int64_t init_size = 0) {
    auto r = open(p, mode, init_size);
    BOOST_REQUIRE_MESSAGE(r, "open " + p + " " + std::string(to_string(mode)) + ": " + why(sys, r));
    BOOST_REQUIRE(*r);
    return std::move(*r);
  }

  caf::error release(const mapped_file_actor& f) {
    return c.call_void(mgr, caf::close_atom_v, f);
  }

  void release_ok(const mapped_file_actor& f) {
    auto err = release(f);
    BOOST_REQUIRE_MESSAGE(!err, "release: " + sys.render(err));
  }

  std::uint64_t count() {
    auto r = c.call<std::uint64_t>(mgr, actorio::currently_open_atom_v);
    BOOST_REQUIRE_MESSAGE(r, "count: " + why(sys, r));
    return *r;
  }

  /// Polls currently_open_atom until it is `n` (the manager learns of deaths asynchronously).
  bool count_becomes(std::uint64_t n) {
    for (int i = 0; i < 500; ++i) {
      if (count() == n)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  caf::expected<bytes> read(const mapped_file_actor& f, std::int64_t offset = 0,
                            std::int64_t size = -1) {
    return c.call<bytes>(f, actorio::read_atom_v, offset, size);
  }

  std::string read_ok(const mapped_file_actor& f, std::int64_t offset = 0, std::int64_t size = -1) {
    auto r = read(f, offset, size);
    BOOST_REQUIRE_MESSAGE(r, "read: " + why(sys, r));
    return text(*r);
  }

  caf::expected<std::uint64_t> write(const mapped_file_actor& f, const std::string& data,
                                     std::int64_t offset) {
    return c.call<std::uint64_t>(f, actorio::write_atom_v, to_bytes(data), offset);
  }

  std::uint64_t size_of(const mapped_file_actor& f) {
    auto r = c.call<std::uint64_t>(f, actorio::size_atom_v);
    BOOST_REQUIRE_MESSAGE(r, "size: " + why(sys, r));
    return *r;
  }

  /// The failure inside an error reply; fails the test if the call succeeded or the error is not
  /// an actorio error.
  template <class T>
  failure failure_of(const caf::expected<T>& r) {
    BOOST_REQUIRE_MESSAGE(!r, "expected an error, the call succeeded");
    return failure_of(r.error());
  }

  failure failure_of(const caf::error& err) {
    BOOST_REQUIRE_MESSAGE(err, "expected an error, the call succeeded");
    BOOST_TEST((err.category() == caf::atom("actorio")), caf::to_string(err));
    return actorio::to_failure(err, "", "");
  }
};

std::uint64_t allocated_bytes(const std::string& p) {
  struct ::stat st {};
  if (::stat(p.c_str(), &st) != 0)
    throw std::runtime_error("stat " + p);
  return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(mmap_manager_actor, fixture)

// -- opening in each mode ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(opening_an_existing_file_read_write_serves_its_bytes_and_keeps_writes) {
  auto p = path("rw.bin");
  write_file(p, "hello");
  auto f = open_ok(p, open_mode::read_write);
  BOOST_TEST(size_of(f) == 5u);
  BOOST_TEST(read_ok(f) == "hello");
  auto n = write(f, " world", 5);
  BOOST_REQUIRE_MESSAGE(n, why(sys, n));
  BOOST_TEST(*n == 6u);
  BOOST_TEST(read_ok(f, 3, 4) == "lo w");
  BOOST_TEST(count() == 1u);
  release_ok(f);
  BOOST_TEST(count() == 0u);
  BOOST_TEST(read_file(p) == "hello world");
}

BOOST_AUTO_TEST_CASE(opening_read_write_grows_a_smaller_file_to_init_size_but_never_shrinks) {
  auto p = path("grow.bin");
  write_file(p, "abc");
  auto f = open_ok(p, open_mode::read_write, 10);
  BOOST_TEST(size_of(f) == 10u);
  BOOST_TEST(read_ok(f) == std::string("abc\0\0\0\0\0\0\0", 10));
  release_ok(f);
  auto g = open_ok(p, open_mode::read_write, 2);
  BOOST_TEST(size_of(g) == 10u);
  release_ok(g);
  BOOST_TEST(fs::file_size(p) == 10u);
}

BOOST_AUTO_TEST_CASE(opening_read_only_serves_reads_and_refuses_writes_with_ebadf) {
  auto p = path("ro.bin");
  write_file(p, std::string("r\0o", 3));
  auto f = open_ok(p, open_mode::read_only);
  BOOST_TEST(read_ok(f) == std::string("r\0o", 3));
  auto w = write(f, "x", 0);
  auto why = failure_of(w);
  BOOST_TEST(why.code == EBADF, describe(why));
  BOOST_TEST((w.error() == actorio::errc::closed), caf::to_string(w.error()));
  BOOST_TEST(read_ok(f) == std::string("r\0o", 3));
  release_ok(f);
  BOOST_TEST(read_file(p) == std::string("r\0o", 3));
}

BOOST_AUTO_TEST_CASE(opening_with_w_plus_b_creates_or_truncates_to_init_size) {
  auto fresh = path("new.bin");
  auto f = open_ok(fresh, open_mode::create, 4);
  BOOST_TEST(size_of(f) == 4u);
  auto n = write(f, "data", 0);
  BOOST_REQUIRE_MESSAGE(n, why(sys, n));
  release_ok(f);
  BOOST_TEST(read_file(fresh) == "data");

  auto old = path("old.bin");
  write_file(old, "a long old content");
  auto g = open_ok(old, open_mode::create, 2);
  BOOST_TEST(size_of(g) == 2u);
  BOOST_TEST(read_ok(g) == std::string(2, '\0'));
  release_ok(g);
  BOOST_TEST(fs::file_size(old) == 2u);
}

BOOST_AUTO_TEST_CASE(opening_with_x_plus_b_creates_a_new_file_and_refuses_an_existing_one) {
  auto p = path("excl.bin");
  auto f = open_ok(p, open_mode::create_exclusive);
  BOOST_TEST(size_of(f) == 0u);
  BOOST_TEST(read_ok(f).empty());
  auto n = write(f, "first", 0);
  BOOST_REQUIRE_MESSAGE(n, why(sys, n));
  release_ok(f);
  BOOST_TEST(read_file(p) == "first");

  auto again = open(p, open_mode::create_exclusive);
  auto why = failure_of(again);
  BOOST_TEST(why.code == EEXIST, describe(why));
  BOOST_TEST(why.path == p);
  BOOST_TEST(read_file(p) == "first");
  BOOST_TEST(count() == 0u);
}

BOOST_AUTO_TEST_CASE(a_relative_path_resolves_against_the_runtime_root) {
  auto f = open_ok("sub/../rel.bin", open_mode::create, 3);
  auto info = c.call<map_info>(f, actorio::info_atom_v);
  BOOST_REQUIRE_MESSAGE(info, why(sys, info));
  BOOST_TEST(info->path == path("rel.bin"));
  BOOST_TEST(info->mode == open_mode::create);
  BOOST_TEST(info->size == 3u);
  BOOST_TEST(info->mapped_length >= 3u);
  release_ok(f);
  BOOST_TEST(fs::exists(path("rel.bin")));
}

BOOST_AUTO_TEST_CASE(info_reports_the_mtime_that_stat_sees_now) {
  auto f = open_ok("stamped.bin", open_mode::create, 3);
  // A time no clock would give by itself, set from outside the map.
  timespec times[2] = {{1'000'000'000, 123'456'789}, {1'000'000'000, 123'456'789}};
  BOOST_REQUIRE(::utimensat(AT_FDCWD, path("stamped.bin").c_str(), times, 0) == 0);
  auto info = c.call<map_info>(f, actorio::info_atom_v);
  BOOST_REQUIRE_MESSAGE(info, why(sys, info));
  BOOST_TEST(info->modified_ns == 1'000'000'000'123'456'789);
  release_ok(f);
}

BOOST_AUTO_TEST_CASE(info_reports_no_links_once_the_file_is_renamed_over_or_deleted) {
  auto replaced = open_ok("replaced.bin", open_mode::create, 3);
  auto deleted = open_ok("deleted.bin", open_mode::create, 3);
  auto links = [&](const mapped_file_actor& f) {
    auto info = c.call<map_info>(f, actorio::info_atom_v);
    BOOST_REQUIRE_MESSAGE(info, why(sys, info));
    return info->links;
  };
  BOOST_TEST(links(replaced) == 1u);
  BOOST_REQUIRE(::link(path("replaced.bin").c_str(), path("second-name.bin").c_str()) == 0);
  BOOST_TEST(links(replaced) == 2u);
  write_file(path("new.bin"), "new");
  BOOST_REQUIRE(::rename(path("new.bin").c_str(), path("replaced.bin").c_str()) == 0);
  BOOST_REQUIRE(::unlink(path("second-name.bin").c_str()) == 0);
  BOOST_REQUIRE(::unlink(path("deleted.bin").c_str()) == 0);
  BOOST_TEST(links(replaced) == 0u);
  BOOST_TEST(links(deleted) == 0u);
  release_ok(replaced);
  release_ok(deleted);
}

// -- errors -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(opening_a_missing_file_fails_with_enoent_and_registers_nothing) {
  for (auto mode : {open_mode::read_write, open_mode::read_only}) {
    BOOST_TEST_CONTEXT(mode) {
      auto r = open(path("missing.bin"), mode);
      auto why = failure_of(r);
      BOOST_TEST(why.code == ENOENT, describe(why));
      BOOST_TEST(why.op == "open");
      BOOST_TEST(why.path == path("missing.bin"));
      BOOST_TEST((r.error() == actorio::errc::os_error), caf::to_string(r.error()));
    }
  }
  auto in_missing_dir = failure_of(open(path("no/such/dir.bin"), open_mode::create));
  BOOST_TEST(in_missing_dir.code == ENOENT, describe(in_missing_dir));
  auto empty = failure_of(open("", open_mode::read_write));
  BOOST_TEST(empty.code == ENOENT, describe(empty));
  BOOST_TEST(count() == 0u);
  BOOST_TEST(!fs::exists(path("missing.bin")));
}

BOOST_AUTO_TEST_CASE(a_bad_mode_or_negative_size_fails_with_einval) {
  auto p = path("f.bin");
  write_file(p, "x");
  // Values outside the enum, as a peer could put on the wire.
  for (int mode : {4, 9, 255}) {
    BOOST_TEST_CONTEXT("mode " << mode) {
      auto r = open(p, static_cast<open_mode>(mode));
      auto why = failure_of(r);
      BOOST_TEST(why.code == EINVAL, describe(why));
      BOOST_TEST(why.path == p);
      BOOST_TEST((r.error() == actorio::errc::invalid_argument), caf::to_string(r.error()));
    }
  }
  auto negative = failure_of(open(p, open_mode::read_write, -1));
  BOOST_TEST(negative.code == EINVAL, describe(negative));
  auto grow_read_only = failure_of(open(p, open_mode::read_only, 100));
  BOOST_TEST(grow_read_only.code == EINVAL, describe(grow_read_only));
  BOOST_TEST(count() == 0u);
  BOOST_TEST(read_file(p) == "x");
}

BOOST_AUTO_TEST_CASE(opening_a_directory_fails_with_eisdir) {
  fs::create_directory(path("d"));
  auto why = failure_of(open(path("d"), open_mode::read_only));
  BOOST_TEST(why.code == EISDIR, describe(why));
  BOOST_TEST(count() == 0u);
}

BOOST_AUTO_TEST_CASE(mapped_file_errors_are_actorio_errors_with_errno) {
  auto f = open_ok(path("e.bin"), open_mode::create, 4);
  auto neg_read = failure_of(read(f, -1, 1));
  BOOST_TEST(neg_read.code == EINVAL, describe(neg_read));
  auto neg_write = failure_of(write(f, "x", -5));
  BOOST_TEST(neg_write.code == EINVAL, describe(neg_write));
  auto neg_resize = failure_of(c.call<std::uint64_t>(f, actorio::resize_atom_v, std::int64_t{-1}));
  BOOST_TEST(neg_resize.code == EINVAL, describe(neg_resize));
  auto bad_digest =
    failure_of(c.call<std::string>(f, actorio::checksum_atom_v, std::string{"nope"}));
  BOOST_TEST(bad_digest.code == EINVAL, describe(bad_digest));
  // The map is still fine after the errors.
  BOOST_TEST(read_ok(f, 4, 10).empty());
  BOOST_TEST(size_of(f) == 4u);
  release_ok(f);
}

// -- sharing and release ----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(
  two_opens_of_one_path_and_mode_share_an_actor_that_closes_after_both_releases) {
  auto p = path("shared.bin");
  write_file(p, "shared");
  auto a = open_ok(p, open_mode::read_write);
  auto b = open_ok(p, open_mode::read_write);
  BOOST_TEST((a == b));
  BOOST_TEST(count() == 1u);

  // A write through one handle is seen through the other.
  BOOST_REQUIRE(write(a, "S", 0));
  BOOST_TEST(read_ok(b) == "Shared");

  release_ok(a);
  BOOST_TEST(count() == 1u);
  BOOST_TEST(read_ok(b) == "Shared"); // still served after the first release

  release_ok(b);
  BOOST_TEST(count() == 0u);
  BOOST_TEST(read_file(p) == "Shared");

  // The actor has gone with its map: a request on the old handle fails instead of hanging.
  auto start = std::chrono::steady_clock::now();
  auto late = read(b);
  BOOST_TEST(!late);
  BOOST_TEST((std::chrono::steady_clock::now() - start < timeout));
  if (!late) {
    auto why = actorio::to_failure(late.error(), "read", p);
    BOOST_TEST(why.code == EBADF, describe(why));
  }
}

BOOST_AUTO_TEST_CASE(the_same_path_in_two_modes_is_two_maps) {
  auto p = path("two.bin");
  write_file(p, "12345");
  auto rw = open_ok(p, open_mode::read_write);
  auto ro = open_ok(p, open_mode::read_only);
  BOOST_TEST((rw != ro));
  BOOST_TEST(count() == 2u);
  release_ok(rw);
  BOOST_TEST(count() == 1u);
  BOOST_TEST(read_ok(ro) == "12345");
  release_ok(ro);
  BOOST_TEST(count() == 0u);
}

BOOST_AUTO_TEST_CASE(
  a_shared_open_that_would_grow_a_read_only_map_fails_with_einval_and_keeps_the_map) {
  auto p = path("ro-shared.bin");
  write_file(p, "abc");
  auto first = open_ok(p, open_mode::read_only);
  auto second = open(p, open_mode::read_only, 100);
  auto why = failure_of(second);
  // Same answer as for a fresh read-only open with a growing init_size.
  BOOST_TEST(why.code == EINVAL, describe(why));
  BOOST_TEST(count() == 1u);
  BOOST_TEST(read_ok(first) == "abc");
  release_ok(first); // the failed open took no reference: this is the last one
  BOOST_TEST(count() == 0u);
  BOOST_TEST(fs::file_size(p) == 3u);
}

BOOST_AUTO_TEST_CASE(releasing_an_unknown_or_already_released_handle_is_a_successful_no_op) {
  BOOST_TEST(!release(mapped_file_actor{}), "null handle");
  auto p = path("rel.bin");
  write_file(p, "x");
  auto old = open_ok(p, open_mode::read_write);
  release_ok(old);
  BOOST_TEST(count() == 0u);
  auto err = release(old);
  BOOST_TEST(!err, sys.render(err));

  // A stale release must not take a reference of the map that replaced it.
  auto fresh = open_ok(p, open_mode::read_write);
  BOOST_TEST((fresh != old));
  BOOST_TEST(!release(old));
  BOOST_TEST(count() == 1u);
  BOOST_TEST(read_ok(fresh) == "x");
  release_ok(fresh);
  BOOST_TEST(count() == 0u);
  BOOST_TEST(!release(fresh));
}

// -- sparse, copy, digest ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(sparse_creates_a_new_file_with_holes_and_the_chunks_in_order) {
  auto p = path("sparse.bin");
  constexpr std::int64_t mib = 1 << 20;
  std::vector<chunk> chunks{{0, to_bytes("head")},
                            {mib / 2, to_bytes(std::string("mi\0d", 4))},
                            {1, to_bytes("EA")},          // overlaps the first chunk: later wins
                            {4 * mib, to_bytes("tail")}}; // past total_size: extends the file
  auto f = c.call<mapped_file_actor>(mgr, actorio::create_sparse_atom_v, p, 4 * mib, chunks);
  BOOST_REQUIRE_MESSAGE(f, why(sys, f));
  BOOST_TEST(count() == 1u);
  BOOST_TEST(size_of(*f) == static_cast<std::uint64_t>(4 * mib + 4));
  BOOST_TEST(read_ok(*f, 0, 4) == "hEAd");
  BOOST_TEST(read_ok(*f, mib / 2, 4) == std::string("mi\0d", 4));
  BOOST_TEST(read_ok(*f, 4 * mib) == "tail");
  BOOST_TEST(read_ok(*f, 100, 3) == std::string(3, '\0'));
  auto info = c.call<map_info>(*f, actorio::info_atom_v);
  BOOST_REQUIRE(info);
  BOOST_TEST(info->mode == open_mode::create_exclusive);
  release_ok(*f);
  BOOST_TEST(count() == 0u);
  BOOST_TEST(fs::file_size(p) == static_cast<std::uint64_t>(4 * mib + 4));
  BOOST_TEST(allocated_bytes(p) < static_cast<std::uint64_t>(mib),
             "allocated " << allocated_bytes(p));
}

BOOST_AUTO_TEST_CASE(sparse_refuses_an_existing_file_and_bad_arguments_leaving_nothing_behind) {
  auto p = path("exists.bin");
  write_file(p, "keep");
  auto exists = failure_of(c.call<mapped_file_actor>(mgr, actorio::create_sparse_atom_v, p,
                                                     std::int64_t{10}, std::vector<chunk>{}));
  BOOST_TEST(exists.code == EEXIST, describe(exists));
  BOOST_TEST(read_file(p) == "keep");

  auto q = path("bad.bin");
  auto negative_size = failure_of(c.call<mapped_file_actor>(
    mgr, actorio::create_sparse_atom_v, q, std::int64_t{-1}, std::vector<chunk>{}));
  BOOST_TEST(negative_size.code == EINVAL, describe(negative_size));
  auto negative_offset =
    failure_of(c.call<mapped_file_actor>(mgr, actorio::create_sparse_atom_v, q, std::int64_t{10},
                                         std::vector<chunk>{{-1, to_bytes("x")}}));
  BOOST_TEST(negative_offset.code == EINVAL, describe(negative_offset));
  BOOST_TEST(!fs::exists(q));
  BOOST_TEST(count() == 0u);
}

BOOST_AUTO_TEST_CASE(copy_copies_the_bytes_and_refuses_an_existing_destination) {
  auto src = path("src.bin");
  std::string content(100000, '\0');
  for (std::size_t i = 0; i < content.size(); ++i)
    content[i] = static_cast<char>(i * 7 % 251);
  write_file(src, content);
  auto dst = path("dst.bin");
  auto n = c.call<std::uint64_t>(mgr, actorio::copy_file_atom_v, src, dst,
                                 actorio::copy_options{.flush = true, .verify = true});
  BOOST_REQUIRE_MESSAGE(n, why(sys, n));
  BOOST_TEST(*n == content.size());
  BOOST_TEST((read_file(dst) == content));

  write_file(path("taken.bin"), "taken");
  auto exists = failure_of(c.call<std::uint64_t>(mgr, actorio::copy_file_atom_v, src,
                                                 path("taken.bin"), actorio::copy_options{}));
  BOOST_TEST(exists.code == EEXIST, describe(exists));
  BOOST_TEST(read_file(path("taken.bin")) == "taken");

  auto missing = failure_of(c.call<std::uint64_t>(mgr, actorio::copy_file_atom_v, path("nope.bin"),
                                                  path("out.bin"), actorio::copy_options{}));
  BOOST_TEST(missing.code == ENOENT, describe(missing));
  BOOST_TEST(!fs::exists(path("out.bin")));

  // Relative names resolve against the root.
  auto rel = c.call<std::uint64_t>(mgr, actorio::copy_file_atom_v, std::string{"src.bin"},
                                   std::string{"rel-copy.bin"}, actorio::copy_options{});
  BOOST_REQUIRE_MESSAGE(rel, why(sys, rel));
  BOOST_TEST((read_file(path("rel-copy.bin")) == content));
}

BOOST_AUTO_TEST_CASE(digest_with_an_empty_algorithm_uses_the_configured_default) {
  auto p = path("sum.bin");
  write_file(p, std::string("some\0bytes\n", 11));
  auto oracle = run_command("sha256sum -- '" + p + "'").substr(0, 64);

  auto by_default = c.call<std::string>(mgr, actorio::checksum_atom_v, p, std::string{});
  BOOST_REQUIRE_MESSAGE(by_default, why(sys, by_default));
  BOOST_TEST(*by_default == oracle);

  auto named = c.call<std::string>(mgr, actorio::checksum_atom_v, p, std::string{"sha256"});
  BOOST_REQUIRE(named);
  BOOST_TEST(*named == oracle);

  auto other = c.call<std::string>(mgr, actorio::checksum_atom_v, p, std::string{"md5"});
  BOOST_REQUIRE(other);
  BOOST_TEST(*other == run_command("md5sum -- '" + p + "'").substr(0, 32));

  auto unknown = failure_of(
    c.call<std::string>(mgr, actorio::checksum_atom_v, p, std::string{"no-such-digest"}));
  BOOST_TEST(unknown.code == EINVAL, describe(unknown));
  auto missing =
    failure_of(c.call<std::string>(mgr, actorio::checksum_atom_v, path("nope"), std::string{}));
  BOOST_TEST(missing.code == ENOENT, describe(missing));
}

// -- introspection -------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(files_paths_mmaps_and_memuse_describe_the_open_maps) {
  auto a = path("a.bin");
  auto b = path("b.bin");
  write_file(a, "aaaaa");
  auto a_rw = open_ok(a, open_mode::read_write);
  auto b_new = open_ok(b, open_mode::create, 100);
  auto a_ro = open_ok(a, open_mode::read_only); // opened last: wins in paths
  BOOST_TEST(count() == 3u);

  auto files = c.call<std::vector<open_file>>(mgr, actorio::open_files_atom_v);
  BOOST_REQUIRE_MESSAGE(files, why(sys, files));
  BOOST_REQUIRE(files->size() == 3u);
  std::map<std::pair<std::string, open_mode>, mapped_file_actor> by_key;
  for (auto& f : *files)
    by_key[{f.path, f.mode}] = f.file;
  BOOST_TEST((by_key[{a, open_mode::read_write}] == a_rw));
  BOOST_TEST((by_key[{a, open_mode::read_only}] == a_ro));
  BOOST_TEST((by_key[{b, open_mode::create}] == b_new));

  auto paths = c.call<std::map<std::string, open_mode>>(mgr, actorio::open_paths_atom_v);
  BOOST_REQUIRE(paths);
  BOOST_TEST(paths->size() == 2u);
  BOOST_TEST((*paths)[a] == open_mode::read_only);
  BOOST_TEST((*paths)[b] == open_mode::create);

  auto mmaps = c.call<std::vector<map_info>>(mgr, actorio::open_mmaps_atom_v);
  BOOST_REQUIRE(mmaps);
  BOOST_REQUIRE(mmaps->size() == 3u);
  std::map<std::pair<std::string, open_mode>, map_info> infos;
  for (auto& i : *mmaps)
    infos[{i.path, i.mode}] = i;
  BOOST_TEST((infos[{a, open_mode::read_write}].size == 5u));
  BOOST_TEST((infos[{a, open_mode::read_only}].size == 5u));
  BOOST_TEST((infos[{b, open_mode::create}].size == 100u));
  for (auto& i : *mmaps)
    BOOST_TEST(i.mapped_length >= i.size);

  auto mem = c.call<std::uint64_t>(mgr, actorio::approx_memory_usage_atom_v);
  BOOST_REQUIRE(mem);
  BOOST_TEST(*mem == 110u);

  // Each handle from open_files_atom is a reference of its own: releasing them leaves the maps
  // open.
  for (auto& f : *files)
    release_ok(f.file);
  BOOST_TEST(count() == 3u);
  release_ok(a_rw);
  release_ok(b_new);
  release_ok(a_ro);
  BOOST_TEST(count() == 0u);

  auto no_files = c.call<std::vector<open_file>>(mgr, actorio::open_files_atom_v);
  BOOST_REQUIRE(no_files);
  BOOST_TEST(no_files->empty());
  auto no_paths = c.call<std::map<std::string, open_mode>>(mgr, actorio::open_paths_atom_v);
  BOOST_REQUIRE(no_paths);
  BOOST_TEST(no_paths->empty());
  auto no_mmaps = c.call<std::vector<map_info>>(mgr, actorio::open_mmaps_atom_v);
  BOOST_REQUIRE(no_mmaps);
  BOOST_TEST(no_mmaps->empty());
  auto no_mem = c.call<std::uint64_t>(mgr, actorio::approx_memory_usage_atom_v);
  BOOST_REQUIRE(no_mem);
  BOOST_TEST(*no_mem == 0u);
}

// -- an event-based actor as the user ---------------------------------------------------------

BOOST_AUTO_TEST_CASE(an_event_based_actor_in_the_same_system_uses_the_manager_by_message) {
  auto p = path("actor-user.bin");
  auto reporter = caf::actor_cast<caf::actor>(c.self());
  auto manager = mgr;
  sys.spawn([=](caf::event_based_actor* u) {
    auto fail = [=](const char* step) {
      return [=](caf::error& e) {
        u->send(reporter, std::string("error in ") + step + ": " + u->system().render(e));
      };
    };
    u->request(manager, timeout, caf::open_atom_v, p, open_mode::create, std::int64_t{0})
      .then(
        [=](mapped_file_actor& f) {
          u->request(f, timeout, actorio::write_atom_v, to_bytes(std::string("by\0actor", 8)),
                     std::int64_t{2})
            .then(
              [=](std::uint64_t written) {
                u->request(f, timeout, actorio::read_atom_v, std::int64_t{0}, std::int64_t{-1})
                  .then(
                    [=](bytes& content) {
                      u->request(manager, timeout, caf::close_atom_v, f)
                        .then(
                          [=] {
                            u->request(manager, timeout, actorio::currently_open_atom_v)
                              .then(
                                [=](std::uint64_t open_now) {
                                  u->send(reporter, "ok " + std::to_string(written) + " " +
                                                      std::to_string(open_now) + " " +
                                                      std::to_string(content.size()) + " " +
                                                      text(content));
                                },
                                fail("count"));
                          },
                          fail("close"));
                    },
                    fail("read"));
              },
              fail("write"));
        },
        fail("open"));
  });
  std::string report = "no report";
  c.self()->receive([&](std::string& s) { report = std::move(s); },
                    caf::after(timeout) >> [&] { report = "timed out"; });
  BOOST_TEST(report == "ok 8 0 10 " + std::string("\0\0by\0actor", 10));
  BOOST_TEST(read_file(p) == std::string("\0\0by\0actor", 10));
}

// -- supervision
// -----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_killed_map_leaves_the_registry_fails_requests_and_reopens_fresh) {
  auto p = path("killed.bin");
  auto f = open_ok(p, open_mode::create);
  BOOST_REQUIRE(write(f, "before kill", 0));
  BOOST_TEST(count() == 1u);

  caf::anon_send_exit(f, caf::exit_reason::kill);
  BOOST_TEST(count_becomes(0));

  auto start = std::chrono::steady_clock::now();
  auto late = read(f);
  BOOST_TEST((std::chrono::steady_clock::now() - start < timeout));
  BOOST_REQUIRE(!late);
  BOOST_TEST((late.error() == caf::sec::request_receiver_down), caf::to_string(late.error()));
  auto why = actorio::to_failure(late.error(), "read", p);
  BOOST_TEST(why.code == EBADF, describe(why));

  // Releasing the dead handle is harmless.
  auto err = release(f);
  BOOST_TEST(!err, sys.render(err));

  auto g = open_ok(p, open_mode::read_write);
  BOOST_TEST((g != f));
  BOOST_TEST(count() == 1u);
  BOOST_TEST(read_ok(g) == "before kill");
  BOOST_REQUIRE(write(g, "BEFORE", 0));
  BOOST_TEST(read_ok(g) == "BEFORE kill");
  // The same mode as the dead map gets a fresh actor too.
  auto h = open_ok(p, open_mode::create, 0);
  BOOST_TEST((h != f));
  BOOST_TEST(count() == 2u);
  release_ok(h);
  release_ok(g);
  BOOST_TEST(count() == 0u);
}

BOOST_AUTO_TEST_CASE(killing_one_of_two_shared_references_drops_the_map_for_both) {
  auto p = path("kill-shared.bin");
  write_file(p, "x");
  auto a = open_ok(p, open_mode::read_write);
  auto b = open_ok(p, open_mode::read_write);
  caf::anon_send_exit(a, caf::exit_reason::kill);
  BOOST_TEST(count_becomes(0));
  BOOST_TEST(!read(b));
  BOOST_TEST(!release(a));
  BOOST_TEST(!release(b));
  auto c2 = open_ok(p, open_mode::read_write);
  BOOST_TEST(read_ok(c2) == "x");
  release_ok(c2);
  BOOST_TEST(count() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

// -- a runtime attached to a test-owned system -------------------------------------------------

BOOST_AUTO_TEST_SUITE(attached_runtime)

BOOST_AUTO_TEST_CASE(a_runtime_destroyed_before_its_system_closes_open_maps_and_the_system_ends) {
  temp_dir dir;
  auto p = (dir / "left-open.bin").string();
  watchdog guard{"runtime then system destruction"};
  {
    test_config cfg;
    caf::actor_system sys{cfg};
    auto baseline = sys.registry().running();
    mapped_file_actor file;
    {
      actorio::runtime rt{sys};
      client c{sys};
      auto r = c.call<mapped_file_actor>(actor_of(rt.manager()), caf::open_atom_v, p,
                                         open_mode::create, std::int64_t{0});
      BOOST_REQUIRE_MESSAGE(r, why(sys, r));
      file = *r;
      auto n =
        c.call<std::uint64_t>(file, actorio::write_atom_v, to_bytes("unreleased"), std::int64_t{0});
      BOOST_REQUIRE(n);
      // Not released: the runtime's shutdown has to close it.
    }
    BOOST_TEST(read_file(p) == "unreleased");
    {
      // A handle that outlived the runtime fails instead of hanging.
      client c{sys};
      auto late = c.call<std::uint64_t>(file, actorio::size_atom_v);
      BOOST_TEST(!late);
      if (!late)
        BOOST_TEST(actorio::to_failure(late.error(), "size", p).code == EBADF);
    }
    file = nullptr;
    // The borrowed system is left as it was found.
    for (int i = 0; i < 500 && sys.registry().running() != baseline; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    BOOST_TEST(sys.registry().running() == baseline);
  } // ~actor_system: must not wait on any actorio actor
}

BOOST_AUTO_TEST_CASE(a_runtime_shut_down_explicitly_then_destroyed_lets_its_system_end) {
  temp_dir dir;
  auto p = (dir / "f.bin").string();
  watchdog guard{"explicit shutdown then destruction"};
  {
    test_config cfg;
    caf::actor_system sys{cfg};
    actorio::runtime rt{sys};
    auto mgr = actor_of(rt.manager());
    {
      client c{sys};
      auto r =
        c.call<mapped_file_actor>(mgr, caf::open_atom_v, p, open_mode::create, std::int64_t{3});
      BOOST_REQUIRE_MESSAGE(r, why(sys, r));
    }
    rt.shutdown();
    rt.shutdown(); // idempotent
    {
      client c{sys};
      auto late = c.call<std::uint64_t>(mgr, actorio::currently_open_atom_v);
      BOOST_TEST(!late);
      if (!late)
        BOOST_TEST(actorio::to_failure(late.error(), "count", "").code == EBADF);
    }
    BOOST_TEST(fs::file_size(p) == 3u);
  } // ~runtime (already stopped), then ~actor_system: neither may hang
}

BOOST_AUTO_TEST_CASE(two_runtimes_one_after_the_other_share_a_system) {
  temp_dir dir;
  watchdog guard{"two runtimes in one system"};
  test_config cfg;
  caf::actor_system sys{cfg};
  for (int round = 0; round < 2; ++round) {
    BOOST_TEST_CONTEXT("round " << round) {
      actorio::runtime rt{sys};
      client c{sys};
      auto p = (dir / ("r" + std::to_string(round) + ".bin")).string();
      auto r = c.call<mapped_file_actor>(actor_of(rt.manager()), caf::open_atom_v, p,
                                         open_mode::create_exclusive, std::int64_t{1});
      BOOST_REQUIRE_MESSAGE(r, why(sys, r));
      auto err = c.call_void(actor_of(rt.manager()), caf::close_atom_v, *r);
      BOOST_TEST(!err, sys.render(err));
    }
  }
  // Two runtimes at the same time, too.
  actorio::runtime first{sys};
  actorio::runtime second{sys};
  BOOST_TEST((actor_of(first.manager()) != actor_of(second.manager())));
  BOOST_TEST(&first.system() == &sys);
}

BOOST_AUTO_TEST_SUITE_END()
