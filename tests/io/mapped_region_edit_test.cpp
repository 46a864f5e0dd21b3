#define BOOST_TEST_MODULE mapped_region_edit_test
// mapped_region: the editing operations (insert, erase, replace, fill, copy_within, move, compact)
// against string models.
#include "support/mapped_region_helpers.hpp"

BOOST_FIXTURE_TEST_SUITE(mapped_region_edit_suite, fixture)

// ---- insert / delete ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(insert_shifts_the_tail_up_and_zero_fills_past_the_end) {
  const std::string digits = "0123456789";
  struct case_t {
    const char* data;
    std::int64_t offset;
    std::string expected;
  };
  const case_t cases[] = {
    {"II", 3, "012II3456789"},
    {"EE", 10, "0123456789EE"},
    {"EE", 12, std::string("0123456789\0\0EE", 14)},
    {"FF", 20, digits + zeros(10) + "FF"},
    {"S", 0, "S0123456789"},
  };
  for (const auto& c : cases) {
    auto p = dir / ("insert_" + std::to_string(c.offset));
    auto region = region_with(p, digits);
    auto r = region.insert(c.data, c.offset);
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(*r == c.expected.size(), "offset " << c.offset);
    BOOST_TEST(region.size() == c.expected.size());
    BOOST_TEST(read_all(region) == c.expected, "offset " << c.offset);
    BOOST_TEST(read_file(p) == c.expected, "offset " << c.offset);
  }
  // Empty data changes nothing, even past the end.
  auto p = dir / "empty_insert";
  auto region = region_with(p, digits);
  BOOST_TEST(must(region.insert("", 5)) == 10u);
  BOOST_TEST(must(region.insert("", 50)) == 10u);
  BOOST_TEST(read_file(p) == digits);
}

BOOST_AUTO_TEST_CASE(insert_into_a_multi_page_file_moves_the_tail_across_pages) {
  for (bool minimize : {false, true}) {
    auto p = dir / (minimize ? "min" : "plain");
    auto model = pattern('i', 3 * page + 11);
    auto region = region_with(p, model, minimize);
    auto data = pattern('#', 5000);
    BOOST_TEST(must(region.insert(data, 100)) == model.size() + 5000);
    model.insert(100, data);
    BOOST_TEST(must(region.insert("x", static_cast<std::int64_t>(page))) == model.size() + 1);
    model.insert(page, "x");
    BOOST_TEST(read_all(region) == model, "minimize " << minimize);
    BOOST_TEST(read_file(p) == model, "minimize " << minimize);
  }
}

BOOST_AUTO_TEST_CASE(delete_removes_a_range_in_the_middle_or_at_the_end) {
  const std::string digits = "0123456789";
  auto p = dir / "file";
  {
    auto region = region_with(p, digits);
    BOOST_TEST(must(region.erase(2, 3)) == 3u);
    BOOST_TEST(read_file(p) == "0156789");
    BOOST_TEST(region.size() == 7u);
  }
  {
    auto region = region_with(p, digits);
    BOOST_TEST(must(region.erase(7, 3)) == 3u);
    BOOST_TEST(read_file(p) == "0123456");
  }
  {
    auto region = region_with(p, digits);
    BOOST_TEST(must(region.erase(0, 1)) == 1u);
    BOOST_TEST(must(region.erase(4, 0)) == 0u);
    BOOST_TEST(read_file(p) == "123456789");
  }
}

BOOST_AUTO_TEST_CASE(delete_past_eof_keeps_bytes_before_offset) {
  // The original lost bytes before the offset ("01234" here).
  auto p = dir / "file";
  auto region = region_with(p, "0123456789");
  BOOST_TEST(must(region.erase(8, 5)) == 2u);
  BOOST_TEST(read_file(p) == "01234567");
  BOOST_TEST(must(region.erase(5, 10)) == 3u); // the original: resize(0) and EINVAL
  BOOST_TEST(read_file(p) == "01234");
  // At or past the end: nothing.
  BOOST_TEST(must(region.erase(5, 3)) == 0u);
  BOOST_TEST(must(region.erase(100, 3)) == 0u);
  BOOST_TEST(read_file(p) == "01234");
  BOOST_TEST(failed_as(region.erase(1, -1), EINVAL, p, "erase"));
  BOOST_TEST(failed_as(region.erase(-1, 1), EINVAL, p, "erase"));
  BOOST_TEST(read_file(p) == "01234");
}

