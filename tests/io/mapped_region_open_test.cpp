#define BOOST_TEST_MODULE mapped_region_open_test
// mapped_region: opening: open errors, initial sizes, zero-byte files.
#include "support/mapped_region_helpers.hpp"

BOOST_FIXTURE_TEST_SUITE(mapped_region_open_suite, fixture)

// ---- open: errors ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(open_read_write_of_missing_file_is_enoent_and_creates_nothing) {
  auto p = dir / "missing";
  for (auto mode : {open_mode::read_write, open_mode::read_only}) {
    auto r = open_region(p, mode);
    BOOST_TEST(failed_with(r, ENOENT, p));
    if (!r.ok())
      BOOST_TEST(r.error().op == "open");
    BOOST_TEST(!fs::exists(p));
  }
}

BOOST_AUTO_TEST_CASE(open_of_directory_is_eisdir_in_every_mode_that_reaches_it) {
  auto p = dir / "subdir";
  fs::create_directory(p);
  // r+b and w+b fail in open(2) itself; rb opens the directory and must be refused after fstat.
  for (auto mode : {open_mode::read_write, open_mode::read_only, open_mode::create}) {
    auto r = open_region(p, mode);
    BOOST_TEST(failed_with(r, EISDIR, p), to_string(mode));
  }
  // x+b sees an existing name first.
  BOOST_TEST(failed_with(open_region(p, open_mode::create_exclusive), EEXIST, p));
  BOOST_TEST(fs::is_directory(p));
}

BOOST_AUTO_TEST_CASE(open_of_path_with_300_char_component_is_enametoolong) {
  auto p = dir / std::string(300, 'n');
  for (auto mode : {open_mode::read_write, open_mode::create, open_mode::create_exclusive}) {
    auto r = open_region(p, mode, 10);
    BOOST_TEST(failed_with(r, ENAMETOOLONG, p), to_string(mode));
  }
}

BOOST_AUTO_TEST_CASE(open_of_fifo_is_einval) {
  auto p = dir / "fifo";
  BOOST_REQUIRE(::mkfifo(p.c_str(), 0644) == 0);
  // O_RDWR never blocks on a FIFO on Linux, so this reaches the regular-file check.
  BOOST_TEST(failed_with(open_region(p, open_mode::read_write), EINVAL, p));
}

BOOST_AUTO_TEST_CASE(open_read_only_of_fifo_without_writer_does_not_block) {
  // O_RDONLY without O_NONBLOCK waits for a writer forever; run it in a child with a deadline.
  auto p = dir / "fifo";
  BOOST_REQUIRE(::mkfifo(p.c_str(), 0644) == 0);
  int wstatus = run_in_child(
    [&] {
      auto r = open_region(p, open_mode::read_only);
      return !r.ok() && r.error().code == EINVAL && r.error().path == p.string() ? 0 : 1;
    },
    std::chrono::seconds(3));
  BOOST_TEST((WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0),
             "child: " << describe_wait(wstatus) << " (signal 9: it hung in open)");
}

BOOST_AUTO_TEST_CASE(open_exclusive_of_existing_file_is_eexist_and_leaves_it_untouched) {
  auto p = dir / "existing";
  write_file(p, "keep me");
  auto inode = stat_of(p).st_ino;
  auto r = open_region(p, open_mode::create_exclusive, 100);
  BOOST_TEST(failed_with(r, EEXIST, p));
  BOOST_TEST(read_file(p) == "keep me");
  BOOST_TEST(stat_of(p).st_ino == inode);
}

