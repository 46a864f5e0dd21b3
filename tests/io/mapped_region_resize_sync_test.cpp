#define BOOST_TEST_MODULE mapped_region_resize_sync_test
// mapped_region: resize and grow, flush, sync, close, sparse 4 GiB regions, moves of the region,
// failed growth, madvise.
#include "support/mapped_region_helpers.hpp"

#include <atomic>

BOOST_FIXTURE_TEST_SUITE(mapped_region_resize_sync_suite, fixture)

// ---- resize / grow --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(resize_to_zero_empties_file_and_unmaps) {
  auto p = dir / "file";
  write_file(p, pattern('z', 10'000));
  auto region = must_open(p, open_mode::read_write);
  auto r = region.resize(0);
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(*r == 0u);
  BOOST_TEST(region.size() == 0u);
  BOOST_TEST(region.mapped_length() == 0u);
  BOOST_TEST(fs::file_size(p) == 0u);
  BOOST_TEST(read_all(region).empty());
  BOOST_TEST(region.flush().ok());
  BOOST_TEST(region.sync().ok());
  // And it maps again on the next write.
  must_write(region, "again", 2);
  BOOST_TEST(read_all(region) == std::string("\0\0again", 7));
  BOOST_TEST(read_file(p) == std::string("\0\0again", 7));
}

BOOST_AUTO_TEST_CASE(resize_grows_with_zeros_and_shrinks) {
  auto p = dir / "file";
  write_file(p, "0123456789");
  auto region = must_open(p, open_mode::read_write);
  auto g = region.resize(3 * page);
  BOOST_REQUIRE_MESSAGE(g.ok(), why(g));
  BOOST_TEST(*g == 3 * page);
  BOOST_TEST(fs::file_size(p) == 3 * page);
  BOOST_TEST(read_all(region) == "0123456789" + zeros(3 * page - 10));
  auto s = region.resize(4);
  BOOST_REQUIRE_MESSAGE(s.ok(), why(s));
  BOOST_TEST(*s == 4u);
  BOOST_TEST(region.size() == 4u);
  BOOST_TEST(read_all(region) == "0123");
  BOOST_TEST(read_all(region, 2, 100) == "23");
  BOOST_TEST(read_file(p) == "0123");
}

BOOST_AUTO_TEST_CASE(shrink_then_extend_does_not_bring_back_old_bytes) {
  auto p = dir / "file";
  write_file(p, pattern('o', 2 * page));
  auto region = must_open(p, open_mode::read_write);
  BOOST_REQUIRE(region.resize(3).ok());
  // The mapping may keep its capacity; what lies past the end must read as zeros again.
  must_write(region, "Z", 6);
  must_write(region, "Y", page + 1);
  auto expected = pattern('o', 3) + zeros(3) + "Z" + zeros(page + 1 - 7) + "Y";
  BOOST_TEST(read_all(region) == expected);
  BOOST_TEST(region.resize(2 * page).ok());
  expected += zeros(2 * page - expected.size());
  BOOST_TEST(read_all(region) == expected);
  BOOST_TEST(read_file(p) == expected);
}

BOOST_AUTO_TEST_CASE(large_shrink_keeps_region_usable) {
  auto p = dir / "file";
  auto region = must_open(p, open_mode::create, 64 * mib);
  must_write(region, "first", 0);
  must_write(region, "last", 64 * mib - 4);
  BOOST_REQUIRE(region.resize(100).ok());
  BOOST_TEST(region.mapped_length() >= 100u);
  BOOST_TEST(region.mapped_length() < 64 * mib); // address space given back
  BOOST_TEST(read_all(region) == "first" + zeros(95));
  must_write(region, "grown", 10 * mib);
  BOOST_TEST(region.size() == 10 * mib + 5);
  BOOST_TEST(read_all(region, 0, 5) == "first");
  BOOST_TEST(read_all(region, 10 * mib - 2) == std::string("\0\0grown", 7));
  BOOST_TEST(pread_file(p, 10 * mib, 10) == "grown");
}

BOOST_AUTO_TEST_CASE(resize_then_read_sees_new_size) {
  auto p = dir / "file";
  auto region = must_open(p, open_mode::create, 10);
  must_write(region, "abcdefghij", 0);
  for (std::int64_t n : {7, 5000, 1, 0, 20}) {
    BOOST_REQUIRE(region.resize(n).ok());
    auto got = read_all(region);
    BOOST_TEST(got.size() == static_cast<std::size_t>(n), "size " << n);
    BOOST_TEST(fs::file_size(p) == static_cast<std::uintmax_t>(n));
  }
  BOOST_TEST(read_all(region) == zeros(20)); // everything past 0 was cut off on the way
}

BOOST_AUTO_TEST_CASE(grow_never_shrinks) {
  auto p = dir / "file";
  write_file(p, "0123456789");
  auto region = must_open(p, open_mode::read_write);
  for (std::int64_t n : {0, 5, 10}) {
    auto r = region.grow(n);
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(*r == 10u);
  }
  BOOST_TEST(read_file(p) == "0123456789");
  auto r = region.grow(5000);
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(*r == 5000u);
  BOOST_TEST(region.size() == 5000u);
  BOOST_TEST(read_all(region) == "0123456789" + zeros(4990));
  BOOST_TEST(fs::file_size(p) == 5000u);
  auto again = region.grow(100);
  BOOST_REQUIRE_MESSAGE(again.ok(), why(again));
  BOOST_TEST(*again == 5000u);
  BOOST_TEST(fs::file_size(p) == 5000u);
}

BOOST_AUTO_TEST_CASE(resize_refuses_negative_sizes_and_read_only_regions) {
  auto p = dir / "file";
  write_file(p, "0123456789");
  {
    auto region = must_open(p, open_mode::read_write);
    BOOST_TEST(failed_with(region.resize(-1), EINVAL, p));
    BOOST_TEST(region.size() == 10u);
  }
  auto region = must_open(p, open_mode::read_only);
  BOOST_TEST(failed_with(region.resize(20), EBADF, p));
  BOOST_TEST(failed_with(region.resize(3), EBADF, p));
  BOOST_TEST(read_file(p) == "0123456789");
}

BOOST_AUTO_TEST_CASE(grow_failures_read_as_open_failures) {
  // grow serves a later open's init_size: a negative size, or one that would grow a read-only
  // file, is EINVAL from "open", as from a fresh open.
  auto p = dir / "file";
  write_file(p, "0123456789");
  {
    auto region = must_open(p, open_mode::read_write);
    auto r = region.grow(-1);
    BOOST_TEST(failed_with(r, EINVAL, p));
    if (!r.ok())
      BOOST_TEST(r.error().op == "open");
  }
  auto region = must_open(p, open_mode::read_only);
  auto r = region.grow(11);
  BOOST_TEST(failed_with(r, EINVAL, p));
  if (!r.ok())
    BOOST_TEST(r.error().op == "open");
  BOOST_TEST(region.size() == 10u);
  // Not growing is fine on a read-only region.
  auto same = region.grow(10);
  BOOST_REQUIRE_MESSAGE(same.ok(), why(same));
  BOOST_TEST(*same == 10u);
  BOOST_TEST(read_file(p) == "0123456789");
}

// ---- flush / sync / close -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(flush_and_sync_succeed_and_data_reaches_the_file) {
  auto p = dir / "file";
  auto region = must_open(p, open_mode::create, 2 * page);
  must_write(region, "flushed", 10);
  auto f = region.flush();
  BOOST_TEST(f.ok(), why(f));
  must_write(region, "synced", page + 10);
  auto s = region.sync();
  BOOST_TEST(s.ok(), why(s));
  BOOST_TEST(pread_file(p, 10, 7) == "flushed");
  BOOST_TEST(pread_file(p, page + 10, 6) == "synced");
  // Read-only regions can be flushed and synced too.
  auto ro = must_open(p, open_mode::read_only);
  BOOST_TEST(ro.flush().ok());
  BOOST_TEST(ro.sync().ok());
}

