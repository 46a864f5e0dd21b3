#define BOOST_TEST_MODULE io_worker_actor_test
#include <boost/test/unit_test.hpp>

#include "actors/io_worker_actor.hpp"

#include <cerrno>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include <caf/all.hpp>

#include "actorio/system_config.hpp"

// The io worker pool alone: jobs run on its workers, and its stop leaves no worker thread behind
// for the actor system's end to wait on.

using namespace actorio;
using namespace actorio::detail;

namespace {

constexpr auto timeout = std::chrono::seconds(20);

/// Runs `work` on `pool` from an event-based actor and returns what `done` received.
template <class Work>
auto run_on(caf::actor_system& sys, io_worker_pool& pool, Work work) {
  using value_type = decltype(work());
  auto answer = std::make_shared<std::promise<value_type>>();
  auto outcome = answer->get_future();
  sys.spawn([&pool, work, answer](caf::event_based_actor* self) {
    pool.run(
      self, work, [answer](value_type r) { answer->set_value(std::move(r)); }, false);
  });
  BOOST_REQUIRE(outcome.wait_for(timeout) == std::future_status::ready);
  return outcome.get();
}

/// Waits until the system counts `n` detached threads; false after `timeout`.
bool detached_threads_drop_to(caf::actor_system& sys, std::size_t n) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (sys.detached_actors() > n) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

} // namespace

BOOST_AUTO_TEST_CASE(jobs_run_on_a_worker_thread_and_answer_the_caller) {
  system_config cfg;
  caf::actor_system sys{cfg};
  io_worker_pool pool{sys, 2};
  auto caller = std::this_thread::get_id();
  auto r = run_on(
    sys, pool, [caller]() -> result<int> { return std::this_thread::get_id() == caller ? 0 : 42; });
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r == 42);
  pool.stop();
}

BOOST_AUTO_TEST_CASE(stop_ends_every_worker_thread_while_the_pool_lives) {
  // The actor system's end stops the actor clock and then waits for detached threads; a worker
  // thread still on its way out then may block on the stopped clock forever. So once stop
  // returns, no worker thread may be left, even with more workers than the clock's queue holds.
  system_config cfg;
  caf::actor_system sys{cfg};
  auto before = sys.detached_actors();
  io_worker_pool pool{sys, 256};
  BOOST_TEST(sys.detached_actors() == before + 256);
  pool.stop();
  BOOST_TEST(detached_threads_drop_to(sys, before));
}

BOOST_AUTO_TEST_CASE(jobs_after_stop_fail_with_eio_and_a_second_stop_returns_at_once) {
  system_config cfg;
  caf::actor_system sys{cfg};
  io_worker_pool pool{sys, 2};
  pool.stop();
  bool ran = false;
  auto r = run_on(sys, pool, [&ran]() -> result<int> {
    ran = true;
    return 1;
  });
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == EIO);
  BOOST_TEST(!ran);
  auto start = std::chrono::steady_clock::now();
  pool.stop();
  auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST((took < io_worker_pool::stop_wait / 2));
}

BOOST_AUTO_TEST_CASE(a_pool_dropped_without_stop_still_lets_its_workers_end) {
  system_config cfg;
  caf::actor_system sys{cfg};
  auto before = sys.detached_actors();
  {
    io_worker_pool pool{sys, 4};
    auto r = run_on(sys, pool, []() -> result<int> { return 7; });
    BOOST_TEST(r.ok());
  }
  BOOST_TEST(detached_threads_drop_to(sys, before));
}