BOOST_AUTO_TEST_CASE(open_with_negative_init_size_is_einval_in_every_mode_and_creates_nothing) {
  auto existing = dir / "existing";
  write_file(existing, "abc");
  for (auto mode : {open_mode::read_write, open_mode::read_only}) {
    auto r = open_region(existing, mode, -1);
    BOOST_TEST(failed_with(r, EINVAL, existing), to_string(mode));
  }
  auto fresh = dir / "fresh";
  for (auto mode : {open_mode::create, open_mode::create_exclusive}) {
    auto r = open_region(fresh, mode, -5);
    BOOST_TEST(failed_with(r, EINVAL, fresh), to_string(mode));
    BOOST_TEST(!fs::exists(fresh));
  }
  // w+b must not have truncated the existing file either.
  BOOST_TEST(failed_with(open_region(existing, open_mode::create, -1), EINVAL, existing));
  BOOST_TEST(read_file(existing) == "abc");
}

BOOST_AUTO_TEST_CASE(open_read_only_with_growing_init_size_is_einval_and_keeps_file) {
  auto p = dir / "small";
  write_file(p, "12345");
  auto r = open_region(p, open_mode::read_only, 6);
  BOOST_TEST(failed_with(r, EINVAL, p));
  BOOST_TEST(read_file(p) == "12345");
  // Equal or smaller is fine and changes nothing.
  for (std::int64_t init : {0, 3, 5}) {
    auto ok = open_region(p, open_mode::read_only, init);
    BOOST_REQUIRE_MESSAGE(ok.ok(), "init " << init << ": " << why(ok));
    BOOST_TEST(ok->size() == 5u);
    BOOST_TEST(read_all(*ok) == "12345");
  }
  BOOST_TEST(read_file(p) == "12345");
}

BOOST_AUTO_TEST_CASE(failed_opens_leak_no_descriptor) {
  auto p = dir / "file";
  write_file(p, "12345");
  fs::create_directory(dir / "d");
  auto before = open_fd_count();
  for (int i = 0; i < 20; ++i) {
    BOOST_TEST(!open_region(p, open_mode::read_only, 100).ok());    // fails after open(2)
    BOOST_TEST(!open_region(dir / "d", open_mode::read_only).ok()); // fails after fstat
    BOOST_TEST(!open_region(p, open_mode::create_exclusive).ok());
  }
  BOOST_TEST(open_fd_count() == before);
}

// ---- open: sizes ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(open_exclusive_creates_zero_filled_file_of_init_size) {
  auto p = dir / "new";
  auto region = must_open(p, open_mode::create_exclusive, 5000);
  BOOST_TEST(region.is_open());
  BOOST_TEST(region.path() == p.string());
  BOOST_TEST((region.mode() == open_mode::create_exclusive));
  BOOST_TEST(region.size() == 5000u);
  BOOST_TEST(region.mapped_length() >= 5000u);
  BOOST_TEST(fs::file_size(p) == 5000u);
  BOOST_TEST(read_all(region) == zeros(5000));
}

BOOST_AUTO_TEST_CASE(open_exclusive_that_cannot_size_its_new_file_removes_it_again) {
  // RLIMIT_FSIZE makes the kernel refuse the ftruncate with EFBIG (SIGXFSZ ignored, as a shell's
  // `trap '' XFSZ` would); run in a child, the limit is the whole process's.
  auto p = dir / "new";
  auto kept = dir / "kept";
  write_file(kept, "old");
  int wstatus = run_in_child([&] {
    std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim {};
    lim.rlim_cur = lim.rlim_max = mib;
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0)
      return 10;
    auto r = mapped_region::open(p.string(), open_mode::create_exclusive, 2 * mib, true);
    if (r.ok() || r.error().code != EFBIG)
      return 11;
    if (fs::exists(p))
      return 12;
    // "w+b" may have truncated a file that was there before: it is left, not removed.
    auto t = mapped_region::open(kept.string(), open_mode::create, 2 * mib, true);
    if (t.ok() || !fs::exists(kept))
      return 13;
    // The name is free again: a size the limit allows succeeds.
    auto again = mapped_region::open(p.string(), open_mode::create_exclusive, kib, true);
    return again.ok() ? 0 : 14;
  });
  BOOST_TEST((WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0),
             "child: " << describe_wait(wstatus) << " (12: the empty file was left behind)");
}