BOOST_AUTO_TEST_CASE(close_twice_is_ok_and_releases_descriptor) {
  auto p = dir / "file";
  write_file(p, "abc");
  auto region = must_open(p, open_mode::read_write);
  int fd = region.fd();
  BOOST_REQUIRE(fd_is_open(fd));
  auto c1 = region.close();
  BOOST_TEST(c1.ok(), why(c1));
  BOOST_TEST(!region.is_open());
  BOOST_TEST(region.mapped_length() == 0u);
  BOOST_TEST(!fd_is_open(fd));
  auto c2 = region.close();
  BOOST_TEST(c2.ok(), why(c2));
  BOOST_TEST(read_file(p) == "abc");
}

BOOST_AUTO_TEST_CASE(operations_after_close_are_ebadf) {
  auto p = dir / "file";
  write_file(p, "0123456789");
  auto region = must_open(p, open_mode::read_write);
  BOOST_REQUIRE(region.close().ok());
  BOOST_TEST(failed_with(region.read(0, 5), EBADF, p));
  BOOST_TEST(failed_with(region.write("x", 1, 0), EBADF, p));
  BOOST_TEST(failed_with(region.write("x", 1, 100), EBADF, p));
  BOOST_TEST(failed_with(region.resize(3), EBADF, p));
  BOOST_TEST(failed_with(region.grow(100), EBADF, p));
  BOOST_TEST(failed_with(region.flush(), EBADF, p));
  BOOST_TEST(failed_with(region.sync(), EBADF, p));
  BOOST_TEST(read_file(p) == "0123456789");
}