BOOST_AUTO_TEST_CASE(delete_of_everything_leaves_an_empty_file) {
  // The original raised EINVAL after already truncating.
  auto p = dir / "file";
  auto region = region_with(p, pattern('e', 2 * page));
  BOOST_TEST(must(region.erase(0, 2 * page)) == 2 * page);
  BOOST_TEST(region.size() == 0u);
  BOOST_TEST(region.mapped_length() == 0u);
  BOOST_TEST(fs::file_size(p) == 0u);
  BOOST_TEST(must(region.erase(0, 10)) == 0u);
  // Still usable.
  must_write(region, "again", 0);
  BOOST_TEST(must(region.erase(0, std::numeric_limits<std::int64_t>::max())) == 5u);
  BOOST_TEST(read_file(p).empty());
}

// ---- replace --------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(replace_rewrites_occurrences_left_to_right_in_one_pass) {
  auto p = dir / "file";
  struct case_t {
    std::string before, old_bytes, new_bytes;
    std::int64_t offset, count;
    std::uint64_t replaced;
    std::string after;
  };
  const case_t cases[] = {
    {"a-b-c-d", "-", "==", 0, -1, 3, "a==b==c==d"}, // behaviour notes, with PATCH 2
    {"a-b-c-d", "-", "==", 0, 2, 2, "a==b==c-d"},
    {"a-b-c-d", "-", "==", 2, -1, 2, "a-b==c==d"},
    {"a-b-c-d", "-", "==", 0, 0, 0, "a-b-c-d"},
    {"a-b-c-d", "-", "+", 0, -1, 3, "a+b+c+d"}, // same length
    {"a--b--c", "--", "", 0, -1, 2, "abc"},     // shrinking
    {"abc--", "--", "", 0, -1, 1, "abc"},       // deleting to the end
    {"aaa", "a", "aa", 0, -1, 3, "aaaaaa"},     // replacements are not rescanned
    {"aaaa", "aa", "b", 0, -1, 2, "bb"},        // non-overlapping
    {"aaaaa", "aa", "xyz", 0, -1, 2, "xyzxyza"},
    {"abcabc", "abc", "", 0, -1, 2, ""}, // the file may become empty
    {"abc", "zz", "y", 0, -1, 0, "abc"},
    {"abc", "c", "y", 3, -1, 0, "abc"},
    {"abc", "abcd", "y", 0, -1, 0, "abc"},
  };
  for (const auto& c : cases) {
    auto region = region_with(p, c.before);
    auto r = region.replace(c.old_bytes, c.new_bytes, c.offset, c.count);
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(*r == c.replaced, c.before << " " << c.old_bytes << "->" << c.new_bytes);
    BOOST_TEST(read_all(region) == c.after, c.before << " " << c.old_bytes << "->" << c.new_bytes);
    BOOST_TEST(read_file(p) == c.after, c.before << " " << c.old_bytes << "->" << c.new_bytes);
  }
}

BOOST_AUTO_TEST_CASE(replace_growing_and_shrinking_across_pages_matches_the_model) {
  std::mt19937 rng(7);
  for (bool minimize : {false, true}) {
    auto p = dir / (minimize ? "min" : "plain");
    auto model = random_bytes(rng, 5 * page + 3, "abcd");
    auto region = region_with(p, model, minimize);
    const std::pair<const char*, const char*> steps[] = {
      {"ab", "XYZW"}, {"XYZW", "q"}, {"q", "QQ"}, {"cd", "cd"}, {"QQ", ""}, {"a", "aaa"}};
    for (const auto& [old_bytes, new_bytes] : steps) {
      auto expected = model_replace(model, old_bytes, new_bytes, 0, -1);
      BOOST_TEST(must(region.replace(old_bytes, new_bytes, 0, -1)) == expected);
      BOOST_TEST(region.size() == model.size());
      BOOST_REQUIRE_MESSAGE(read_all(region) == model,
                            old_bytes << "->" << new_bytes << " minimize " << minimize);
    }
    BOOST_TEST(read_file(p) == model);
  }
}

