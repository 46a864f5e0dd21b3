#define BOOST_TEST_MODULE mmap_manager_test
#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <csignal>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <actorio/actors.hpp>

#include "support/bulk_calls.hpp"
#include "support/files.hpp"
#include "support/peak_rss.hpp"
#include "support/runtime_fixture.hpp"

namespace fs = std::filesystem;
using namespace actorio;
using namespace actorio::test;

namespace {

constexpr std::int64_t gib = std::int64_t{1} << 30;

std::string openssl_digest(const std::string& alg, const std::string& path) {
  auto out = run_command("openssl dgst -r -" + alg + " '" + path + "'");
  return out.substr(0, out.find(' '));
}

std::uint64_t allocated_bytes(const std::string& path) {
  struct stat st {};
  BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(mmap_manager, runtime_fixture)

BOOST_AUTO_TEST_CASE(open_of_missing_file_is_enoent_with_path) {
  auto e = error_of(mgr.open(path("missing")));
  BOOST_TEST(e.code().value() == ENOENT);
  BOOST_TEST(e.path1() == path("missing"));
  BOOST_TEST(e.op() == "open");
}

BOOST_AUTO_TEST_CASE(open_of_directory_is_eisdir) {
  fs::create_directory(path("sub"));
  BOOST_TEST(error_of(mgr.open(path("sub"))).code().value() == EISDIR);
}

BOOST_AUTO_TEST_CASE(open_of_too_long_name_is_enametoolong) {
  BOOST_TEST(error_of(mgr.open(path(std::string(300, 'n')))).code().value() == ENAMETOOLONG);
}

BOOST_AUTO_TEST_CASE(open_with_bad_mode_or_negative_size_is_einval) {
  write_file(path("f"), "x");
  BOOST_TEST(error_of(mgr.open(path("f"), 0, static_cast<open_mode>(4))).code().value() == EINVAL);
  BOOST_TEST(error_of(mgr.open(path("f"), -1)).code().value() == EINVAL);
  BOOST_TEST(error_of(mgr.create(path("g"), -5)).code().value() == EINVAL);
  BOOST_TEST(!fs::exists(path("g")));
}

BOOST_AUTO_TEST_CASE(open_never_shrinks_and_grows_to_init_size) {
  write_file(path("f"), "0123456789");
  auto f = mgr.open(path("f"), 4).get();
  BOOST_TEST(f.size().get() == 10u);
  BOOST_TEST(read_file(path("f")) == "0123456789");
  f.close().get();
  auto g = mgr.open(path("f"), 16).get();
  BOOST_TEST(g.size().get() == 16u);
  BOOST_TEST(read_file(path("f")) == std::string("0123456789") + std::string(6, '\0'));
}

BOOST_AUTO_TEST_CASE(open_of_empty_file_works) {
  write_file(path("empty"), "");
  auto f = mgr.open(path("empty")).get();
  BOOST_TEST(f.size().get() == 0u);
  BOOST_TEST(f.read().get().empty());
  BOOST_TEST(f.mode() == open_mode::read_write);
}

BOOST_AUTO_TEST_CASE(create_with_default_size_makes_an_empty_file) {
  auto f = mgr.create(path("new")).get();
  BOOST_TEST(f.mode() == open_mode::create_exclusive);
  BOOST_TEST(f.size().get() == 0u);
  BOOST_TEST(fs::file_size(path("new")) == 0u);
}

BOOST_AUTO_TEST_CASE(exclusive_create_of_existing_file_is_eexist_and_keeps_it) {
  write_file(path("f"), "keep me");
  auto e = error_of(mgr.create(path("f"), 3));
  BOOST_TEST(e.code().value() == EEXIST);
  BOOST_TEST(e.path1() == path("f"));
  BOOST_TEST(read_file(path("f")) == "keep me");
}

BOOST_AUTO_TEST_CASE(non_exclusive_create_truncates_to_init_size) {
  write_file(path("f"), "0123456789");
  auto f = mgr.create(path("f"), 4, false).get();
  BOOST_TEST(f.mode() == open_mode::create);
  BOOST_TEST(f.size().get() == 4u);
  BOOST_TEST(read_file(path("f")) == std::string(4, '\0'));
}

BOOST_AUTO_TEST_CASE(read_only_mode_maps_a_file_and_refuses_writes) {
  write_file(path("f"), "abc");
  auto f = mgr.open(path("f"), 0, open_mode::read_only).get();
  BOOST_TEST(text(f.read().get()) == "abc");
  BOOST_TEST(error_of(f.write("z")).code().value() == EBADF);
  BOOST_TEST(error_of(f.resize(1)).code().value() == EBADF);
  BOOST_TEST(read_file(path("f")) == "abc");
}

BOOST_AUTO_TEST_CASE(same_path_and_mode_share_one_map) {
  write_file(path("f"), "..........");
  auto a = mgr.open(path("f")).get();
  auto b = mgr.open(dir.path().string() + "/./f").get();
  BOOST_TEST((actor_of(a) == actor_of(b)));
  BOOST_TEST(mgr.currently_open().get() == 1u);
  a.write("AB", 2).get();
  BOOST_TEST(text(b.read(0, 4).get()) == "..AB");
  a.close().get();
  BOOST_TEST(mgr.currently_open().get() == 1u);
  BOOST_TEST(text(b.read(2, 2).get()) == "AB");
  b.close().get();
  BOOST_TEST(mgr.currently_open().get() == 0u);
}

BOOST_AUTO_TEST_CASE(one_path_in_two_modes_gets_two_maps_and_open_paths_shows_the_latest) {
  write_file(path("f"), "0123");
  auto a = mgr.open(path("f")).get();
  auto b = mgr.create(path("f"), 4, false).get();
  BOOST_TEST((actor_of(a) != actor_of(b)));
  BOOST_TEST(mgr.currently_open().get() == 2u);
  auto paths = mgr.open_paths().get();
  BOOST_TEST(paths.size() == 1u);
  BOOST_TEST(paths[path("f")] == open_mode::create);
}

BOOST_AUTO_TEST_CASE(views_describe_the_open_maps) {
  write_file(path("five"), "12345");
  write_file(path("ten"), "0123456789");
  BOOST_TEST(mgr.approx_memory_usage().get() == 0u);
  auto a = mgr.open(path("five")).get();
  auto b = mgr.open(path("ten"), 0, open_mode::read_only).get();
  BOOST_TEST(mgr.currently_open().get() == 2u);
  BOOST_TEST(mgr.approx_memory_usage().get() == 15u);
  auto files = mgr.open_files().get();
  BOOST_TEST(files.size() == 2u);
  BOOST_TEST(files.count({fs::path(path("five")), open_mode::read_write}) == 1u);
  BOOST_TEST(text(files.at({fs::path(path("ten")), open_mode::read_only}).read().get()) ==
             "0123456789");
  auto maps = mgr.open_mmaps().get();
  BOOST_REQUIRE(maps.size() == 2u);
  for (auto& m : maps) {
    BOOST_TEST(m.mapped_length >= m.size);
    BOOST_TEST(m.mapped_length % 4096 == 0u);
    BOOST_TEST((m.path == path("five") ? m.size == 5u && m.mode == open_mode::read_write
                                       : m.size == 10u && m.mode == open_mode::read_only));
  }
  // The handles from open_files count as references of their own.
  a.close().get();
  b.close().get();
  BOOST_TEST(mgr.currently_open().get() == 2u);
  files.clear();
  for (int i = 0; i < 100 && mgr.currently_open().get() != 0u; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  BOOST_TEST(mgr.currently_open().get() == 0u);
  BOOST_TEST(mgr.approx_memory_usage().get() == 0u);
  BOOST_TEST(mgr.open_paths().get().empty());
}

BOOST_AUTO_TEST_CASE(last_handle_going_releases_the_map) {
  write_file(path("f"), "x");
  {
    auto f = mgr.open(path("f")).get();
    auto copy = f;
    BOOST_TEST(mgr.currently_open().get() == 1u);
  }
  BOOST_TEST(mgr.currently_open().get() == 0u);
}

BOOST_AUTO_TEST_CASE(relative_paths_resolve_against_the_root) {
  runtime_config cfg = make_config();
  cfg.root = dir.path();
  runtime rooted{cfg};
  write_file(path("rel"), "relative");
  auto f = rooted.manager().open("rel").get();
  BOOST_TEST(text(f.read().get()) == "relative");
  BOOST_TEST(rooted.manager().open_paths().get().count(path("rel")) == 1u);
  BOOST_TEST(rooted.manager().checksum("rel", "sha256").get() ==
             openssl_digest("sha256", path("rel")));
}

BOOST_AUTO_TEST_CASE(create_sparse_writes_chunks_in_order_like_the_original) {
  std::vector<chunk> chunks{
    {0, {'a', 'b'}}, {3, {'c', 'd'}}, {8, {'X', 'Y', 'Z', 'W'}}, {1, {'Q'}}};
  auto f = mgr.create_sparse(path("s"), 10, chunks).get();
  BOOST_TEST(f.mode() == open_mode::create_exclusive);
  BOOST_TEST(f.size().get() == 12u);
  BOOST_TEST(read_file(path("s")) == std::string("aQ\0cd\0\0\0XYZW", 12));
}

BOOST_AUTO_TEST_CASE(create_sparse_of_4_gib_keeps_its_holes) {
  std::vector<chunk> chunks{{0, {'h'}}, {2 * gib, {'m'}}, {4 * gib - 1, {'t'}}};
  auto f = mgr.create_sparse(path("big"), 4 * gib, chunks).get();
  BOOST_TEST(f.size().get() == std::uint64_t(4 * gib));
  f.sync().get();
  BOOST_TEST(allocated_bytes(path("big")) < (1u << 20));
  BOOST_TEST(text(f.read(2 * gib, 1).get()) == "m");
  BOOST_TEST(text(f.read(4 * gib - 1).get()) == "t");
  BOOST_TEST(text(f.read(gib, 3).get()) == std::string(3, '\0'));
}

BOOST_AUTO_TEST_CASE(create_sparse_the_kernel_refuses_leaves_no_file_and_can_be_retried) {
  // A size past the filesystem's limit (EFBIG) must not leave an empty file whose name makes
  // the retry fail with EEXIST. RLIMIT_FSIZE plays the filesystem's limit; SIGXFSZ is ignored
  // and both are restored before the test ends.
  struct rlimit old {};
  BOOST_REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit lim = old;
  lim.rlim_cur = gib;
  BOOST_REQUIRE(::setrlimit(RLIMIT_FSIZE, &lim) == 0);
  auto refused = error_of(mgr.create_sparse(path("huge"), 2 * gib, {{0, {'x'}}}));
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  BOOST_TEST(refused.code().value() == EFBIG);
  BOOST_TEST(!fs::exists(path("huge")));
  auto f = mgr.create_sparse(path("huge"), 1024, {{0, {'x'}}}).get();
  BOOST_TEST(f.size().get() == 1024u);
}

BOOST_AUTO_TEST_CASE(create_sparse_of_size_zero_and_existing_path) {
  auto f = mgr.create_sparse(path("zero"), 0).get();
  BOOST_TEST(f.size().get() == 0u);
  BOOST_TEST(error_of(mgr.create_sparse(path("zero"), 5)).code().value() == EEXIST);
  write_file(path("other"), "x");
  BOOST_TEST(error_of(mgr.create_sparse(path("other"), 5)).code().value() == EEXIST);
  BOOST_TEST(error_of(mgr.create_sparse(path("neg"), -1)).code().value() == EINVAL);
  std::vector<chunk> bad{{-3, {'x'}}};
  BOOST_TEST(error_of(mgr.create_sparse(path("neg"), 4, bad)).code().value() == EINVAL);
  BOOST_TEST(!fs::exists(path("neg")));
}

BOOST_AUTO_TEST_CASE(copy_file_gives_identical_bytes_and_mode) {
  std::string data;
  for (int i = 0; i < 300000; ++i)
    data += static_cast<char>(i * 7 + i / 13);
  write_file(path("src"), data);
  fs::permissions(path("src"), fs::perms(0640));
  BOOST_TEST(mgr.copy_file(path("src"), path("dst")).get() == data.size());
  run_command("cmp '" + path("src") + "' '" + path("dst") + "'");
  BOOST_TEST(run_command("stat -c %a '" + path("dst") + "'") == "640\n");
}

BOOST_AUTO_TEST_CASE(copy_file_of_empty_file_and_with_flush) {
  write_file(path("empty"), "");
  BOOST_TEST(mgr.copy_file(path("empty"), path("copy"), true).get() == 0u);
  BOOST_TEST(fs::file_size(path("copy")) == 0u);
}

BOOST_AUTO_TEST_CASE(copy_file_errors_name_the_path_and_leave_nothing) {
  write_file(path("src"), "abc");
  write_file(path("dst"), "old");
  auto e = error_of(mgr.copy_file(path("src"), path("dst")));
  BOOST_TEST(e.code().value() == EEXIST);
  BOOST_TEST(e.path1() == path("dst"));
  BOOST_TEST(read_file(path("dst")) == "old");
  auto missing = error_of(mgr.copy_file(path("nope"), path("x")));
  BOOST_TEST(missing.code().value() == ENOENT);
  BOOST_TEST(missing.path1() == path("nope"));
  BOOST_TEST(!fs::exists(path("x")));
}

BOOST_AUTO_TEST_CASE(a_commit_sent_while_writes_run_waits_for_them_and_refuses_later_writes) {
  // The commit, sent before any write is answered, must still include all of them (they came
  // first) and must not close the file under them. Rounds make a race likely to show.
  for (int round = 0; round < 8; ++round) {
    auto name = "f" + std::to_string(round);
    auto id = mgr.stage(path(name)).get();
    std::string expected;
    std::vector<pending<std::uint64_t>> writes;
    for (int i = 0; i < 64; ++i) {
      auto piece = std::string(64 << 10, static_cast<char>('a' + (i + round) % 26));
      writes.push_back(
        mgr.write_staged(id, static_cast<std::int64_t>(expected.size()), pieces_of(piece)));
      expected += piece;
    }
    auto committed = mgr.commit_staged(id);
    auto late = mgr.write_staged(id, 0, pieces_of("late"));
    for (auto& w : writes)
      BOOST_TEST(w.get() == std::uint64_t{64 << 10});
    BOOST_TEST(committed.get().empty());
    BOOST_TEST(error_of(std::move(late)).code().value() == EBADF);
    BOOST_TEST(read_file(path(name)) == expected);
  }
}

BOOST_AUTO_TEST_CASE(overlapping_staged_writes_land_in_the_order_they_were_sent) {
  // Each write covers the one before it but for its first byte: the file shows the order in which
  // the writes ran, which must be the order in which they were sent.
  auto id = mgr.stage(path("f")).get();
  std::vector<pending<std::uint64_t>> writes;
  constexpr int count = 64;
  for (int i = 0; i < count; ++i)
    writes.push_back(
      mgr.write_staged(id, i, pieces_of(std::string(256 << 10, char('a' + i % 26)))));
  for (auto& w : writes)
    BOOST_TEST(w.get() == std::uint64_t{256 << 10});
  mgr.commit_staged(id).get();
  std::string expected;
  for (int i = 0; i < count; ++i)
    expected += char('a' + i % 26);
  expected += std::string((256 << 10) - 1, char('a' + (count - 1) % 26));
  BOOST_TEST((read_file(path("f")) == expected));
}

BOOST_AUTO_TEST_CASE(a_discard_sent_while_writes_run_leaves_nothing_and_refuses_later_writes) {
  for (int round = 0; round < 8; ++round) {
    auto id = mgr.stage(path("f")).get();
    std::vector<pending<std::uint64_t>> writes;
    for (int i = 0; i < 64; ++i)
      writes.push_back(
        mgr.write_staged(id, std::int64_t{i} << 16, pieces_of(std::string(64 << 10, 'x'))));
    auto discarded = mgr.discard_staged(id);
    auto late = mgr.write_staged(id, 0, pieces_of("late"));
    for (auto& w : writes)
      BOOST_TEST(w.get() == std::uint64_t{64 << 10});
    discarded.get();
    BOOST_TEST(error_of(std::move(late)).code().value() == EBADF);
    BOOST_TEST(fs::is_empty(dir.path()));
  }
}

BOOST_AUTO_TEST_CASE(checksum_matches_openssl_dgst_for_several_algorithms) {
  std::string data;
  for (int i = 0; i < 100000; ++i)
    data += static_cast<char>(i % 251);
  write_file(path("f"), data);
  for (std::string alg :
       {"sha256", "sha512", "sha1", "md5", "blake2b512", "blake2s256", "sha3-256"})
    BOOST_TEST(mgr.checksum(path("f"), alg).get() == openssl_digest(alg, path("f")), alg);
  BOOST_TEST(mgr.checksum(path("f"), "blake2b").get() == openssl_digest("blake2b512", path("f")));
  BOOST_TEST(mgr.checksum(path("f"), "blake2s").get() == openssl_digest("blake2s256", path("f")));
}

BOOST_AUTO_TEST_CASE(checksum_defaults_to_blake2b512) {
  write_file(path("f"), "default algorithm");
  BOOST_TEST(mgr.checksum(path("f")).get() == openssl_digest("blake2b512", path("f")));
}

BOOST_AUTO_TEST_CASE(checksum_xxh128_matches_xxhsum) {
  write_file(path("f"), std::string(5000, 'q'));
  auto out = run_command("xxhsum -H2 '" + path("f") + "'");
  BOOST_TEST(mgr.checksum(path("f"), "xxh128").get() == out.substr(0, out.find(' ')));
}

BOOST_AUTO_TEST_CASE(checksum_errors) {
  write_file(path("f"), "x");
  auto unknown = error_of(mgr.checksum(path("f"), "sha-nonsense"));
  BOOST_TEST(unknown.code().value() == EINVAL);
  BOOST_TEST(std::string(unknown.what()).find("sha-nonsense") != std::string::npos);
  BOOST_TEST(error_of(mgr.checksum(path("missing"), "md5")).code().value() == ENOENT);
  BOOST_TEST(error_of(mgr.checksum(dir.path(), "md5")).code().value() == EISDIR);
  BOOST_TEST(error_of(mgr.checksum("", "md5")).code().value() == ENOENT);
}

BOOST_AUTO_TEST_CASE(eight_threads_use_the_facade_at_once) {
  constexpr int threads = 8;
  constexpr int rounds = 40;
  mgr.create(path("shared"), threads * rounds).get();
  std::vector<std::thread> pool;
  std::vector<std::string> errors(threads);
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      try {
        auto own = path("own" + std::to_string(t));
        auto mine = mgr.create(own).get();
        for (int r = 0; r < rounds; ++r) {
          auto shared = mgr.open(path("shared")).get();
          std::string byte(1, static_cast<char>('A' + t));
          shared.write(byte, t * rounds + r).get();
          if (text(shared.read(t * rounds + r, 1).get()) != byte)
            errors[t] = "shared read-back mismatch";
          mine.write(std::to_string(r) + ",", static_cast<std::int64_t>(mine.size().get())).get();
        }
        auto expected = std::string{};
        for (int r = 0; r < rounds; ++r)
          expected += std::to_string(r) + ",";
        if (text(mine.read().get()) != expected)
          errors[t] = "own file content mismatch";
        if (mgr.checksum(own, "sha256").get() != openssl_digest("sha256", own))
          errors[t] = "checksum mismatch";
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  }
  for (auto& th : pool)
    th.join();
  for (int t = 0; t < threads; ++t)
    BOOST_TEST(errors[t].empty(), "thread " << t << ": " << errors[t]);
  auto content = read_file(path("shared"));
  for (int t = 0; t < threads; ++t)
    BOOST_TEST(content.substr(t * rounds, rounds) == std::string(rounds, char('A' + t)));
}

BOOST_AUTO_TEST_CASE(bulk_checksum_matches_sha256sum_and_keeps_per_file_errors) {
  std::vector<fs::path> paths;
  for (int i = 0; i < 2000; ++i) {
    auto p = dir / ("small" + std::to_string(i));
    write_file(p, std::string(4096, char('a' + i % 26)) + std::to_string(i));
    paths.push_back(p);
  }
  write_file(path("empty"), "");
  paths.push_back(path("empty"));
  paths.push_back(path("missing"));
  fs::create_directory(path("adir"));
  paths.push_back(path("adir"));
  auto sums = mgr.bulk_checksum(paths, "sha256").get();
  BOOST_TEST(sums.size() == paths.size());
  std::map<std::string, std::string> oracle;
  std::istringstream listing{
    run_command("cd '" + dir.path().string() + "' && sha256sum small* empty")};
  for (std::string sum, name; listing >> sum >> name;)
    oracle[(dir / name).string()] = sum;
  BOOST_TEST(oracle.size() == 2001u);
  for (auto& [name, sum] : oracle) {
    const auto& r = sums.at(name);
    BOOST_TEST_REQUIRE(r.ok(), name);
    BOOST_TEST(*r == sum, name);
  }
  BOOST_TEST(sums.at(path("missing")).error().code == ENOENT);
  BOOST_TEST(sums.at(path("missing")).error().path == path("missing"));
  BOOST_TEST(sums.at(path("adir")).error().code == EISDIR);
  BOOST_TEST(mgr.bulk_checksum({}).get().empty());
}

BOOST_AUTO_TEST_CASE(find_in_files_matches_a_naive_search_and_omits_files_without_hits) {
  std::mt19937 rng{7};
  std::map<fs::path, std::int64_t> starts;
  std::map<fs::path, std::string> contents;
  for (int i = 0; i < 12; ++i) {
    std::string data(20000 + i * 3001, 'x');
    for (auto& c : data)
      c = "ab"[rng() % 2];
    auto p = dir / ("f" + std::to_string(i));
    write_file(p, data);
    contents[p] = data;
    starts[p] = i * 7;
  }
  write_file(path("nohit"), "zzzzzz");
  starts[path("nohit")] = 0;
  starts[path("missing")] = 0;
  for (bool overlapping : {false, true}) {
    for (std::uint64_t max : {std::uint64_t{0}, std::uint64_t{3}}) {
      auto hits = mgr.find_in_files("abba", starts, max, overlapping).get();
      BOOST_TEST(hits.count(path("nohit")) == 0u);
      BOOST_TEST(hits.at(path("missing")).error().code == ENOENT);
      for (auto& [p, data] : contents) {
        std::vector<std::uint64_t> expected;
        for (std::size_t at = static_cast<std::size_t>(starts[p]);
             at + 4 <= data.size() && (max == 0 || expected.size() < max);) {
          if (data.compare(at, 4, "abba") == 0) {
            expected.push_back(at);
            at += overlapping ? 1 : 4;
          } else {
            ++at;
          }
        }
        BOOST_TEST((*hits.at(p) == expected), p.string());
      }
    }
  }
  write_file(path("aaaa"), "aaaa");
  BOOST_TEST((*mgr.find_in_files("aa", {{path("aaaa"), 0}}).get().at(path("aaaa")) ==
              std::vector<std::uint64_t>{0, 2}));
  BOOST_TEST((*mgr.find_in_files("aa", {{path("aaaa"), 0}}, 0, true).get().at(path("aaaa")) ==
              std::vector<std::uint64_t>{0, 1, 2}));
  BOOST_TEST(mgr.find_in_files("aa", {{path("aaaa"), 10}}).get().empty());
  BOOST_TEST(error_of(mgr.find_in_files("", {{path("aaaa"), 0}})).code().value() == EINVAL);
}

BOOST_AUTO_TEST_CASE(find_in_files_with_several_patterns_reports_the_longest_at_each_offset) {
  write_file(path("t"), "abcd aaaa abc");
  write_file(path("none"), "xyz");
  using patterns = std::vector<std::string>;
  auto found =
    mgr.find_in_files(patterns{"ab", "abc", "bcd", "a"}, {{path("t"), 0}, {path("none"), 0}}).get();
  // As grep -obaF -e ab -e abc -e bcd -e a: 0:abc 5:a 6:a 7:a 8:a 10:abc; "none" is left out.
  BOOST_TEST(found.size() == 1u);
  BOOST_TEST((*found.at(path("t")) == std::vector<std::uint64_t>{0, 5, 6, 7, 8, 10}));
  auto overlapping = mgr.find_in_files(patterns{"ab", "bcd"}, {{path("t"), 0}}, 0, true).get();
  BOOST_TEST((*overlapping.at(path("t")) == std::vector<std::uint64_t>{0, 1, 10}));
  BOOST_TEST((*mgr.find_in_files(patterns{"ab", "bc"}, {{path("t"), 1}}, 1).get().at(path("t")) ==
              std::vector<std::uint64_t>{1}));
  BOOST_TEST(error_of(mgr.find_in_files(patterns{}, {{path("t"), 0}})).code().value() == EINVAL);
  BOOST_TEST(error_of(mgr.find_in_files(patterns{"a", ""}, {{path("t"), 0}})).code().value() ==
             EINVAL);
}

BOOST_AUTO_TEST_CASE(find_in_file_list_answers_each_job_in_order_even_a_repeated_path) {
  write_file(path("t"), "abcd aaaa abc");
  write_file(path("none"), "xyz");
  using patterns = std::vector<std::string>;
  std::vector<actorio::find_job> jobs{
    {path("t"), 0}, {path("none"), 0}, {path("missing"), 0}, {path("t"), 6}};
  auto found = mgr.find_in_file_list(patterns{"abc", "a"}, jobs).get();
  BOOST_TEST_REQUIRE(found.size() == 4u);
  BOOST_TEST((*found[0] == std::vector<std::uint64_t>{0, 5, 6, 7, 8, 10}));
  BOOST_TEST(found[1]->empty());
  BOOST_TEST_REQUIRE(!found[2]);
  BOOST_TEST(found[2].error().code == ENOENT);
  BOOST_TEST((*found[3] == std::vector<std::uint64_t>{6, 7, 8, 10}));
  BOOST_TEST(error_of(mgr.find_in_file_list(patterns{""}, jobs)).code().value() == EINVAL);
}

BOOST_AUTO_TEST_CASE(bulk_read_and_write_follow_the_original_examples) {
  write_file(path("src"), "copy me!!");
  write_file(path("p"), "..........");
  auto reads = mgr
                 .bulk_read({{path("src"), std::vector<byte_range>{{0, 4}, {5, 10}}},
                             {path("p"), std::nullopt},
                             {path("missing"), std::nullopt}})
                 .get();
  BOOST_REQUIRE(reads.at(path("src")).ok());
  BOOST_TEST(text(reads.at(path("src"))->at(0)) == "copy");
  BOOST_TEST(text(reads.at(path("src"))->at(1)) == "me!!");
  BOOST_TEST(text(reads.at(path("p"))->at(0)) == "..........");
  BOOST_TEST(reads.at(path("missing")).error().code == ENOENT);
  auto written = mgr
                   .bulk_write({{path("p"), {{0, {'A', 'B'}}, {5, {'C', 'D'}}, {12, {'E', 'F'}}}},
                                {path("absent"), {{0, {'x'}}}}})
                   .get();
  BOOST_TEST(*written.at(path("p")) == 6u);
  BOOST_TEST(read_file(path("p")) == std::string("AB...CD...\0\0EF", 14));
  BOOST_TEST(written.at(path("absent")).error().code == ENOENT);
  BOOST_TEST(!fs::exists(path("absent")));
}

BOOST_AUTO_TEST_CASE(a_bulk_read_of_thousands_of_ranges_of_one_file_keeps_their_order) {
  // Many ranges of one file are read in parts on several workers; the answer must still list
  // every range in the order asked, each with the bytes the file holds there.
  std::string content(1 << 20, '\0');
  std::mt19937 rng(5);
  for (auto& c : content)
    c = static_cast<char>('a' + rng() % 26);
  write_file(path("f"), content);
  std::vector<byte_range> ranges;
  for (int i = 0; i < 5000; ++i)
    ranges.push_back(
      {static_cast<std::int64_t>(rng() % content.size()), static_cast<std::int64_t>(rng() % 40)});
  ranges.push_back({static_cast<std::int64_t>(content.size()) - 3, 10}); // short at the end
  auto r = mgr.bulk_read({{path("f"), ranges}}).get().at(path("f"));
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE(r->size() == ranges.size());
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    auto offset = static_cast<std::size_t>(ranges[i].offset);
    if (text((*r)[i]) != content.substr(offset, static_cast<std::size_t>(ranges[i].size)))
      ++wrong;
  }
  BOOST_TEST(wrong == 0u);
}

BOOST_AUTO_TEST_CASE(a_bulk_reads_pieces_come_in_request_order_cut_at_the_end_and_fail_per_path) {
  write_file(path("digits"), "0123456789");
  write_file(path("empty"), "");
  write_file(path("no ranges"), "x");
  auto reads =
    mgr
      .bulk_read(
        {{path("digits"),
          std::vector<byte_range>{{7, 2}, {0, 3}, {8, 100}, {4, 0}, {20, 5}, {3, -1}, {0, 10}}},
         {path("empty"), std::nullopt},
         {path("no ranges"), std::vector<byte_range>{}},
         {path("missing"), std::vector<byte_range>{{0, 1}}},
         {path("negative"), std::vector<byte_range>{{-1, 1}}}})
      .get();
  BOOST_REQUIRE(reads.size() == 5u);
  auto& digits = reads.at(path("digits"));
  BOOST_REQUIRE(digits.ok());
  std::vector<std::string> got;
  for (auto piece : *digits)
    got.push_back(text(piece));
  // Past the end a range is empty; one crossing it stops there; a 0-size range is empty.
  std::vector<std::string> want{"78", "012", "89", "", "", "3456789", "0123456789"};
  BOOST_TEST(got == want, boost::test_tools::per_element());
  BOOST_TEST(digits->total_bytes() == 24u);
  // A call's pieces of one file share a buffer: none is allocated on its own.
  for (std::size_t i = 0; i + 1 < digits->size(); ++i)
    BOOST_TEST(((*digits)[i].data() + (*digits)[i].size() == (*digits)[i + 1].data()));
  // A whole empty file is one empty piece; no ranges are no pieces.
  BOOST_REQUIRE(reads.at(path("empty")).ok());
  BOOST_TEST(reads.at(path("empty"))->size() == 1u);
  BOOST_TEST(reads.at(path("empty"))->at(0).empty());
  BOOST_REQUIRE(reads.at(path("no ranges")).ok());
  BOOST_TEST(reads.at(path("no ranges"))->empty());
  // One path failing fails only that path, with its errno and path.
  auto& missing = reads.at(path("missing"));
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().code == ENOENT);
  BOOST_TEST(missing.error().path == path("missing"));
  auto& negative = reads.at(path("negative"));
  BOOST_REQUIRE(!negative.ok());
  BOOST_TEST(negative.error().code == EINVAL);
  BOOST_TEST(negative.error().path == path("negative"));
  // The pieces are the caller's: a copy holds the same bytes in its own buffer.
  auto copy = *digits;
  BOOST_TEST((copy == *digits));
  BOOST_TEST((copy[0].data() != (*digits)[0].data()));
}

BOOST_AUTO_TEST_CASE(bulk_resize_copy_and_compact_report_each_file) {
  write_file(path("a"), "0123456789");
  write_file(path("b"), "0123");
  auto sizes = mgr.bulk_resize({{path("a"), 4}, {path("b"), 0}, {path("c"), 3}}).get();
  BOOST_TEST(*sizes.at(path("a")) == 4u);
  BOOST_TEST(read_file(path("a")) == "0123");
  BOOST_TEST(*sizes.at(path("b")) == 0u);
  BOOST_TEST(sizes.at(path("c")).error().code == ENOENT);
  auto copies =
    mgr.bulk_copy({{path("a"), path("a2")}, {path("a"), path("b")}, {path("zz"), path("z2")}})
      .get();
  BOOST_REQUIRE(copies.size() == 3u);
  BOOST_TEST(*copies[0] == 4u);
  BOOST_TEST(read_file(path("a2")) == "0123");
  BOOST_TEST(copies[1].error().code == EEXIST);
  BOOST_TEST(copies[2].error().code == ENOENT);
  write_file(path("z1"), std::string("data\0\0\0", 7));
  write_file(path("z2"), std::string(5, '\0'));
  auto compacted = mgr.compact_files({path("z1"), path("z2"), path("none")}).get();
  BOOST_TEST(compacted.at(path("z1"))->old_size == 7u);
  BOOST_TEST(compacted.at(path("z1"))->new_size == 4u);
  BOOST_TEST(read_file(path("z1")) == "data");
  BOOST_TEST(compacted.at(path("z2"))->new_size == 0u);
  BOOST_TEST(compacted.at(path("none")).error().code == ENOENT);
}

BOOST_AUTO_TEST_CASE(bulk_changes_to_open_maps_go_through_the_map) {
  write_file(path("m"), "0123456789");
  auto f = mgr.open(path("m")).get();
  auto written = mgr.bulk_write({{path("m"), {{12, {'X'}}}}}).get();
  BOOST_TEST(*written.at(path("m")) == 1u);
  BOOST_TEST(f.size().get() == 13u);
  BOOST_TEST(text(f.read(10).get()) == std::string("\0\0X", 3));
  BOOST_TEST(*mgr.bulk_resize({{path("m"), 3}}).get().at(path("m")) == 3u);
  BOOST_TEST(text(f.read().get()) == "012");
  f.write(std::string("\0\0", 2), 3).get();
  auto through_map = *mgr.compact_files({path("m")}).get().at(path("m"));
  BOOST_TEST(through_map.old_size == 5u);
  BOOST_TEST(through_map.new_size == 3u);
  BOOST_TEST(f.size().get() == 3u);
  write_file(path("ro"), "abc");
  auto ro = mgr.open(path("ro"), 0, open_mode::read_only).get();
  BOOST_TEST(mgr.bulk_resize({{path("ro"), 1}}).get().at(path("ro")).error().code == EBUSY);
  BOOST_TEST(read_file(path("ro")) == "abc");
}

BOOST_AUTO_TEST_CASE(prefetch_opens_every_file_and_reports_the_ones_that_fail) {
  write_file(path("p1"), "one");
  write_file(path("p2"), "two");
  {
    auto scope = mgr.prefetch_files({path("p1"), path("missing"), path("p2")}).get();
    BOOST_REQUIRE(scope.files.size() == 3u);
    BOOST_TEST(text(scope.files[0].second->read().get()) == "one");
    BOOST_TEST(scope.files[1].second.error().code == ENOENT);
    BOOST_TEST(scope.files[1].second.error().path == path("missing"));
    BOOST_TEST(text(scope.files[2].second->read().get()) == "two");
    BOOST_TEST(mgr.currently_open().get() == 2u);
  }
  BOOST_TEST(mgr.currently_open().get() == 0u);
}

BOOST_AUTO_TEST_CASE(four_threads_run_bulk_batches_at_once) {
  std::vector<fs::path> paths;
  for (int i = 0; i < 50; ++i) {
    paths.push_back(dir / ("c" + std::to_string(i)));
    write_file(paths.back(), std::string(1000 + i, 'c'));
  }
  auto expected = mgr.bulk_checksum(paths, "md5").get();
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        auto got = mgr.bulk_checksum(paths, "md5").get();
        for (auto& [p, r] : got)
          if (!r.ok() || *r != *expected.at(p))
            ++mismatches[t];
      }
    });
  for (auto& th : threads)
    th.join();
  BOOST_TEST(mismatches == std::vector<int>(4, 0), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(bulk_checksum_of_1_gib_keeps_peak_rss_bounded) {
  std::vector<fs::path> paths;
  for (int i = 0; i < 4; ++i) {
    paths.push_back(dir / ("big" + std::to_string(i)));
    write_file(paths.back(), "head" + std::to_string(i));
    fs::resize_file(paths.back(), std::uintmax_t{256} << 20);
  }
  BOOST_REQUIRE(reset_peak_rss());
  auto before = peak_rss_kib();
  auto sums = mgr.bulk_checksum(paths, "xxh64").get();
  auto rise_kib = peak_rss_kib() - before;
  for (auto& p : paths)
    BOOST_TEST(sums.at(p).ok(), p.string());
  BOOST_TEST(rise_kib < 64u * 1024u, "peak RSS rose by " << rise_kib << " KiB");
}

BOOST_AUTO_TEST_CASE(find_in_a_4_gib_sparse_file_splits_it_and_finds_hits_at_every_boundary) {
  // "NEEDLE" cannot overlap itself, so the manager searches this file as 64 MiB segments.
  const std::string needle = "NEEDLE";
  const std::uint64_t seg = std::uint64_t{64} << 20;
  const std::uint64_t size = (std::uint64_t{1} << 32) + seg;
  std::vector<std::uint64_t> planted{0, (std::uint64_t{1} << 31) - 2, (std::uint64_t{1} << 32) + 7,
                                     size - needle.size()};
  // Hits that start a segment, straddle its start by 1, 3 or 5 bytes, and end right at it.
  for (auto [k, back] :
       {std::pair<std::uint64_t, std::uint64_t>{1, 0}, {2, 1}, {3, 3}, {17, 5}, {47, 6}})
    planted.push_back(k * seg - back);
  std::sort(planted.begin(), planted.end());
  auto file = path("sparse4g");
  {
    std::ofstream out(file, std::ios::binary);
    for (auto at : planted) {
      out.seekp(static_cast<std::streamoff>(at));
      out.write(needle.data(), static_cast<std::streamsize>(needle.size()));
    }
  }
  fs::resize_file(file, size);
  progress_log log;
  auto all = mgr.find_in_files(needle, {{file, 0}}, 0, false, log.options()).get();
  BOOST_TEST(*all.at(file) == planted, boost::test_tools::per_element());
  BOOST_TEST(log.all().back().bytes_total == size);
  auto first5 = mgr.find_in_files(needle, {{file, 0}}, 5, true).get();
  BOOST_TEST(*first5.at(file) == std::vector<std::uint64_t>(planted.begin(), planted.begin() + 5),
             boost::test_tools::per_element());
  const std::uint64_t from = std::uint64_t{1} << 31;
  std::vector<std::uint64_t> tail;
  std::copy_if(planted.begin(), planted.end(), std::back_inserter(tail),
               [&](std::uint64_t at) { return at >= from; });
  auto later = mgr.find_in_files(needle, {{file, static_cast<std::int64_t>(from)}}).get();
  BOOST_TEST(*later.at(file) == tail, boost::test_tools::per_element());
  // "EE" overlaps itself: searched in one piece, with the same answer a split would give.
  auto ee = mgr.find_in_files("EE", {{file, 0}}, 3).get();
  BOOST_TEST(*ee.at(file) ==
               (std::vector<std::uint64_t>{planted[0] + 1, planted[1] + 1, planted[2] + 1}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(several_patterns_that_cannot_overlap_split_a_large_file_at_no_cost_to_hits) {
  // Neither pattern begins with a suffix of the other or holds it, so this 256 MiB file is searched
  // as 64 MiB segments; hits straddle each segment start, and one pattern begins where the other
  // ends across one.
  const std::uint64_t seg = std::uint64_t{64} << 20;
  const std::uint64_t size = 4 * seg + 1;
  const std::vector<std::pair<std::uint64_t, std::string>> planted{
    {0, "NEEDLE"},           {seg - 3, "PIC"}, {2 * seg - 5, "NEEDLE"}, {2 * seg + 1, "PIC"},
    {3 * seg - 6, "NEEDLE"}, {3 * seg, "PIC"}, {size - 3, "PIC"}};
  auto file = path("sparse256m");
  {
    std::ofstream out(file, std::ios::binary);
    for (const auto& [at, text] : planted) {
      out.seekp(static_cast<std::streamoff>(at));
      out.write(text.data(), static_cast<std::streamsize>(text.size()));
    }
  }
  fs::resize_file(file, size);
  std::vector<std::uint64_t> expected;
  for (const auto& p : planted)
    expected.push_back(p.first);
  auto all = mgr.find_in_files(std::vector<std::string>{"NEEDLE", "PIC"}, {{file, 0}}).get();
  BOOST_TEST(*all.at(file) == expected, boost::test_tools::per_element());
  auto first3 = mgr.find_in_files(std::vector<std::string>{"NEEDLE", "PIC"}, {{file, 0}}, 3).get();
  BOOST_TEST(*first3.at(file) == std::vector<std::uint64_t>(expected.begin(), expected.begin() + 3),
             boost::test_tools::per_element());
}

// ---- fault injection: EMFILE, EINTR ------------------------------------------------------------

namespace {

/// Lowers RLIMIT_NOFILE's soft limit for its lifetime.
struct fd_limit {
  explicit fd_limit(rlim_t soft) {
    BOOST_REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
    rlimit lower = saved;
    lower.rlim_cur = soft;
    BOOST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &lower) == 0);
  }
  ~fd_limit() {
    ::setrlimit(RLIMIT_NOFILE, &saved);
  }
  rlimit saved{};
};

void ignore_signal(int) {}

/// SIGALRM every `us` microseconds to the process, with a handler installed without SA_RESTART,
/// so blocking system calls in any thread may return EINTR.
struct signal_storm {
  explicit signal_storm(long us) {
    struct sigaction sa {};
    sa.sa_handler = ignore_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    ::sigaction(SIGALRM, &sa, &saved);
    itimerval t{};
    t.it_interval.tv_usec = us;
    t.it_value.tv_usec = us;
    ::setitimer(ITIMER_REAL, &t, nullptr);
  }
  ~signal_storm() {
    itimerval off{};
    ::setitimer(ITIMER_REAL, &off, nullptr);
    ::sigaction(SIGALRM, &saved, nullptr);
  }
  struct sigaction saved {};
};

} // namespace

BOOST_AUTO_TEST_CASE(bulk_checksum_of_10000_files_under_a_64_descriptor_limit_stays_correct) {
  // Ten distinct contents, each digested once by openssl as the oracle.
  std::vector<std::string> oracle;
  for (int v = 0; v < 10; ++v) {
    write_file(path("v" + std::to_string(v)), std::string(100 + v, static_cast<char>('a' + v)));
    oracle.push_back(openssl_digest("sha256", path("v" + std::to_string(v))));
  }
  std::vector<fs::path> paths;
  for (int i = 0; i < 10000; ++i) {
    auto p = path("f" + std::to_string(i));
    write_file(p, std::string(100 + i % 10, static_cast<char>('a' + i % 10)));
    paths.emplace_back(p);
  }
  std::size_t ok = 0;
  std::size_t emfile = 0;
  {
    fd_limit limit{64};
    auto sums = mgr.bulk_checksum(paths, "sha256").get();
    BOOST_REQUIRE_EQUAL(sums.size(), paths.size());
    for (int i = 0; i < 10000; ++i) {
      const auto& r = sums.at(paths[i]);
      if (r.ok()) {
        BOOST_TEST(*r == oracle[i % 10]);
        ++ok;
      } else {
        BOOST_TEST(r.error().code == EMFILE, to_string(r.error()));
        ++emfile;
      }
    }
  }
  BOOST_TEST_MESSAGE("under 64 descriptors: " << ok << " summed, " << emfile << " EMFILE");
  // Bounded concurrency: the workers hold few descriptors at a time, so all succeed.
  BOOST_TEST(ok == paths.size());
  // And the library is usable afterwards.
  BOOST_TEST(mgr.checksum(paths[3], "sha256").get() == oracle[3]);
  auto f = mgr.open(paths[5]).get();
  BOOST_TEST(f.size().get() == 105u);
}

BOOST_AUTO_TEST_CASE(opening_maps_past_the_descriptor_limit_gives_emfile_and_recovers) {
  std::vector<fs::path> paths;
  for (int i = 0; i < 200; ++i) {
    paths.emplace_back(path("m" + std::to_string(i)));
    write_file(paths.back(), "map " + std::to_string(i));
  }
  std::vector<mapped_file> open;
  int refused = 0;
  {
    fd_limit limit{64};
    for (const auto& p : paths) {
      try {
        open.push_back(mgr.open(p).get());
      } catch (const io_error& e) {
        BOOST_TEST(e.code().value() == EMFILE);
        ++refused;
      }
    }
  }
  BOOST_TEST(refused > 0);
  BOOST_TEST(text(open.front().read().get()) == "map 0");
  for (auto& f : open)
    f.close().get();
  BOOST_TEST(mgr.currently_open().get() == 0u);
  BOOST_TEST(text(mgr.open(paths.back()).get().read().get()) == "map 199");
}

BOOST_AUTO_TEST_CASE(bulk_checksum_and_copy_stay_correct_under_a_storm_of_signals) {
  std::vector<fs::path> paths;
  std::vector<std::pair<fs::path, fs::path>> copies;
  for (int i = 0; i < 40; ++i) {
    auto p = path("s" + std::to_string(i));
    std::string bytes(256 * 1024 + i, '\0');
    for (std::size_t k = 0; k < bytes.size(); ++k)
      bytes[k] = static_cast<char>((k * 7 + static_cast<std::size_t>(i)) % 251);
    write_file(p, bytes);
    paths.emplace_back(p);
    copies.emplace_back(p, path("c" + std::to_string(i)));
  }
  std::vector<std::string> oracle;
  for (const auto& p : paths)
    oracle.push_back(openssl_digest("sha256", p.string()));
  {
    signal_storm storm{200};
    for (int round = 0; round < 5; ++round) {
      auto sums = mgr.bulk_checksum(paths, "sha256").get();
      for (std::size_t i = 0; i < paths.size(); ++i) {
        const auto& r = sums.at(paths[i]);
        BOOST_TEST((r.ok() && *r == oracle[i]),
                   paths[i] << ": " << (r ? *r : to_string(r.error())));
      }
    }
    auto copied = mgr.bulk_copy(copies, copy_options{.verify = true}).get();
    for (const auto& r : copied)
      BOOST_TEST(r.ok(), (r ? "" : to_string(r.error())));
  }
  for (std::size_t i = 0; i < paths.size(); ++i)
    BOOST_TEST(openssl_digest("sha256", copies[i].second.string()) == oracle[i]);
}

BOOST_AUTO_TEST_SUITE_END()
