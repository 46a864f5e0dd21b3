#define BOOST_TEST_MODULE mapped_region_fault_test
// mapped_region: files changed under the map by another process, and injected msync/fsync/ENOSPC
// failures.
#include "support/fault_shim.hpp"
#include "support/mapped_region_helpers.hpp"
#include "support/tiny_tmpfs.hpp"

BOOST_FIXTURE_TEST_SUITE(mapped_region_fault_suite, fixture)

// ---- files that change under the map -------------------------------------------------------

namespace {

template <class T>
actorio::status as_status(const actorio::result<T>& r) {
  if (r.ok())
    return actorio::ok_status();
  return r.error();
}

/// Truncates `p` from another process (coreutils), as a concurrent writer would.
void truncate_elsewhere(const fs::path& p, std::uint64_t size) {
  auto cmd = "truncate -s " + std::to_string(size) + " '" + p.string() + "'";
  BOOST_REQUIRE_EQUAL(std::system(cmd.c_str()), 0);
}

} // namespace

BOOST_AUTO_TEST_CASE(reads_of_a_file_truncated_by_another_process_fail_with_eio) {
  auto p = dir / "shrunk.bin";
  write_file(p, pattern('a', 3 * page));
  auto region = must_open(p, open_mode::read_write);
  truncate_elsewhere(p, 0);
  BOOST_CHECK(failed_with(region.read(page, 10), EIO, p));
  BOOST_CHECK(failed_with(region.readline(0, -1, true), EIO, p));
  BOOST_CHECK(failed_with(region.readlines(-1), EIO, p));
  BOOST_CHECK(failed_with(region.lines_from(0, 100), EIO, p));
  BOOST_CHECK(failed_with(region.read_until("\n", 0, -1), EIO, p));
  BOOST_CHECK(failed_with(region.find("zz", 0, -1), EIO, p));
  BOOST_CHECK(failed_with(region.rfind("ab", 0, -1), EIO, p));
  BOOST_CHECK(failed_with(region.search("ab", 0, -1, false), EIO, p));
  // Reads are not write errors: nothing sticks.
  BOOST_CHECK(region.flush().ok());
}

BOOST_AUTO_TEST_CASE(a_read_of_pages_still_in_the_truncated_file_succeeds) {
  auto p = dir / "half.bin";
  write_file(p, pattern('a', 4 * page));
  auto region = must_open(p, open_mode::read_only);
  truncate_elsewhere(p, 2 * page);
  BOOST_CHECK_EQUAL(read_all(region, 0, 2 * page), pattern('a', 2 * page));
  BOOST_CHECK(failed_with(region.read(3 * page, 1), EIO, p));
  // The map stays usable for the pages that still exist.
  BOOST_CHECK_EQUAL(read_all(region, page, 5), pattern('a', 2 * page).substr(page, 5));
}

