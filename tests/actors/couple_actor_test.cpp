#define BOOST_TEST_MODULE couple_actor_test
#include <boost/test/unit_test.hpp>

#include "actorio/actors.hpp"

#include "support/describe.hpp"
#include "support/runtime_fixture.hpp"

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <caf/all.hpp>

using actorio::couple_actor;
using actorio::test::runtime_fixture;

namespace {

/// Every request from the test has a finite timeout: a lost reply fails the test, never hangs it.
constexpr auto timeout = std::chrono::seconds(20);

/// An actor that asks `c` for `n` bytes and keeps waiting for them until it is killed. `queued`
/// is set once the couple holds the read: a flush sent after it was answered, and one sender's
/// messages to one receiver arrive in order.
caf::behavior waiting_reader(caf::event_based_actor* self, couple_actor c, std::int64_t n,
                             std::shared_ptr<std::promise<std::string>> got,
                             std::shared_ptr<std::promise<void>> queued) {
  self->request(c, caf::infinite, actorio::read_atom_v, n)
    .then([got](std::string& s) { got->set_value(std::move(s)); },
          [got](caf::error&) { got->set_value("error"); });
  self->request(c, caf::infinite, caf::flush_atom_v)
    .then([queued] { queued->set_value(); }, [queued](caf::error&) { queued->set_value(); });
  return {[](int) {}};
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(couple_actor_suite, runtime_fixture)

BOOST_AUTO_TEST_CASE(a_read_whose_requester_is_gone_is_dropped_and_takes_no_data) {
  auto [a, b] = rt.double_ended_binary_pipe();
  auto lost = std::make_shared<std::promise<std::string>>();
  auto queued = std::make_shared<std::promise<void>>();
  caf::scoped_actor self{rt.system()};
  caf::error err;
  auto reader = rt.system().spawn(waiting_reader, actor_of(b), std::int64_t{3}, lost, queued);
  // CAF 0.17 tells monitors newest first: monitoring before the couple does makes the couple's
  // down message leave before the test's, hence before the data written below.
  self->monitor(reader);
  queued->get_future().get();
  self->send_exit(reader, caf::exit_reason::kill);
  self->receive([](caf::down_msg&) {});
  a.write("abc").get();
  a.flush().get();
  // Served in order: a later read finds the data only if the dropped read did not take it.
  std::string got;
  self->request(actor_of(b), timeout, actorio::read_atom_v, std::int64_t{3})
    .receive([&](std::string& s) { got = std::move(s); }, [&](caf::error& e) { err = e; });
  BOOST_REQUIRE_MESSAGE(!err, rt.system().render(err));
  BOOST_TEST(got == "abc");
  BOOST_TEST((lost->get_future().wait_for(std::chrono::seconds(0)) == std::future_status::timeout));
}

BOOST_AUTO_TEST_CASE(the_couple_closes_and_ends_when_its_runtime_shuts_down) {
  int fds[2];
  BOOST_REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  // The test keeps the write end, so only the shutdown can end the read.
  auto c = rt.make_couple(fds[0], ::dup(fds[1]));
  caf::scoped_actor self{rt.system()};
  // The read is queued once a later flush from the same sender was answered.
  auto pending = self->request(actor_of(c), caf::infinite, actorio::read_atom_v, std::int64_t{1});
  self->request(actor_of(c), timeout, caf::flush_atom_v).receive([] {}, [](caf::error&) {});
  self->monitor(actor_of(c));
  rt.shutdown();
  caf::error err;
  pending.receive([](std::string&) { BOOST_FAIL("the read succeeded"); },
                  [&](caf::error& e) { err = e; });
  BOOST_TEST(actorio::to_failure(err, "", "").code == ECANCELED);
  self->receive([](caf::down_msg&) {});
  BOOST_TEST(actorio::test::error_of(c.read(1)).code().value() == EBADF);
  ::close(fds[1]);
}

BOOST_AUTO_TEST_CASE(reads_are_served_in_arrival_order) {
  auto [a, b] = rt.double_ended_binary_pipe();
  auto first = b.read(2);
  auto second = b.readline();
  auto third = b.read1();
  a.write("12line\nrest").get();
  a.flush().get();
  BOOST_TEST(first.get() == "12");
  BOOST_TEST(second.get() == "line\n");
  BOOST_TEST(third.get() == "rest");
}

BOOST_AUTO_TEST_SUITE_END()
