#define BOOST_TEST_MODULE sharded_rw_lock_test
#include <boost/test/unit_test.hpp>

#include "io/src/sharded_rw_lock.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

using actorio::detail::sharded_rw_lock;

BOOST_AUTO_TEST_SUITE(sharded_rw_lock_suite)

BOOST_AUTO_TEST_CASE(a_writer_waits_for_the_reader_inside_and_keeps_new_readers_out) {
  sharded_rw_lock lock;
  lock.lock_shared();
  std::atomic<bool> writing{false};
  std::promise<void> release;
  std::thread writer{[&] {
    std::unique_lock<sharded_rw_lock> guard{lock};
    writing = true;
    release.get_future().wait();
  }};
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  BOOST_TEST(!writing.load());
  // The writer has announced itself: a reader from another thread does not get in.
  bool entered = true;
  std::thread{[&] {
    entered = lock.try_lock_shared();
    if (entered)
      lock.unlock_shared();
  }}.join();
  BOOST_TEST(!entered);
  lock.unlock_shared();
  while (!writing.load())
    std::this_thread::yield();
  BOOST_TEST(!lock.try_lock());
  release.set_value();
  writer.join();
  BOOST_TEST(lock.try_lock_shared());
  lock.unlock_shared();
  BOOST_TEST(lock.try_lock());
  lock.unlock();
}

BOOST_AUTO_TEST_CASE(try_lock_gives_up_on_a_reader_that_stays_inside_and_leaves_no_trace) {
  sharded_rw_lock lock;
  lock.lock_shared();
  bool got = true;
  std::thread{[&] {
    got = lock.try_lock();
    if (got)
      lock.unlock();
  }}.join();
  BOOST_TEST(!got);
  std::thread{[&] {
    got = lock.try_lock_shared();
    if (got)
      lock.unlock_shared();
  }}.join();
  BOOST_TEST(got);
  lock.unlock_shared();
  BOOST_TEST(lock.try_lock());
  lock.unlock();
}

BOOST_AUTO_TEST_CASE(readers_never_see_a_change_half_made) {
  // The writer keeps both numbers equal; a reader that saw them differ overlapped a write.
  sharded_rw_lock lock;
  long first = 0;
  long second = 0;
  std::atomic<bool> stop{false};
  std::atomic<long> torn{0}, reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t)
    readers.emplace_back([&, t] {
      while (!stop.load()) {
        if (t % 2 == 0) {
          std::shared_lock<sharded_rw_lock> guard{lock};
          torn += first != second;
        } else {
          std::shared_lock<sharded_rw_lock> guard{lock, std::try_to_lock};
          if (!guard)
            continue;
          torn += first != second;
        }
        ++reads;
      }
    });
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w)
    writers.emplace_back([&, w] {
      for (int i = 0; i < 20000; ++i) {
        std::unique_lock<sharded_rw_lock> guard{lock, std::defer_lock};
        if (w == 0)
          guard.lock();
        else if (!guard.try_lock())
          continue;
        ++first;
        ++second;
      }
    });
  for (auto& w : writers)
    w.join();
  stop = true;
  for (auto& r : readers)
    r.join();
  BOOST_TEST(torn.load() == 0);
  BOOST_TEST(reads.load() > 0);
  BOOST_TEST(first == second);
  BOOST_TEST(first >= 20000);
}

BOOST_AUTO_TEST_SUITE_END()