BOOST_AUTO_TEST_CASE(grow_after_close_is_ebadf_even_when_nothing_would_grow) {
  auto p = dir / "file";
  write_file(p, "0123456789");
  auto region = must_open(p, open_mode::read_write);
  BOOST_REQUIRE(region.close().ok());
  BOOST_TEST(failed_with(region.grow(0), EBADF, p));
  BOOST_TEST(failed_with(region.grow(10), EBADF, p));
}

// ---- large sparse region --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(sparse_4_gib_region_writes_at_and_past_2_pow_32) {
  auto p = dir / "big";
  constexpr std::uint64_t four_gib = 4 * gib;
  auto region = must_open(p, open_mode::create, static_cast<std::int64_t>(four_gib));
  BOOST_TEST(region.size() == four_gib);
  BOOST_TEST(region.mapped_length() >= four_gib);
  must_write(region, "L", static_cast<std::int64_t>(four_gib - 1));
  BOOST_TEST(region.size() == four_gib);
  must_write(region, "P", static_cast<std::int64_t>(four_gib + 10)); // past 2^32: extends
  BOOST_TEST(region.size() == four_gib + 11);
  BOOST_TEST(region.mapped_length() >= four_gib + 11);
  BOOST_TEST(read_all(region, static_cast<std::int64_t>(four_gib - 1), 1) == "L");
  BOOST_TEST(read_all(region, static_cast<std::int64_t>(four_gib), -1) == zeros(10) + "P");
  BOOST_TEST(read_all(region, 0, 16) == zeros(16));
  BOOST_REQUIRE(region.sync().ok());
  BOOST_TEST(fs::file_size(p) == four_gib + 11);
  BOOST_TEST(allocated_bytes(p) < mib, "allocated " << allocated_bytes(p));
  BOOST_TEST(pread_file(p, four_gib - 1, 12) == "L" + zeros(10) + "P");
}

// ---- move -----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(move_construction_keeps_mapping_usable) {
  auto p = dir / "file";
  write_file(p, "0123456789");
  auto a = must_open(p, open_mode::read_write);
  int fd = a.fd();
  mapped_region b(std::move(a));
  BOOST_TEST(b.is_open());
  BOOST_TEST(b.fd() == fd);
  BOOST_TEST(b.path() == p.string());
  BOOST_TEST(b.size() == 10u);
  BOOST_TEST(read_all(b) == "0123456789");
  must_write(b, "ab", 10);
  BOOST_TEST(read_all(b) == "0123456789ab");
  BOOST_TEST(!a.is_open()); // NOLINT(bugprone-use-after-move): the moved-from state is specified
  BOOST_TEST(a.mapped_length() == 0u);
  BOOST_TEST(a.close().ok());
  BOOST_TEST(fd_is_open(fd));
  BOOST_TEST(b.sync().ok());
  BOOST_TEST(read_file(p) == "0123456789ab");
}

BOOST_AUTO_TEST_CASE(move_assignment_keeps_mapping_usable_and_releases_the_old_one) {
  auto pa = dir / "a";
  auto pb = dir / "b";
  write_file(pa, "aaaa");
  write_file(pb, "bbbbbbbb");
  auto a = must_open(pa, open_mode::read_write);
  auto b = must_open(pb, open_mode::read_only);
  int fa = a.fd();
  int fb = b.fd();
  b = std::move(a);
  BOOST_TEST(!fd_is_open(fb));
  BOOST_TEST(dirty_kib_of(pb) == -1); // b's old mapping is gone
  BOOST_TEST(b.fd() == fa);
  BOOST_TEST(b.path() == pa.string());
  BOOST_TEST((b.mode() == open_mode::read_write));
  BOOST_TEST(b.size() == 4u);
  must_write(b, "XY", 6);
  BOOST_TEST(read_all(b) == std::string("aaaa\0\0XY", 8));
  BOOST_TEST(!a.is_open()); // NOLINT(bugprone-use-after-move)
  // Self-move is harmless.
  auto& self = b;
  b = std::move(self);
  BOOST_TEST(b.is_open());
  BOOST_TEST(read_all(b) == std::string("aaaa\0\0XY", 8));
  BOOST_TEST(b.close().ok());
  BOOST_TEST(read_file(pa) == std::string("aaaa\0\0XY", 8));
  BOOST_TEST(read_file(pb) == "bbbbbbbb");
}

