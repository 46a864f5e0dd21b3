#define BOOST_TEST_MODULE operation_test
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/bulk_calls.hpp"
#include "support/files.hpp"
#include "support/runtime_fixture.hpp"

// The operation a bulk call returns (actorio/operation.hpp): progress reports up to the total,
// cancel, drop and detach.

namespace fs = std::filesystem;
using namespace actorio;
using namespace actorio::test;

namespace {

/// Waits until no copy temporaries remain in `dir` and the set of names stays the same for a
/// while: the workers of a cancelled run have then stopped. Returns the names.
std::set<std::string> settled_names(const temp_dir& dir) {
  std::set<std::string> last;
  int stable = 0;
  for (int round = 0; round < 600 && stable < 5; ++round) {
    std::set<std::string> now;
    bool temporaries = false;
    for (auto& e : fs::directory_iterator(dir.path())) {
      auto name = e.path().filename().string();
      temporaries |= name.find(".actorio-") != std::string::npos;
      now.insert(name);
    }
    stable = (!temporaries && now == last) ? stable + 1 : 0;
    last = std::move(now);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return last;
}

/// Checks what a cancelled bulk copy of `srcs` to dst0, dst1, ... left: no temporaries, fewer
/// destinations than sources, and each one there a complete copy.
void check_cancelled_copy(const temp_dir& dir, const std::vector<fs::path>& srcs) {
  auto names = settled_names(dir);
  std::size_t copied = 0;
  for (std::size_t i = 0; i < srcs.size(); ++i) {
    auto dst = dir / ("dst" + std::to_string(i));
    if (names.count(dst.filename().string()) == 0)
      continue;
    ++copied;
    BOOST_TEST((read_file(dst) == read_file(srcs[i])), dst.string());
  }
  BOOST_TEST(copied < srcs.size());
  for (auto& n : names)
    BOOST_TEST(n.find(".actorio-") == std::string::npos, n);
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(operation, runtime_fixture)

BOOST_AUTO_TEST_CASE(bulk_checksum_reports_progress_up_to_the_total) {
  auto paths = make_files(dir, "p", 8, std::size_t{4} << 20);
  paths.push_back(path("missing"));
  progress_log log;
  auto sums = mgr.bulk_checksum(paths, "sha256", log.options()).get();
  BOOST_TEST(sums.at(path("missing")).error().code == ENOENT);
  auto reports = log.all();
  BOOST_REQUIRE(!reports.empty());
  for (std::size_t i = 1; i < reports.size(); ++i) {
    BOOST_TEST(reports[i].bytes_done >= reports[i - 1].bytes_done);
    BOOST_TEST(reports[i].items_done >= reports[i - 1].items_done);
  }
  auto last = reports.back();
  BOOST_TEST(last.items_total == 9u);
  BOOST_TEST(last.items_done == 9u);
  BOOST_TEST(last.bytes_total == std::uint64_t{32} << 20);
  BOOST_TEST(last.bytes_done == std::uint64_t{32} << 20);
}

BOOST_AUTO_TEST_CASE(every_bulk_call_with_a_callback_ends_with_done_equal_to_total) {
  auto paths = make_files(dir, "r", 3, std::size_t{3} << 20);
  std::ofstream(paths[2], std::ios::app).write("\0\0\0\0", 4);
  auto last_of = [](progress_log& log) {
    auto all = log.all();
    BOOST_REQUIRE(!all.empty());
    return all.back();
  };
  auto check = [](const progress& p, std::uint64_t bytes, std::uint64_t items) {
    BOOST_TEST(p.bytes_total == bytes);
    BOOST_TEST(p.bytes_done == bytes);
    BOOST_TEST(p.items_total == items);
    BOOST_TEST(p.items_done == items);
  };
  const std::uint64_t mib3 = std::uint64_t{3} << 20;
  {
    progress_log log;
    mgr.find_in_files("zz", {{paths[0], 0}, {paths[1], 100}}, 0, false, log.options()).get();
    check(last_of(log), 2 * mib3 - 100, 2);
  }
  {
    progress_log log;
    mgr.compact_files({paths[2]}, log.options()).get();
    check(last_of(log), mib3 + 4, 1);
  }
  {
    progress_log log;
    mgr
      .bulk_read({{paths[0], std::vector<byte_range>{{10, 20}, {mib3 - 5, 100}}}, {paths[1], {}}},
                 log.options())
      .get();
    check(last_of(log), 25 + mib3, 2);
  }
  {
    progress_log log;
    mgr
      .bulk_write({{paths[0], {chunk{0, bytes(7, 'w')}, chunk{100, bytes(3, 'w')}}}}, log.options())
      .get();
    check(last_of(log), 10, 1);
  }
  {
    progress_log log;
    mgr.bulk_copy({{paths[1], path("copied")}}, false, log.options()).get();
    check(last_of(log), mib3, 1);
  }
}

BOOST_AUTO_TEST_CASE(bulk_calls_without_a_callback_report_nothing_and_still_work) {
  auto paths = make_files(dir, "q", 3, 1000);
  auto op = mgr.bulk_checksum(paths, "md5");
  BOOST_TEST(op.valid());
  auto sums = op.get();
  BOOST_TEST(!op.valid());
  BOOST_TEST(sums.size() == 3u);
  // Cancelling after completion changes nothing.
  auto done = mgr.bulk_checksum(paths, "md5");
  done.wait();
  done.cancel();
  BOOST_TEST(done.get().size() == 3u);
}

BOOST_AUTO_TEST_CASE(cancel_stops_a_bulk_copy_and_leaves_no_partial_destination) {
  auto srcs = make_files(dir, "src", 16, std::size_t{32} << 20);
  progress_log log;
  auto op = mgr.bulk_copy(copy_pairs(dir, srcs), false, log.options());
  BOOST_REQUIRE(log.first.get_future().wait_for(std::chrono::seconds(30)) ==
                std::future_status::ready);
  op.cancel();
  op.cancel();
  auto e = error_of(std::move(op));
  BOOST_TEST(e.code().value() == ECANCELED);
  BOOST_TEST(e.op() == "bulk_copy");
  check_cancelled_copy(dir, srcs);
  // The manager and its workers carry on.
  BOOST_TEST(*mgr.bulk_copy({{srcs[0], path("again")}}).get().at(0) == std::uint64_t{32} << 20);
}

BOOST_AUTO_TEST_CASE(dropping_a_pending_operation_cancels_it) {
  auto srcs = make_files(dir, "src", 16, std::size_t{32} << 20);
  progress_log log;
  {
    auto op = mgr.bulk_copy(copy_pairs(dir, srcs), false, log.options());
    BOOST_REQUIRE(log.first.get_future().wait_for(std::chrono::seconds(30)) ==
                  std::future_status::ready);
  }
  check_cancelled_copy(dir, srcs);
}

BOOST_AUTO_TEST_CASE(no_progress_report_runs_after_a_cancelled_calls_result) {
  auto srcs = make_files(dir, "src", 16, std::size_t{32} << 20);
  std::promise<void> entered;
  std::promise<void> left;
  std::atomic<bool> first{true};
  std::atomic<bool> settled{false};
  std::atomic<int> after_result{0};
  bulk_options opts;
  opts.progress_interval = std::chrono::milliseconds(1);
  opts.on_progress = [&](const progress&) {
    if (settled)
      ++after_result;
    if (first.exchange(false)) {
      entered.set_value();
      // Still running when the cancel below settles the call.
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      if (settled)
        ++after_result;
      left.set_value();
    }
  };
  auto op = mgr.bulk_copy(copy_pairs(dir, srcs), false, opts);
  BOOST_REQUIRE(entered.get_future().wait_for(std::chrono::seconds(30)) ==
                std::future_status::ready);
  op.cancel();
  BOOST_TEST(error_of(std::move(op)).code().value() == ECANCELED);
  settled = true;
  BOOST_REQUIRE(left.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  std::this_thread::sleep_for(std::chrono::milliseconds(50)); // for any later report
  BOOST_TEST(after_result.load() == 0);
  check_cancelled_copy(dir, srcs);
}

BOOST_AUTO_TEST_CASE(cancel_under_a_lock_the_progress_callback_takes_does_not_wait_for_it) {
  auto srcs = make_files(dir, "src", 16, std::size_t{32} << 20);
  std::mutex shared;
  std::promise<void> entered;
  std::atomic<bool> first{true};
  bulk_options opts;
  opts.progress_interval = std::chrono::milliseconds(1);
  opts.on_progress = [&](const progress&) {
    if (first.exchange(false)) {
      entered.set_value();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::scoped_lock guard{shared};
  };
  auto op = mgr.bulk_copy(copy_pairs(dir, srcs), false, opts);
  BOOST_REQUIRE(entered.get_future().wait_for(std::chrono::seconds(30)) ==
                std::future_status::ready);
  {
    // Were cancel to wait for the running callback, which waits for this lock, neither would end.
    std::scoped_lock guard{shared};
    op.cancel();
  }
  BOOST_TEST(error_of(std::move(op)).code().value() == ECANCELED);
  check_cancelled_copy(dir, srcs);
}

BOOST_AUTO_TEST_CASE(a_progress_callback_may_cancel_its_own_call) {
  auto srcs = make_files(dir, "src", 16, std::size_t{32} << 20);
  using copy_operation = decltype(mgr.bulk_copy(copy_pairs(dir, {}), false));
  std::promise<copy_operation*> handle;
  auto op_of = handle.get_future().share();
  bulk_options opts;
  opts.progress_interval = std::chrono::milliseconds(1);
  opts.on_progress = [op_of](const progress&) { op_of.get()->cancel(); };
  auto op = mgr.bulk_copy(copy_pairs(dir, srcs), false, opts);
  handle.set_value(&op);
  // Waits while the callback cancels (cancel may run while another thread waits).
  op.wait();
  BOOST_TEST(error_of(std::move(op)).code().value() == ECANCELED);
  check_cancelled_copy(dir, srcs);
}

BOOST_AUTO_TEST_CASE(a_detached_operation_runs_to_the_end) {
  auto srcs = make_files(dir, "src", 4, std::size_t{1} << 20);
  std::future<std::vector<result<std::uint64_t>>> plain;
  {
    auto op = mgr.bulk_copy(copy_pairs(dir, srcs));
    plain = op.detach();
  }
  for (auto& r : plain.get())
    BOOST_TEST(r.ok());
  for (std::size_t i = 0; i < srcs.size(); ++i)
    BOOST_TEST((read_file(dir / ("dst" + std::to_string(i))) == read_file(srcs[i])));
}

BOOST_AUTO_TEST_SUITE_END()
