#define BOOST_TEST_MODULE mapped_region_read_write_test
// mapped_region: read, write and minimize_writes.
#include "support/mapped_region_helpers.hpp"

BOOST_FIXTURE_TEST_SUITE(mapped_region_read_write_suite, fixture)

// ---- read -----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(read_at_or_past_end_is_empty) {
  auto p = dir / "file";
  write_file(p, "0123456789");
  auto region = must_open(p, open_mode::read_only);
  for (std::int64_t off : {std::int64_t{10}, std::int64_t{11}, std::int64_t{4096},
                           std::int64_t{1} << 40, std::numeric_limits<std::int64_t>::max()}) {
    BOOST_TEST(read_all(region, off, 5).empty(), "offset " << off);
    BOOST_TEST(read_all(region, off, -1).empty(), "offset " << off);
  }
}

BOOST_AUTO_TEST_CASE(read_of_minus_one_reads_to_end) {
  auto p = dir / "file";
  auto bytes = pattern('r', 3 * page + 17);
  write_file(p, bytes);
  auto region = must_open(p, open_mode::read_only);
  BOOST_TEST(read_all(region, 0, -1) == bytes);
  BOOST_TEST(read_all(region, 5000, -1) == bytes.substr(5000));
  BOOST_TEST(read_all(region, 1, 0).empty());
  BOOST_TEST(read_all(region, 4090, 12) == bytes.substr(4090, 12)); // across a page boundary
}

BOOST_AUTO_TEST_CASE(read_with_negative_offset_is_einval) {
  auto p = dir / "file";
  write_file(p, "0123456789");
  auto region = must_open(p, open_mode::read_only);
  for (std::int64_t off : {std::int64_t{-1}, std::numeric_limits<std::int64_t>::min()}) {
    auto r = region.read(off, 3);
    BOOST_TEST(failed_with(r, EINVAL, p), "offset " << off);
    if (!r.ok())
      BOOST_TEST(r.error().op == "read");
  }
}

BOOST_AUTO_TEST_CASE(read_near_end_is_short) {
  auto p = dir / "file";
  write_file(p, "0123456789");
  auto region = must_open(p, open_mode::read_only);
  BOOST_TEST(read_all(region, 7, 100) == "789");
  BOOST_TEST(read_all(region, 9, std::numeric_limits<std::int64_t>::max()) == "9");
  BOOST_TEST(read_all(region, 0, 10) == "0123456789");
}

// ---- read_cached ----------------------------------------------------------------------------

namespace {

/// read_cached's bytes as a string; a test failure when it gave none or an error.
std::string cached(const mapped_region& region, std::int64_t offset, std::int64_t size) {
  auto r = region.read_cached(offset, size, mib);
  BOOST_REQUIRE_MESSAGE(r, "no cached read at " << offset);
  BOOST_REQUIRE_MESSAGE(r->ok(), why(*r));
  return std::string(r->value().begin(), r->value().end());
}

/// Drops `path` from the page cache -> false when the kernel kept a page.
bool drop_from_page_cache(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0)
    return false;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  struct stat st {};
  ::fstat(fd, &st);
  auto length = static_cast<std::size_t>(st.st_size);
  void* p = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED)
    return false;
  std::vector<unsigned char> vec((length + page - 1) / page);
  bool dropped = ::mincore(p, length, vec.data()) == 0;
  for (auto v : vec)
    dropped = dropped && (v & 1) == 0;
  ::munmap(p, length);
  return dropped;
}

} // namespace

BOOST_AUTO_TEST_CASE(read_cached_gives_what_the_map_holds_including_writes_through_it) {
  auto p = dir / "file";
  auto bytes = pattern('c', 3 * page + 17);
  write_file(p, bytes);
  auto region = must_open(p, open_mode::read_write);
  must_write(region, "XYZ", 4094); // through the map, across a page boundary
  bytes.replace(4094, 3, "XYZ");
  BOOST_TEST(cached(region, 0, -1) == bytes);
  BOOST_TEST(cached(region, 4090, 12) == bytes.substr(4090, 12));
  BOOST_TEST(cached(region, 3 * page, 100) == bytes.substr(3 * page)); // short at the end
  BOOST_TEST(cached(region, 3 * page + 17, 5).empty());
  BOOST_TEST(cached(region, std::int64_t{1} << 40, 5).empty());
  BOOST_TEST(cached(region, 7, 0).empty());
}