BOOST_AUTO_TEST_CASE(edits_of_a_file_truncated_by_another_process_fail_with_eio) {
  auto p = dir / "edit.bin";
  write_file(p, pattern('a', 3 * page));
  auto region = must_open(p, open_mode::read_write);
  // Edits that keep the size touch the missing pages. (One that grows the file first, as insert,
  // extends it again with ftruncate, and then succeeds on the zero-filled pages.)
  std::vector<std::pair<std::string, std::function<actorio::status()>>> edits{
    {"write", [&] { return as_status(region.write("xy", 2, page)); }},
    {"erase", [&] { return as_status(region.erase(0, 10)); }},
    {"replace", [&] { return as_status(region.replace("ab", "cd", 0, -1)); }},
    {"fill", [&] { return as_status(region.fill("z", 0, 10)); }},
    {"copy_within", [&] { return as_status(region.copy_within(10, 0, 10)); }},
    {"move", [&] { return region.move(0, 10, 10); }},
    {"compact", [&] { return as_status(region.compact()); }},
  };
  for (auto& [name, edit] : edits) {
    BOOST_TEST_CONTEXT(name) {
      truncate_elsewhere(p, 0);
      auto st = edit();
      BOOST_CHECK(failed_with(st, EIO, p));
      if (!st.ok())
        BOOST_CHECK_EQUAL(st.error().op, name);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_failed_write_is_reported_by_every_flush_sync_and_close_until_cleared) {
  auto p = dir / "sticky.bin";
  write_file(p, pattern('a', 2 * page));
  auto region = must_open(p, open_mode::read_write);
  truncate_elsewhere(p, 0);
  BOOST_REQUIRE(failed_with(region.write("lost", 4, page), EIO, p));
  // The file is whole again, so the calls themselves would succeed: only the sticky error fails.
  truncate_elsewhere(p, 2 * page);
  for (int i = 0; i < 2; ++i) {
    BOOST_CHECK(failed_with(region.flush(), EIO, p));
    BOOST_CHECK(failed_with(region.flush(0, -1), EIO, p));
    BOOST_CHECK(failed_with(region.sync(), EIO, p));
  }
  // Later successful writes do not clear it either.
  must_write(region, "kept", 0);
  BOOST_CHECK(failed_with(region.sync(), EIO, p));
  BOOST_REQUIRE(region.sticky_error().has_value());
  BOOST_CHECK_EQUAL(region.sticky_error()->op, "write");
  region.clear_error();
  BOOST_CHECK(region.flush().ok());
  BOOST_CHECK(region.sync().ok());
  BOOST_CHECK(region.close().ok());
  BOOST_CHECK_EQUAL(read_file(p).substr(0, 4), "kept");
}

BOOST_AUTO_TEST_CASE(close_reports_a_sticky_write_error_and_still_closes) {
  auto p = dir / "sticky-close.bin";
  write_file(p, pattern('a', 2 * page));
  auto region = must_open(p, open_mode::read_write);
  truncate_elsewhere(p, 0);
  BOOST_REQUIRE(!region.fill("z", page, 3).ok());
  BOOST_CHECK(failed_with(region.close(), EIO, p));
  BOOST_CHECK(!region.is_open());
  BOOST_CHECK(region.close().ok());
}

BOOST_AUTO_TEST_CASE(a_file_grown_by_another_process_is_read_up_to_the_size_at_open) {
  auto p = dir / "grown.bin";
  write_file(p, "0123456789");
  auto region = must_open(p, open_mode::read_only);
  {
    std::ofstream out(p, std::ios::binary | std::ios::app);
    out << "abcdef";
  }
  BOOST_CHECK_EQUAL(region.size(), 10u);
  BOOST_CHECK_EQUAL(read_all(region), "0123456789");
  BOOST_CHECK_EQUAL(*region.find("abc", 0, -1), -1);
}

BOOST_AUTO_TEST_CASE(sync_of_a_created_file_also_syncs_its_directory) {
  auto p = dir / "new.bin";
  auto region = must_open(p, open_mode::create_exclusive, 0);
  must_write(region, "durable", 0);
  BOOST_CHECK(region.sync().ok());
  // The directory fsync opens the parent: with the directory gone, a second created file's sync
  // reports that step (an independent way to see it is attempted).
  auto sub = dir / "sub";
  fs::create_directory(sub);
  auto q = sub / "new.bin";
  auto other = must_open(q, open_mode::create, 0);
  must_write(other, "x", 0);
  fs::rename(sub, dir / "moved");
  BOOST_CHECK(failed_with(other.sync(), ENOENT, q));
  BOOST_CHECK(failed_with(other.flush(), ENOENT, q));
  other.clear_error();
  BOOST_CHECK(other.flush().ok());
}

BOOST_AUTO_TEST_CASE(a_failed_msync_is_reported_by_later_flushes_until_cleared) {
  auto p = dir / "msync.bin";
  write_file(p, pattern('m', 2 * page));
  auto region = must_open(p, open_mode::read_write);
  must_write(region, "dirty", 0);
  {
    actorio::test::scoped_fault fault{actorio::test::fault_call::msync, EIO, {}};
    BOOST_CHECK(failed_with(region.flush(), EIO, p));
  }
  // msync works again, yet the lost write-back is still reported, by flush, sync and close.
  BOOST_CHECK(failed_with(region.flush(0, -1), EIO, p));
  BOOST_CHECK(failed_with(region.sync(), EIO, p));
  region.clear_error();
  BOOST_CHECK(region.sync().ok());
}

BOOST_AUTO_TEST_CASE(a_failed_fsync_is_reported_by_close) {
  auto p = dir / "fsync.bin";
  write_file(p, pattern('f', page));
  auto region = must_open(p, open_mode::read_write);
  must_write(region, "dirty", 0);
  {
    actorio::test::scoped_fault fault{actorio::test::fault_call::fsync, EIO, dir.path().string()};
    BOOST_CHECK(failed_with(region.sync(), EIO, p));
  }
  BOOST_CHECK(failed_with(region.close(), EIO, p));
  BOOST_CHECK_EQUAL(read_file(p).substr(0, 5), "dirty");
}

BOOST_AUTO_TEST_CASE(writing_through_a_map_on_a_full_filesystem_fails_with_enospc_and_sticks,
                     *boost::unit_test::precondition(actorio::test::tmpfs_can_be_mounted)) {
  actorio::test::tiny_tmpfs small{dir / "mnt", 64 * kib};
  BOOST_REQUIRE_MESSAGE(small.mounted(), "tmpfs mount refused: " << std::strerror(small.error()));
  auto p = small / "full.bin";
  auto region = must_open(p, open_mode::create_exclusive, 0);
  // ftruncate only sets the size; the pages are allocated when first written, and 64 KiB of
  // tmpfs runs out before 256 KiB are.
  BOOST_CHECK(failed_with(region.write(pattern('e', 256 * kib).data(), 256 * kib, 0), ENOSPC, p));
  BOOST_CHECK(failed_with(region.flush(), ENOSPC, p));
  BOOST_CHECK(failed_with(region.sync(), ENOSPC, p));
  // The range stays readable and holds, byte for byte, the old or the new bytes: memcpy stores in
  // no promised order (glibc's stores a large copy's first bytes last), so a fault may come
  // before any of the bytes that fit was stored.
  auto head = read_all(region, 0, 4096);
  auto wanted = pattern('e', 4096);
  BOOST_CHECK_EQUAL(head.size(), 4096u);
  for (std::size_t i = 0; i < head.size(); ++i)
    if (head[i] != '\0' && head[i] != wanted[i])
      BOOST_FAIL("byte " << i << " is neither the old nor the new one");
  BOOST_CHECK(failed_with(region.close(), ENOSPC, p));
}

BOOST_AUTO_TEST_SUITE_END()