BOOST_AUTO_TEST_CASE(growth_on_one_thread_leaves_no_history_for_another_to_race_with) {
  // Pins the TSan pass, which cannot see mremap: thread one writes region a and grows it away
  // from its addresses, then the main thread grows region b over them and writes there (b is as
  // large as a and mapped next, so the kernel puts it just below a, and mremap grows it in
  // place). The threads share only relaxed atomics, so whatever TSan still remembers of a at
  // those addresses is reported as a race with b's write. A gap of exactly a's size would split
  // them, so each round first fills the highest gap that fits a with an anonymous map.
  std::vector<void*> fillers;
  for (int round = 0; round < 4; ++round) {
    void* filler = ::mmap(nullptr, 16 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    BOOST_REQUIRE(filler != MAP_FAILED);
    fillers.push_back(filler);
    auto pa = dir / ("a" + std::to_string(round));
    auto pb = dir / ("b" + std::to_string(round));
    write_file(pa, pattern('a', 16 * page));
    write_file(pb, pattern('b', 16 * page));
    std::atomic<int> step{0};
    auto wait_for = [&](int n) {
      while (step.load(std::memory_order_relaxed) < n)
        std::this_thread::yield();
    };
    // Thread one stays off Boost.Test, which is not thread-safe; main checks what it recorded.
    std::string a_content;
    bool a_closed = false;
    std::thread one([&] {
      auto a = open_region(pa, open_mode::read_write);
      step.store(1, std::memory_order_relaxed);
      wait_for(2);
      if (a.ok()) {
        auto whole = pattern('A', 16 * page);
        auto wrote = a->write(whole.data(), whole.size(), 0);
        auto grew = a->write("end", 3, 32 * page);
        auto read = a->read(0, -1);
        if (wrote.ok() && grew.ok() && read.ok())
          a_content = as_string(*read);
        a_closed = a->close().ok();
      }
      step.store(3, std::memory_order_relaxed);
      wait_for(4);
    });
    wait_for(1);
    auto b = must_open(pb, open_mode::read_write);
    step.store(2, std::memory_order_relaxed);
    wait_for(3);
    must_write(b, pattern('B', 24 * page), 0);
    step.store(4, std::memory_order_relaxed);
    one.join();
    BOOST_TEST(a_content == pattern('A', 16 * page) + zeros(16 * page) + "end");
    BOOST_TEST(a_closed);
    BOOST_TEST(read_all(b) == pattern('B', 24 * page));
    BOOST_TEST(b.close().ok());
  }
  for (void* filler : fillers)
    ::munmap(filler, 16 * page);
}

// ---- failed growth --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(write_whose_mapping_cannot_grow_fails_and_keeps_state) {
  // With RLIMIT_AS just above the current address space, ftruncate to 1 GiB succeeds but
  // mremap/mmap of 1 GiB fails with ENOMEM. The region must then still describe its mapping:
  // size() unchanged, reads in bounds, the file not left grown. Run in a child: a wrong size()
  // makes read() run past the mapping and crash.
  auto p = dir / "file";
  write_file(p, "0123456789");
  int wstatus = run_in_child([&] {
    auto region = open_region(p, open_mode::read_write);
    if (!region.ok())
      return 10;
    auto vm = vm_size_bytes();
    if (vm == 0)
      return 11;
    struct rlimit lim {};
    lim.rlim_cur = lim.rlim_max = vm + 256 * mib;
    if (::setrlimit(RLIMIT_AS, &lim) != 0)
      return 12;
    auto w = region->write("x", 1, static_cast<std::int64_t>(gib));
    if (w.ok())
      return 13; // the limit did not bite; nothing proven
    if (w.error().code != ENOMEM || w.error().path != p.string())
      return 14;
    if (region->size() != 10u)
      return 15;
    auto r = region->read(0, -1); // crashes if size() is wrong
    if (!r.ok() || as_string(*r) != "0123456789")
      return 16;
    if (fs::file_size(p) != 10u)
      return 17;
    auto g = region->resize(static_cast<std::int64_t>(gib)); // same path through resize
    if (g.ok() || g.error().code != ENOMEM)
      return 18;
    if (region->size() != 10u || fs::file_size(p) != 10u)
      return 19;
    return 0;
  });
  BOOST_TEST((WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0),
             "child: " << describe_wait(wstatus)
                       << " (15/19: size() grew, 17/19: file left grown, signal: read past"
                          " mapping)");
}