BOOST_AUTO_TEST_CASE(replace_with_empty_old_is_einval) {
  // The original would loop forever.
  auto p = dir / "file";
  auto region = region_with(p, "abc");
  BOOST_TEST(failed_as(region.replace("", "x", 0, -1), EINVAL, p, "replace"));
  BOOST_TEST(failed_as(region.replace("", "", 0, 1), EINVAL, p, "replace"));
  BOOST_TEST(failed_as(region.replace("a", "b", -1, -1), EINVAL, p, "replace"));
  BOOST_TEST(failed_as(region.replace("a", "b", 0, -2), EINVAL, p, "replace"));
  BOOST_TEST(read_file(p) == "abc");
}

// ---- fill / copy_within / move ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(fill_writes_the_pattern_count_times) {
  auto p = dir / "file";
  auto region = region_with(p, "0123456789");
  BOOST_TEST(must(region.fill("ab", 1, 3)) == 6u);
  BOOST_TEST(read_file(p) == "0ababab789");
  // Growing, with a gap.
  BOOST_TEST(must(region.fill("xyz", 12, 2)) == 6u);
  BOOST_TEST(read_file(p) == std::string("0ababab789\0\0xyzxyz", 18));
  // Nothing to write.
  BOOST_TEST(must(region.fill("ab", 100, 0)) == 0u);
  BOOST_TEST(must(region.fill("", 100, 5)) == 0u);
  BOOST_TEST(region.size() == 18u);
  // Many repetitions across pages (more than one internal chunk), odd pattern length.
  std::string expected = read_file(p);
  BOOST_TEST(must(region.fill("12345", 3, 30'000)) == 150'000u);
  std::string big;
  for (int i = 0; i < 30'000; ++i)
    big += "12345";
  expected = expected.substr(0, 3) + big;
  BOOST_TEST(read_all(region) == expected);
  BOOST_TEST(read_file(p) == expected);
  BOOST_TEST(failed_as(region.fill("ab", 0, -1), EINVAL, p, "fill"));
  BOOST_TEST(failed_as(region.fill("ab", -1, 1), EINVAL, p, "fill"));
  BOOST_TEST(
    failed_as(region.fill("ab", 0, std::numeric_limits<std::int64_t>::max()), EFBIG, p, "fill"));
  BOOST_TEST(region.size() == expected.size());
}

BOOST_AUTO_TEST_CASE(copy_within_copies_as_if_through_a_buffer_and_may_grow) {
  auto p = dir / "file";
  struct case_t {
    std::string before;
    std::int64_t src, dst, size;
    std::uint64_t copied;
    std::string after;
  };
  const case_t cases[] = {
    {"0123401289", 8, 9, 5, 2, "01234012889"}, // behaviour notes: the source ends, the file grows
    {"0123456789", 0, 2, 5, 5, "0101234789"},  // overlapping, moving up
    {"0123456789", 2, 0, 5, 5, "2345656789"},  // overlapping, moving down
    {"0123456789", 5, 10, -1, 5, "012345678956789"},
    {"0123456789", 0, 12, 2, 2,
     std::string("0123456789\0\0"
                 "01",
                 14)},
    {"0123456789", 3, 3, 4, 4, "0123456789"},
    {"0123456789", 10, 20, 5, 0, "0123456789"}, // source at the end: nothing, no growth
    {"0123456789", 4, 20, 0, 0, "0123456789"},
  };
  for (const auto& c : cases) {
    auto region = region_with(p, c.before);
    auto r = region.copy_within(c.dst, c.src, c.size);
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(*r == c.copied, c.src << "->" << c.dst << " x" << c.size);
    BOOST_TEST(read_file(p) == c.after, c.src << "->" << c.dst << " x" << c.size);
  }
  auto region = region_with(p, "0123456789");
  BOOST_TEST(failed_as(region.copy_within(0, -1, 1), EINVAL, p, "copy_within"));
  BOOST_TEST(failed_as(region.copy_within(-1, 0, 1), EINVAL, p, "copy_within"));
  BOOST_TEST(failed_as(region.copy_within(1, 0, -2), EINVAL, p, "copy_within"));
  BOOST_TEST(read_file(p) == "0123456789");
}

BOOST_AUTO_TEST_CASE(move_copies_inside_the_file_and_refuses_ranges_past_it) {
  auto p = dir / "file";
  auto region = region_with(p, "0123456789");
  BOOST_TEST(region.move(0, 5, 5).ok());
  BOOST_TEST(read_file(p) == "5678956789");
  region = region_with(p, "0123456789");
  BOOST_TEST(region.move(1, 0, 9).ok()); // overlapping
  BOOST_TEST(read_file(p) == "0012345678");
  BOOST_TEST(region.move(10, 0, 0).ok()); // empty, at the end
  for (auto [dest, src, count] : {std::tuple<std::int64_t, std::int64_t, std::int64_t>{5, 6, 5},
                                  {6, 0, 5},
                                  {0, 11, 0},
                                  {11, 0, 0},
                                  {0, 0, 11},
                                  {-1, 0, 1},
                                  {0, -1, 1},
                                  {0, 0, -1}}) {
    BOOST_TEST(failed_as(region.move(dest, src, count), EINVAL, p, "move"),
               dest << " " << src << " " << count);
  }
  BOOST_TEST(region.size() == 10u);
  BOOST_TEST(read_file(p) == "0012345678");
}

// ---- compact --------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(compact_drops_trailing_nul_bytes) {
  auto p = dir / "file";
  auto region = region_with(p, std::string("a\0b\0\0\0", 6));
  BOOST_TEST(must(region.compact()) == 3u);
  BOOST_TEST(read_file(p) == std::string("a\0b", 3));
  BOOST_TEST(must(region.compact()) == 0u);
  BOOST_TEST(read_file(p) == std::string("a\0b", 3));
  // Every combination of where the last non-zero byte sits in a word and how many zeros follow,
  // across word and page boundaries.
  for (std::size_t last : {0, 1, 6, 7, 8, 9, 15, 4095, 4096, 4097}) {
    for (std::size_t zeros_after : {0, 1, 7, 8, 9, 17, 4096, 5000}) {
      auto content = pattern('c', last + 1);
      if (last > 0)
        content[last / 2] = '\0'; // an inner zero stays
      auto full = content + zeros(zeros_after);
      auto r = region_with(p, full);
      BOOST_TEST(must(r.compact()) == zeros_after, last << " + " << zeros_after);
      BOOST_TEST(read_all(r) == content, last << " + " << zeros_after);
    }
  }
}

BOOST_AUTO_TEST_CASE(compact_of_all_zero_file_makes_it_empty) {
  // The original returned None and left the file as it was.
  auto p = dir / "file";
  for (std::size_t n : {1, 8, 13, 3 * 4096 + 5}) {
    auto region = region_with(p, zeros(n));
    BOOST_TEST(must(region.compact()) == n);
    BOOST_TEST(region.size() == 0u);
    BOOST_TEST(region.mapped_length() == 0u);
    BOOST_TEST(fs::file_size(p) == 0u);
    BOOST_TEST(must(region.compact()) == 0u); // an empty file: nothing to do
  }
}

// ---- errors common to the editing operations ------------------------------------------------

BOOST_AUTO_TEST_CASE(new_operations_after_close_are_ebadf_with_their_op_name) {
  auto p = dir / "file";
  auto region = region_with(p, "hello\nworld\n");
  BOOST_REQUIRE(region.close().ok());
  BOOST_TEST(failed_as(region.readline(0, -1, false), EBADF, p, "readline"));
  BOOST_TEST(failed_as(region.readlines(-1), EBADF, p, "readlines"));
  BOOST_TEST(failed_as(region.lines_from(0, 10), EBADF, p, "lines_from"));
  BOOST_TEST(failed_as(region.read_until("\n", 0, -1), EBADF, p, "read_until"));
  BOOST_TEST(failed_as(region.writelines({bytes_of("x")}, "", 0), EBADF, p, "writelines"));
  BOOST_TEST(failed_as(region.insert("x", 0), EBADF, p, "insert"));
  BOOST_TEST(failed_as(region.erase(0, 1), EBADF, p, "erase"));
  BOOST_TEST(failed_as(region.replace("l", "L", 0, -1), EBADF, p, "replace"));
  BOOST_TEST(failed_as(region.fill("x", 0, 1), EBADF, p, "fill"));
  BOOST_TEST(failed_as(region.copy_within(1, 0, 1), EBADF, p, "copy_within"));
  BOOST_TEST(failed_as(region.move(0, 1, 1), EBADF, p, "move"));
  BOOST_TEST(failed_as(region.compact(), EBADF, p, "compact"));
  BOOST_TEST(failed_as(region.find("l", 0, -1), EBADF, p, "find"));
  BOOST_TEST(failed_as(region.rfind("l", 0, -1), EBADF, p, "rfind"));
  BOOST_TEST(failed_as(region.search("l", 0, -1, true), EBADF, p, "search"));
  BOOST_TEST(failed_as(region.flush(0, -1), EBADF, p, "flush"));
  BOOST_TEST(failed_as(region.madvise(MADV_NORMAL, 0, -1), EBADF, p, "madvise"));
  BOOST_TEST(read_file(p) == "hello\nworld\n");
}

BOOST_AUTO_TEST_CASE(mutating_operations_on_read_only_region_are_ebadf_and_change_nothing) {
  auto p = dir / "file";
  write_file(p, std::string("hello\nworld\n\0\0", 14));
  auto region = must_open(p, open_mode::read_only);
  BOOST_TEST(failed_as(region.writelines({bytes_of("x")}, "-", 0), EBADF, p, "writelines"));
  BOOST_TEST(failed_as(region.insert("x", 0), EBADF, p, "insert"));
  BOOST_TEST(failed_as(region.insert("x", 100), EBADF, p, "insert"));
  BOOST_TEST(failed_as(region.erase(0, 1), EBADF, p, "erase"));
  BOOST_TEST(failed_as(region.replace("l", "L", 0, -1), EBADF, p, "replace"));
  BOOST_TEST(failed_as(region.fill("x", 0, 1), EBADF, p, "fill"));
  BOOST_TEST(failed_as(region.copy_within(1, 0, 1), EBADF, p, "copy_within"));
  BOOST_TEST(failed_as(region.move(0, 1, 1), EBADF, p, "move"));
  BOOST_TEST(failed_as(region.compact(), EBADF, p, "compact"));
  BOOST_TEST(region.size() == 14u);
  BOOST_TEST(read_file(p) == std::string("hello\nworld\n\0\0", 14));
  // The reading operations work.
  BOOST_TEST(line_at(region, 0).first == "hello");
  BOOST_TEST(must(region.find("world", 0, -1)) == 6);
  BOOST_TEST(must(region.readlines(-1)).size() == 3u);
}

BOOST_AUTO_TEST_CASE(negative_offsets_and_sizes_are_einval_with_their_op_name) {
  auto p = dir / "file";
  auto region = region_with(p, "hello\nworld\n");
  BOOST_TEST(failed_as(region.readline(-1, -1, false), EINVAL, p, "readline"));
  BOOST_TEST(failed_as(region.readline(0, -2, false), EINVAL, p, "readline"));
  BOOST_TEST(failed_as(region.read_until("\n", -1, -1), EINVAL, p, "read_until"));
  BOOST_TEST(failed_as(region.read_until("\n", 0, -2), EINVAL, p, "read_until"));
  BOOST_TEST(failed_as(region.insert("x", -1), EINVAL, p, "insert"));
  BOOST_TEST(
    failed_as(region.insert("x", std::numeric_limits<std::int64_t>::min()), EINVAL, p, "insert"));
  BOOST_TEST(region.size() == 12u);
  BOOST_TEST(read_file(p) == "hello\nworld\n");
}

// ---- model-based ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(random_operations_match_a_string_model) {
  // 10,000 random edits on a small file, each also applied to a std::string by the naive models
  // above; the whole content is compared after every step, and at the end with iostreams.
  for (bool minimize : {false, true}) {
    auto p = dir / (minimize ? "minimize" : "plain");
    std::mt19937 rng(minimize ? 4242 : 2424);
    std::string model = random_bytes(rng, 100, "ab\0");
    auto region = region_with(p, model, minimize);
    auto num = [&](std::int64_t lo, std::int64_t hi) {
      return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
    };
    auto text = [&](std::int64_t lo, std::int64_t hi) {
      return random_bytes(rng, static_cast<std::size_t>(num(lo, hi)), std::string_view("ab\0", 3));
    };
    const char* names[] = {"write",       "insert", "erase",  "replace", "fill",
                           "copy_within", "move",   "resize", "compact"};
    for (int step = 0; step < 10'000; ++step) {
      auto size = static_cast<std::int64_t>(model.size());
      int op = static_cast<int>(num(0, 8));
      if (size > 6000)
        op = 2; // erase keeps the file small
      std::ostringstream what;
      what << "step " << step << " " << names[op] << " (minimize " << minimize << ")";
      switch (op) {
      case 0: {
        auto data = text(0, 20);
        auto off = num(0, size + 20);
        auto r = must(region.write(data.data(), data.size(), off));
        model_write(model, data, static_cast<std::uint64_t>(off));
        BOOST_REQUIRE_MESSAGE(r == data.size(), what.str());
        break;
      }
      case 1: {
        auto data = text(0, 20);
        auto off = num(0, size + 20);
        auto r = must(region.insert(data, off));
        BOOST_REQUIRE_MESSAGE(r == model_insert(model, data, static_cast<std::uint64_t>(off)),
                              what.str());
        break;
      }
      case 2: {
        auto off = num(0, size + 5);
        auto n = size > 6000 ? num(0, size) : num(0, 40);
        auto r = must(region.erase(off, n));
        BOOST_REQUIRE_MESSAGE(
          r == model_erase(model, static_cast<std::uint64_t>(off), static_cast<std::uint64_t>(n)),
          what.str());
        break;
      }
      case 3: {
        auto old_bytes = text(1, 3);
        auto new_bytes = text(0, 4);
        auto off = num(0, size + 2);
        auto count = num(-1, 4);
        auto r = must(region.replace(old_bytes, new_bytes, off, count));
        BOOST_REQUIRE_MESSAGE(
          r == model_replace(model, old_bytes, new_bytes, static_cast<std::uint64_t>(off), count),
          what.str());
        break;
      }
      case 4: {
        auto pat = text(0, 4);
        auto off = num(0, size + 10);
        auto count = num(0, 10);
        auto r = must(region.fill(pat, off, count));
        BOOST_REQUIRE_MESSAGE(r == model_fill(model, pat, static_cast<std::uint64_t>(off),
                                              static_cast<std::uint64_t>(count)),
                              what.str());
        break;
      }
      case 5: {
        auto src = num(0, size + 3);
        auto dst = num(0, size + 10);
        auto n = num(-1, 40);
        auto r = must(region.copy_within(dst, src, n));
        BOOST_REQUIRE_MESSAGE(r == model_copy_within(model, static_cast<std::uint64_t>(src),
                                                     static_cast<std::uint64_t>(dst), n),
                              what.str());
        break;
      }
      case 6: {
        auto dest = num(0, size + 2);
        auto src = num(0, size + 2);
        auto n = num(0, 40);
        auto st = region.move(dest, src, n);
        bool valid = model_move(model, static_cast<std::uint64_t>(dest),
                                static_cast<std::uint64_t>(src), static_cast<std::uint64_t>(n));
        if (valid)
          BOOST_REQUIRE_MESSAGE(st.ok(), what.str() << ": " << why(st));
        else
          BOOST_REQUIRE_MESSAGE(failed_as(st, EINVAL, p, "move"), what.str());
        break;
      }
      case 7: {
        // Mostly small changes; now and then across a page boundary.
        auto n = num(0, 20) == 0 ? num(0, 6000) : std::max<std::int64_t>(0, size + num(-30, 30));
        auto r = must(region.resize(n));
        model.resize(static_cast<std::size_t>(n), '\0');
        BOOST_REQUIRE_MESSAGE(r == model.size(), what.str());
        break;
      }
      case 8: {
        auto r = must(region.compact());
        BOOST_REQUIRE_MESSAGE(r == model_compact(model), what.str());
        break;
      }
      }
      BOOST_REQUIRE_MESSAGE(region.size() == model.size(),
                            what.str() << ": size " << region.size() << " vs " << model.size());
      BOOST_REQUIRE_MESSAGE(read_all(region) == model, what.str() << ": content differs");
    }
    BOOST_TEST(region.close().ok());
    BOOST_TEST(read_file(p) == model);
  }
}