BOOST_AUTO_TEST_CASE(read_cached_leaves_long_ranges_bad_arguments_and_a_file_cut_short_to_read) {
  auto p = dir / "file";
  write_file(p, pattern('s', 3 * page));
  auto region = must_open(p, open_mode::read_only);
  BOOST_TEST(!region.read_cached(0, 2 * page, page));
  BOOST_TEST(!region.read_cached(-1, 3, mib));
  BOOST_TEST(!region.read_cached(0, -2, mib));
  // Another process cuts the file short: the map still says 3 pages, and reading the cut part
  // through it is what reports the fault (EIO, mapped_region_fault_test).
  BOOST_REQUIRE(::truncate(p.c_str(), page) == 0);
  BOOST_TEST(!region.read_cached(2 * page, 10, mib));
  BOOST_TEST(!region.read_cached(page - 5, 10, mib));
  BOOST_TEST(cached(region, 0, 10) == pattern('s', 3 * page).substr(0, 10));
}

BOOST_AUTO_TEST_CASE(read_cached_leaves_pages_not_in_the_page_cache_to_read) {
  auto p = dir / "file";
  write_file(p, pattern('d', 4 * page));
  auto region = must_open(p, open_mode::read_only);
  if (!drop_from_page_cache(p)) {
    BOOST_TEST_MESSAGE("the kernel kept the pages: nothing to tell apart here");
    return;
  }
  BOOST_TEST(!region.read_cached(page, 10, mib));
  BOOST_TEST(read_all(region, page, 10) == pattern('d', 4 * page).substr(page, 10));
}

BOOST_AUTO_TEST_CASE(read_cached_works_on_a_filesystem_without_nowait_reads) {
  // tmpfs refuses RWF_NOWAIT reads (EOPNOTSUPP); its pages are in memory, so they are cached.
  if (!fs::is_directory("/dev/shm")) {
    BOOST_TEST_MESSAGE("no /dev/shm here");
    return;
  }
  temp_dir shm{"/dev/shm"};
  auto p = shm / "file";
  auto bytes = pattern('t', 2 * page + 3);
  write_file(p, bytes);
  auto region = must_open(p, open_mode::read_only);
  BOOST_TEST(cached(region, 4090, 20) == bytes.substr(4090, 20));
  BOOST_TEST(cached(region, 0, -1) == bytes);
}

// ---- write ----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(write_past_end_fills_gap_with_zeros) {
  auto p = dir / "file";
  write_file(p, "0123456789");
  auto region = must_open(p, open_mode::read_write);
  must_write(region, "XYZ", 12);
  BOOST_TEST(region.size() == 15u);
  const std::string expected("0123456789\0\0XYZ", 15);
  BOOST_TEST(read_file(p) == expected); // plain iostreams, not the class
  BOOST_TEST(read_all(region) == expected);
  // A gap spanning pages.
  must_write(region, "END", 3 * page + 5);
  BOOST_TEST(fs::file_size(p) == 3 * page + 8);
  BOOST_TEST(read_file(p) == expected + zeros(3 * page + 5 - 15) + "END");
}

BOOST_AUTO_TEST_CASE(write_in_place_is_visible_to_read_and_to_the_file) {
  auto p = dir / "file";
  write_file(p, pattern('a', 2 * page));
  auto region = must_open(p, open_mode::read_write);
  must_write(region, "MIDDLE", page - 3);
  auto expected = pattern('a', 2 * page).replace(page - 3, 6, "MIDDLE");
  BOOST_TEST(region.size() == 2 * page);
  BOOST_TEST(read_all(region) == expected);
  BOOST_TEST(read_file(p) == expected);
}

BOOST_AUTO_TEST_CASE(write_on_read_only_region_is_ebadf_and_leaves_file) {
  auto p = dir / "file";
  write_file(p, "0123456789");
  auto region = must_open(p, open_mode::read_only);
  for (std::int64_t off : {0, 5, 100}) {
    auto r = region.write("abc", 3, off);
    BOOST_TEST(failed_with(r, EBADF, p), "offset " << off);
    if (!r.ok())
      BOOST_TEST(r.error().op == "write");
  }
  BOOST_TEST(region.size() == 10u);
  BOOST_TEST(read_file(p) == "0123456789");
}

BOOST_AUTO_TEST_CASE(write_with_negative_offset_is_einval) {
  auto p = dir / "file";
  write_file(p, "0123456789");
  auto region = must_open(p, open_mode::read_write);
  BOOST_TEST(failed_with(region.write("abc", 3, -1), EINVAL, p));
  BOOST_TEST(read_file(p) == "0123456789");
}

BOOST_AUTO_TEST_CASE(write_beyond_largest_offset_fails_and_keeps_size) {
  auto p = dir / "file";
  write_file(p, "0123456789");
  auto region = must_open(p, open_mode::read_write);
  // The end, 2^63 + 8, is no valid off_t: ftruncate refuses it.
  auto r = region.write("0123456789", 10, std::numeric_limits<std::int64_t>::max() - 1);
  BOOST_TEST(failed_with(r, EINVAL, p));
  BOOST_TEST(region.size() == 10u);
  BOOST_TEST(read_all(region) == "0123456789");
  BOOST_TEST(read_file(p) == "0123456789");
}