BOOST_AUTO_TEST_CASE(open_create_truncates_existing_file_to_init_size) {
  auto p = dir / "existing";
  write_file(p, "old content that is long");
  {
    // Smaller than before: the old bytes must be gone, not kept as a prefix.
    auto region = must_open(p, open_mode::create, 5);
    BOOST_TEST(region.size() == 5u);
    BOOST_TEST(read_all(region) == zeros(5));
  }
  BOOST_TEST(read_file(p) == zeros(5));
  write_file(p, "old");
  {
    auto region = must_open(p, open_mode::create, 0);
    BOOST_TEST(region.size() == 0u);
  }
  BOOST_TEST(fs::file_size(p) == 0u);
  write_file(p, "old");
  {
    auto region = must_open(p, open_mode::create, 3);
    BOOST_TEST(read_all(region) == zeros(3));
  }
  BOOST_TEST(read_file(p) == zeros(3));
}

BOOST_AUTO_TEST_CASE(open_with_smaller_init_size_keeps_file_size) {
  auto p = dir / "file";
  auto bytes = pattern('a', 10'000);
  write_file(p, bytes);
  for (std::int64_t init : {0, 1, 4096, 9'999, 10'000}) {
    auto region = must_open(p, open_mode::read_write, init);
    BOOST_TEST(region.size() == 10'000u, "init " << init);
    BOOST_TEST(read_all(region) == bytes, "init " << init);
  }
  BOOST_TEST(read_file(p) == bytes);
}

BOOST_AUTO_TEST_CASE(open_with_bigger_init_size_grows_with_zeros) {
  auto p = dir / "file";
  write_file(p, "head");
  {
    auto region = must_open(p, open_mode::read_write, 10'000);
    BOOST_TEST(region.size() == 10'000u);
    BOOST_TEST(read_all(region) == "head" + zeros(9'996));
  }
  BOOST_TEST(read_file(p) == "head" + zeros(9'996));
}

// ---- zero-byte files ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(zero_byte_file_opens_without_mapping) {
  auto p = dir / "empty";
  write_file(p, "");
  for (auto mode : {open_mode::read_write, open_mode::read_only}) {
    auto region = must_open(p, mode);
    BOOST_TEST(region.size() == 0u);
    BOOST_TEST(region.mapped_length() == 0u);
    BOOST_TEST(read_all(region).empty());
    BOOST_TEST(read_all(region, 0, 10).empty());
    BOOST_TEST(read_all(region, 100, -1).empty());
    auto f = region.flush();
    BOOST_TEST(f.ok(), why(f));
    auto s = region.sync();
    BOOST_TEST(s.ok(), why(s));
    auto c = region.close();
    BOOST_TEST(c.ok(), why(c));
  }
  auto created = must_open(dir / "created", open_mode::create, 0);
  BOOST_TEST(created.size() == 0u);
  BOOST_TEST(created.mapped_length() == 0u);
}

BOOST_AUTO_TEST_CASE(zero_byte_file_maps_lazily_on_first_write) {
  auto p = dir / "empty";
  write_file(p, "");
  auto region = must_open(p, open_mode::read_write);
  BOOST_REQUIRE(region.mapped_length() == 0u);
  must_write(region, "hello", 0);
  BOOST_TEST(region.size() == 5u);
  BOOST_TEST(region.mapped_length() >= 5u);
  BOOST_TEST(region.mapped_length() % page == 0u);
  BOOST_TEST(read_all(region) == "hello");
  BOOST_TEST(read_file(p) == "hello");
}

BOOST_AUTO_TEST_CASE(write_of_zero_bytes_changes_nothing) {
  auto p = dir / "file";
  write_file(p, "abc");
  auto region = must_open(p, open_mode::read_write);
  auto r = region.write("", 0, 100);
  BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
  BOOST_TEST(*r == 0u);
  BOOST_TEST(region.size() == 3u);
  BOOST_TEST(read_file(p) == "abc");
}

BOOST_AUTO_TEST_SUITE_END()