// ---- flush of a range / madvise -------------------------------------------------------------

BOOST_AUTO_TEST_CASE(flush_of_a_range_aligns_internally_and_data_reaches_the_file) {
  auto p = dir / "file";
  auto region = must_open(p, open_mode::create, 3 * page);
  must_write(region, "first", 5);
  must_write(region, "second", page + 7);
  // Unaligned offsets, -1 to the end, ranges running past the end: all widened/clamped here.
  for (auto [off, size] : {std::pair<std::int64_t, std::int64_t>{5, 5},
                           {page + 7, -1},
                           {1, 3 * page},
                           {page - 1, 2},
                           {0, -1}}) {
    auto f = region.flush(off, size);
    BOOST_TEST(f.ok(), "flush(" << off << ", " << size << "): " << why(f));
  }
  // Empty and out-of-file ranges are no-ops.
  BOOST_TEST(region.flush(0, 0).ok());
  BOOST_TEST(region.flush(3 * page, 10).ok());
  BOOST_TEST(region.flush(std::numeric_limits<std::int64_t>::max(), -1).ok());
  BOOST_TEST(pread_file(p, 5, 5) == "first");
  BOOST_TEST(pread_file(p, page + 7, 6) == "second");
  // A 0-byte file has no mapping: still a no-op.
  auto empty = must_open(dir / "empty", open_mode::create, 0);
  BOOST_TEST(empty.flush(0, -1).ok());
}

BOOST_AUTO_TEST_CASE(flush_of_a_range_refuses_negative_arguments_and_closed_regions) {
  auto p = dir / "file";
  auto region = region_with(p, "0123456789");
  BOOST_TEST(failed_as(region.flush(-1, 5), EINVAL, p, "flush"));
  BOOST_TEST(failed_as(region.flush(0, -2), EINVAL, p, "flush"));
  BOOST_REQUIRE(region.close().ok());
  BOOST_TEST(failed_as(region.flush(0, -1), EBADF, p, "flush"));
}

BOOST_AUTO_TEST_CASE(madvise_accepts_common_advice_on_unaligned_ranges_and_keeps_content) {
  auto p = dir / "file";
  auto bytes = pattern('v', 3 * page + 5);
  auto region = region_with(p, bytes);
  for (int advice : {MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED}) {
    for (auto [start, length] : {std::pair<std::int64_t, std::int64_t>{0, -1},
                                 {5, 100},
                                 {page + 3, -1},
                                 {3 * page + 4, 1000}}) {
      auto m = region.madvise(advice, start, length);
      BOOST_TEST(m.ok(), "advice " << advice << " at " << start << ": " << why(m));
    }
  }
  // MADV_DONTNEED on a shared file mapping drops nothing but page table entries.
  BOOST_TEST(read_all(region) == bytes);
  // Out-of-file and empty ranges are no-ops; read-only regions may be advised too.
  BOOST_TEST(region.madvise(MADV_WILLNEED, 10 * page, 5).ok());
  BOOST_TEST(region.madvise(MADV_WILLNEED, 0, 0).ok());
  auto ro = must_open(p, open_mode::read_only);
  BOOST_TEST(ro.madvise(MADV_SEQUENTIAL, 0, -1).ok());
}

BOOST_AUTO_TEST_CASE(madvise_refuses_unknown_or_destructive_advice_and_negative_ranges) {
  auto p = dir / "file";
  auto bytes = pattern('w', 2 * page);
  auto region = region_with(p, bytes);
  for (int advice : {-1, 12345, MADV_REMOVE, MADV_FREE, MADV_HWPOISON})
    BOOST_TEST(failed_as(region.madvise(advice, 0, -1), EINVAL, p, "madvise"), "advice " << advice);
  // The advice is checked even when the range is empty.
  BOOST_TEST(failed_as(region.madvise(12345, 10 * page, 0), EINVAL, p, "madvise"));
  BOOST_TEST(failed_as(region.madvise(MADV_NORMAL, -1, 5), EINVAL, p, "madvise"));
  BOOST_TEST(failed_as(region.madvise(MADV_NORMAL, 0, -2), EINVAL, p, "madvise"));
  BOOST_TEST(read_all(region) == bytes); // MADV_REMOVE would have punched a hole
  BOOST_REQUIRE(region.close().ok());
  BOOST_TEST(failed_as(region.madvise(MADV_NORMAL, 0, -1), EBADF, p, "madvise"));
  BOOST_TEST(read_file(p) == bytes);
}

BOOST_AUTO_TEST_SUITE_END()