BOOST_AUTO_TEST_CASE(many_appends_give_the_right_content_with_few_remaps) {
  auto p = dir / "appends";
  auto region = must_open(p, open_mode::create);
  std::string expected;
  std::set<std::uint64_t> capacities;
  for (int i = 0; i < 10'000; ++i) {
    auto chunk = pattern(static_cast<char>('!' + i % 50), 100);
    chunk.replace(0, 6, std::to_string(100'000 + i));
    must_write(region, chunk, static_cast<std::int64_t>(expected.size()));
    expected += chunk;
    BOOST_REQUIRE(region.mapped_length() >= region.size());
    capacities.insert(region.mapped_length());
  }
  BOOST_TEST(region.size() == 1'000'000u);
  // Geometric growth: about log2(1 MB / 4 KiB) = 8 distinct capacities, not one per page.
  BOOST_TEST(capacities.size() <= 12u);
  BOOST_TEST(read_all(region) == expected);
  auto s = region.sync();
  BOOST_TEST(s.ok(), why(s));
  BOOST_TEST(read_file(p) == expected);
}

// ---- minimize_writes ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(minimize_writes_keeps_content_for_same_and_changed_bytes) {
  auto p = dir / "file";
  auto bytes = pattern('m', 3 * page);
  write_file(p, bytes);
  auto region = must_open(p, open_mode::read_write, 0, true);
  // Identical bytes, page-aligned and not.
  must_write(region, bytes, 0);
  must_write(region, bytes.substr(100, 5000), 100);
  BOOST_TEST(read_all(region) == bytes);
  // A change only in the second of the pieces a write is cut into.
  auto changed = bytes.substr(page - 10, 30);
  changed[25] = '#';
  must_write(region, changed, page - 10);
  bytes[page + 15] = '#';
  BOOST_TEST(read_all(region) == bytes);
  // Growing writes still zero-fill and append.
  must_write(region, "tail", 4 * page);
  bytes += zeros(page) + "tail";
  BOOST_TEST(read_all(region) == bytes);
  BOOST_TEST(region.sync().ok());
  BOOST_TEST(read_file(p) == bytes);
}

BOOST_AUTO_TEST_CASE(minimize_writes_does_not_dirty_pages_with_identical_bytes,
                     *boost::unit_test::precondition(msync_cleans_pages_here)) {
  // Oracle: Shared_Dirty + Private_Dirty of the file's mapping in /proc/self/smaps. After
  // msync(MS_SYNC) a disk filesystem cleans the pages; a store dirties them again. tmpfs keeps
  // pages dirty, so the test is skipped there (precondition msync_cleans_pages_here).
  // The kernel accounts dirtiness per folio (up to 2 MiB on ext4 with large folios), so a single
  // changed byte may show as more than one page: the partial case is checked against a 16 MiB
  // file, where "only near the change" and "everything" are far apart.
  constexpr std::uint64_t total = 16 * mib;
  constexpr long total_kib = static_cast<long>(total / kib);
  auto p = dir / "file";
  auto bytes = pattern('d', total);
  write_file(p, bytes);

  // Control: without minimize_writes, the same identical write dirties every page.
  {
    auto plain = must_open(p, open_mode::read_write, 0, false);
    BOOST_REQUIRE(read_all(plain) == bytes); // faults every page in, clean
    BOOST_REQUIRE(plain.sync().ok());
    BOOST_REQUIRE(dirty_kib_of(p) == 0);
    must_write(plain, bytes, 0);
    BOOST_REQUIRE_MESSAGE(dirty_kib_of(p) == total_kib,
                          "control did not dirty everything: " << dirty_kib_of(p) << " kB");
  }

  auto region = must_open(p, open_mode::read_write, 0, true);
  BOOST_REQUIRE(read_all(region) == bytes);
  BOOST_REQUIRE(region.sync().ok());
  BOOST_REQUIRE(dirty_kib_of(p) == 0);
  must_write(region, bytes, 0);
  must_write(region, bytes.substr(123, 9000), 123); // unaligned start and end
  BOOST_TEST(dirty_kib_of(p) == 0);

  // One changed byte near the end of a whole-file write dirties only the folio around it.
  auto changed = bytes;
  changed[total - 100] = '#';
  must_write(region, changed, 0);
  auto dirty = dirty_kib_of(p);
  BOOST_TEST(dirty >= long(page / kib));
  BOOST_TEST(dirty <= total_kib / 4, "dirty " << dirty << " kB of " << total_kib);
  BOOST_TEST_MESSAGE("one changed byte dirtied " << dirty << " kB");
  BOOST_TEST(read_all(region, static_cast<std::int64_t>(total - 101), 3) ==
             bytes.substr(total - 101, 1) + "#" + bytes.substr(total - 99, 1));
}

BOOST_AUTO_TEST_SUITE_END()
