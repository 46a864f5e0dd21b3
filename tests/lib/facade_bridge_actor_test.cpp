#define BOOST_TEST_MODULE facade_bridge_actor_test
#include <boost/test/unit_test.hpp>

#include "lib/src/facade_bridge_actor.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "actorio/io_error.hpp"
#include "actorio/messages/interfaces.hpp"
#include "actorio/system_config.hpp"
#include "lib/src/request.hpp"
#include "lib/src/runtime_core.hpp"

using namespace std::chrono_literals;
using actorio::detail::call;
using actorio::detail::call_mode;

namespace {

/// A bridge in an actor system of its own, with the runtime core `call` needs, and a short
/// timeout.
struct bridge_fixture {
  actorio::system_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<actorio::detail::runtime_core> core = make_core(sys);

  static std::shared_ptr<actorio::detail::runtime_core> make_core(caf::actor_system& sys) {
    auto core = std::make_shared<actorio::detail::runtime_core>();
    core->system = &sys;
    core->config.request_timeout = 200ms;
    core->bridge = actorio::detail::facade_bridge::make(sys);
    return core;
  }

  ~bridge_fixture() {
    actorio::detail::facade_bridge::of(core->bridge).close();
  }

  /// A call of `dest` with `x` that expects an int back.
  template <class... Ts>
  auto ask_int(const caf::actor& dest, call_mode mode, Ts... xs) {
    return call<int>(core, dest, std::move(mode), "test_op", "test/path", actorio::detail::as_is{},
                     xs...);
  }
};

/// The failure a future ends with; fails the test if it succeeds.
template <class T>
actorio::failure failure_of(std::future<T>& f) {
  try {
    f.get();
  } catch (const actorio::io_error& e) {
    return e.why();
  }
  BOOST_FAIL("the call succeeded");
  return {};
}

/// The request id of the current message, as the bridge names it in a cancel.
std::uint64_t request_id(caf::event_based_actor* self) {
  return self->current_message_id().integer_value() & caf::message_id::request_id_mask;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(facade_bridge_suite, bridge_fixture)

BOOST_AUTO_TEST_CASE(calls_from_one_thread_reach_the_receiver_in_call_order) {
  auto seen = std::make_shared<std::vector<int>>();
  auto receiver = sys.spawn([seen](caf::event_based_actor*) -> caf::behavior {
    return {[seen](int x) {
      seen->push_back(x);
      return x;
    }};
  });
  constexpr int calls = 2000;
  std::vector<std::future<int>> futures;
  for (int i = 0; i < calls; ++i)
    futures.push_back(ask_int(receiver, call_mode{}, i).first);
  for (int i = 0; i < calls; ++i)
    BOOST_REQUIRE_EQUAL(futures[i].get(), i);
  std::vector<int> expected(calls);
  for (int i = 0; i < calls; ++i)
    expected[i] = i;
  BOOST_TEST(*seen == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_call_without_a_reply_fails_with_etimedout_after_the_timeout) {
  auto receiver = sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
    // Keeps every promise unanswered.
    auto kept = std::make_shared<std::vector<caf::response_promise>>();
    return {[self, kept](int) { kept->push_back(self->make_response_promise()); }};
  });
  auto [future, request] = ask_int(receiver, call_mode{}, 1);
  BOOST_REQUIRE(future.wait_for(10s) == std::future_status::ready);
  auto why = failure_of(future);
  BOOST_TEST(why.code == ETIMEDOUT);
  BOOST_TEST(why.op == "test_op");
  BOOST_TEST(why.path == "test/path");
  caf::anon_send_exit(receiver, caf::exit_reason::kill);
}

BOOST_AUTO_TEST_CASE(an_untimed_call_outlives_the_timeout) {
  auto receiver = sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
    auto kept = std::make_shared<caf::typed_response_promise<int>>();
    return {
      [self, kept](int x) {
        *kept = self->make_response_promise<int>();
        self->delayed_send(self, 3 * 200ms, caf::ok_atom_v, x);
        return *kept;
      },
      [self, kept](caf::ok_atom, int x) {
        kept->deliver(x);
        self->quit();
      },
    };
  });
  BOOST_TEST(ask_int(receiver, call_mode{false, {}}, 5).first.get() == 5);
}