// ---- minimize_writes in the editing operations ----------------------------------------------

BOOST_AUTO_TEST_CASE(editing_with_minimize_writes_does_not_dirty_pages_with_identical_bytes,
                     *boost::unit_test::precondition(msync_cleans_pages_here)) {
  // Same oracle and tmpfs caveat as minimize_writes_does_not_dirty_pages_with_identical_bytes.
  constexpr std::uint64_t total = 16 * mib;
  constexpr long total_kib = static_cast<long>(total / kib);
  auto p = dir / "file";
  const std::string same(total, 'z');
  write_file(p, same);
  {
    auto plain = must_open(p, open_mode::read_write, 0, false);
    BOOST_REQUIRE(read_all(plain) == same);
    BOOST_REQUIRE(plain.sync().ok());
    BOOST_REQUIRE(dirty_kib_of(p) == 0);
    BOOST_REQUIRE(must(plain.fill("z", 0, total)) == total);
    BOOST_REQUIRE_MESSAGE(dirty_kib_of(p) == total_kib,
                          "control did not dirty everything: " << dirty_kib_of(p) << " kB");
  }
  auto region = must_open(p, open_mode::read_write, 0, true);
  BOOST_REQUIRE(read_all(region) == same);
  BOOST_REQUIRE(region.sync().ok());
  BOOST_REQUIRE(dirty_kib_of(p) == 0);
  BOOST_TEST(must(region.fill("zz", 1, total / 2 - 1)) == total - 2);
  BOOST_TEST(must(region.replace("zzzz", "zzzz", 0, -1)) == total / 4);
  BOOST_TEST(must(region.copy_within(4097, 0, static_cast<std::int64_t>(total - 4097))) ==
             total - 4097);
  BOOST_TEST(region.move(0, 3, 1000).ok());
  BOOST_TEST(dirty_kib_of(p) == 0);
  // Inserting one 'z' at the start shifts every byte, yet only the new last byte changes.
  BOOST_TEST(must(region.insert("z", 0)) == total + 1);
  auto dirty = dirty_kib_of(p);
  BOOST_TEST(dirty <= total_kib / 4, "dirty " << dirty << " kB of " << total_kib);
  BOOST_TEST(read_all(region, static_cast<std::int64_t>(total - 2), -1) == "zzz");
}

BOOST_AUTO_TEST_SUITE_END()