BOOST_AUTO_TEST_CASE(a_cancelled_call_fails_with_ecanceled_and_its_receiver_hears_of_it) {
  auto asked = std::make_shared<std::promise<std::uint64_t>>();
  auto cancelled = std::make_shared<std::promise<std::uint64_t>>();
  auto receiver = sys.spawn([asked, cancelled](caf::event_based_actor* self) -> caf::behavior {
    auto kept = std::make_shared<std::vector<caf::response_promise>>();
    return {
      [self, kept, asked](int) {
        asked->set_value(request_id(self));
        kept->push_back(self->make_response_promise());
      },
      [cancelled](actorio::cancel_atom, std::uint64_t request) { cancelled->set_value(request); },
    };
  });
  auto [future, request] = ask_int(receiver, call_mode{false, {}}, 1);
  BOOST_TEST(asked->get_future().get() == request);
  actorio::detail::canceller(core->bridge, request)();
  auto why = failure_of(future);
  BOOST_TEST(why.code == ECANCELED);
  BOOST_TEST(why.op == "test_op");
  auto told = cancelled->get_future();
  BOOST_REQUIRE(told.wait_for(10s) == std::future_status::ready);
  BOOST_TEST(told.get() == request);
  caf::anon_send_exit(receiver, caf::exit_reason::kill);
}

BOOST_AUTO_TEST_CASE(cancelling_a_settled_call_changes_nothing) {
  auto receiver =
    sys.spawn([](caf::event_based_actor*) -> caf::behavior { return {[](int x) { return x; }}; });
  auto [future, request] = ask_int(receiver, call_mode{false, {}}, 7);
  BOOST_TEST(future.get() == 7);
  actorio::detail::canceller(core->bridge, request)();
  // The bridge still serves calls after the stale cancel.
  BOOST_TEST(ask_int(receiver, call_mode{}, 8).first.get() == 8);
}

BOOST_AUTO_TEST_CASE(an_untimed_call_fails_with_ebadf_when_its_receiver_goes_down) {
  auto receiver = sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
    return {[self](int) {
      auto rp = self->make_response_promise();
      self->quit();
      return rp;
    }};
  });
  auto [future, request] = ask_int(receiver, call_mode{false, {}}, 1);
  BOOST_REQUIRE(future.wait_for(10s) == std::future_status::ready);
  BOOST_TEST(failure_of(future).code == EBADF);
}

BOOST_AUTO_TEST_CASE(a_reply_sent_just_before_the_receiver_exits_still_settles_the_call) {
  for (int round = 0; round < 50; ++round) {
    auto receiver = sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
      return {[self](int x) {
        self->quit();
        return x;
      }};
    });
    auto [future, request] = ask_int(receiver, call_mode{false, {}}, round);
    BOOST_REQUIRE_EQUAL(future.get(), round);
  }
}

BOOST_AUTO_TEST_CASE(progress_reports_reach_the_callback_of_their_call) {
  auto receiver = sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
    return {[self](int x) {
      auto requester = caf::actor_cast<caf::actor>(self->current_sender());
      actorio::progress p;
      p.items_done = static_cast<std::uint64_t>(x);
      p.items_total = 10;
      self->send(requester, actorio::progress_atom_v, request_id(self), p);
      return x;
    }};
  });
  std::vector<actorio::progress> reports;
  call_mode mode{false, [&](const actorio::progress& p) { reports.push_back(p); }};
  BOOST_TEST(ask_int(receiver, mode, 3).first.get() == 3);
  BOOST_REQUIRE_EQUAL(reports.size(), 1u);
  BOOST_TEST(reports[0].items_done == 3u);
  BOOST_TEST(reports[0].items_total == 10u);
}

BOOST_AUTO_TEST_CASE(a_progress_callback_keeps_its_state_from_one_report_to_the_next) {
  auto receiver = sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
    return {[self](int x) {
      auto requester = caf::actor_cast<caf::actor>(self->current_sender());
      for (int i = 0; i < x; ++i)
        self->send(requester, actorio::progress_atom_v, request_id(self), actorio::progress{});
      return x;
    }};
  });
  // The callback counts in a state of its own: a copy made for each report would start at 0.
  std::vector<int> counts;
  call_mode mode{
    false, [&counts, mine = 0](const actorio::progress&) mutable { counts.push_back(++mine); }};
  BOOST_TEST(ask_int(receiver, mode, 3).first.get() == 3);
  BOOST_TEST(counts == (std::vector<int>{1, 2, 3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(no_progress_report_reaches_its_callback_after_the_call_settled) {
  // The receiver replies at once while another thread keeps sending reports of the same request.
  auto reporters = std::make_shared<std::vector<std::thread>>();
  auto receiver = sys.spawn([reporters](caf::event_based_actor* self) -> caf::behavior {
    return {[self, reporters](int x) {
      auto requester = caf::actor_cast<caf::actor>(self->current_sender());
      reporters->emplace_back([requester, id = request_id(self)] {
        for (int i = 0; i < 200; ++i) {
          caf::anon_send(requester, actorio::progress_atom_v, id, actorio::progress{});
          std::this_thread::sleep_for(100us);
        }
      });
      return x;
    }};
  });
  for (int round = 0; round < 20; ++round) {
    std::atomic<int> reports{0};
    std::atomic<bool> inside{false};
    call_mode mode{false, [&](const actorio::progress&) {
                     inside = true;
                     std::this_thread::sleep_for(50us);
                     ++reports;
                     inside = false;
                   }};
    BOOST_REQUIRE_EQUAL(ask_int(receiver, mode, round).first.get(), round);
    BOOST_REQUIRE(!inside);
    auto settled_with = reports.load();
    std::this_thread::sleep_for(2ms);
    BOOST_REQUIRE_EQUAL(reports.load(), settled_with);
  }
  caf::anon_send_exit(receiver, caf::exit_reason::kill);
  for (auto& t : *reporters)
    t.join();
}

BOOST_AUTO_TEST_CASE(a_call_to_a_receiver_already_gone_fails_with_ebadf) {
  auto receiver =
    sys.spawn([](caf::event_based_actor*) -> caf::behavior { return {[](int x) { return x; }}; });
  caf::scoped_actor self{sys};
  self->monitor(receiver);
  caf::anon_send_exit(receiver, caf::exit_reason::kill);
  self->receive([](caf::down_msg&) {});
  for (auto mode : {call_mode{}, call_mode{false, {}}}) {
    auto [future, request] = ask_int(receiver, mode, 1);
    BOOST_REQUIRE(future.wait_for(10s) == std::future_status::ready);
    BOOST_TEST(failure_of(future).code == EBADF);
  }
}

BOOST_AUTO_TEST_CASE(a_stray_request_to_the_bridge_gets_an_error_and_the_bridge_goes_on) {
  caf::scoped_actor self{sys};
  auto bridge = caf::actor_cast<caf::actor>(core->bridge);
  bool refused = false;
  self->request(bridge, 10s, 42).receive([](int) {}, [&](caf::error&) { refused = true; });
  BOOST_TEST(refused);
  auto echo =
    sys.spawn([](caf::event_based_actor*) -> caf::behavior { return {[](int x) { return x; }}; });
  BOOST_TEST(ask_int(echo, call_mode{}, 5).first.get() == 5);
}

BOOST_AUTO_TEST_CASE(a_conversion_that_needs_the_runtime_does_not_keep_it_alive) {
  auto receiver =
    sys.spawn([](caf::event_based_actor*) -> caf::behavior { return {[](int x) { return x; }}; });
  auto owners = core.use_count();
  auto twice = actorio::detail::with_core(
    core, [](const std::shared_ptr<actorio::detail::runtime_core>& c, int x) {
      // Runs on the replying thread, where Boost.Test's checks must not be used.
      return c ? 2 * x : -1;
    });
  BOOST_TEST(core.use_count() == owners);
  auto [future, request] =
    call<int>(core, receiver, call_mode{}, "test_op", "test/path", std::move(twice), 21);
  BOOST_TEST(future.get() == 42);
  // Once the runtime is gone the conversion fails with EBADF instead of reviving it.
  auto doomed = make_core(sys);
  std::weak_ptr<actorio::detail::runtime_core> weak = doomed;
  auto orphan = actorio::detail::with_core(
    doomed, [](const std::shared_ptr<actorio::detail::runtime_core>&, int x) { return x; });
  doomed.reset();
  BOOST_TEST(weak.expired());
  BOOST_CHECK_EXCEPTION(orphan(1), actorio::io_error,
                        [](const actorio::io_error& e) { return e.why().code == EBADF; });
}

BOOST_AUTO_TEST_CASE(calls_waiting_when_the_bridge_goes_fail_with_ecanceled_and_later_ones_ebadf) {
  auto receiver = sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
    auto kept = std::make_shared<std::vector<caf::response_promise>>();
    return {[self, kept](int) { kept->push_back(self->make_response_promise()); }};
  });
  auto [waiting, request] = ask_int(receiver, call_mode{false, {}}, 1);
  auto seen = std::make_shared<std::vector<int>>();
  auto echo = sys.spawn([seen](caf::event_based_actor*) -> caf::behavior {
    return {[seen](int x) {
      seen->push_back(x);
      return x;
    }};
  });
  BOOST_TEST(ask_int(echo, call_mode{}, 2).first.get() == 2);
  actorio::detail::facade_bridge::of(core->bridge).close();
  BOOST_TEST(failure_of(waiting).code == ECANCELED);
  auto [later, later_request] = ask_int(echo, call_mode{}, 3);
  BOOST_REQUIRE(later.wait_for(10s) == std::future_status::ready);
  BOOST_TEST(failure_of(later).code == EBADF);
  // A call reported as failed never ran: the echo saw 2, then this probe, and not 3.
  caf::scoped_actor self{sys};
  self->request(echo, caf::infinite, 4).receive([](int) {}, [](caf::error&) {});
  BOOST_TEST(*seen == (std::vector<int>{2, 4}), boost::test_tools::per_element());
  caf::anon_send_exit(receiver, caf::exit_reason::kill);
}

BOOST_AUTO_TEST_SUITE_END()
