#include "lib/src/facade_bridge_actor.hpp"

#include <cerrno>
#include <vector>

#include <caf/default_attachable.hpp>

#include "actorio/messages/error.hpp"
#include "actorio/messages/interfaces.hpp"

namespace actorio::detail {

namespace {

/// Settles `c` with the receiver's reply `content`: its values or its error.
void settle_by_reply(bridge_call& c, caf::type_erased_tuple& content) {
  if (!c.on_reply(content))
    c.fail(to_failure(caf::sec::unexpected_response, c.op, c.path));
}

} // namespace

facade_bridge::facade_bridge(caf::actor_config& cfg)
  : caf::monitorable_actor(cfg) {}

caf::strong_actor_ptr facade_bridge::make(caf::actor_system& sys) {
  caf::actor_config cfg;
  return caf::make_actor<facade_bridge, caf::strong_actor_ptr>(sys.next_actor_id(), sys.node(),
                                                               &sys, cfg);
}

facade_bridge& facade_bridge::of(const caf::strong_actor_ptr& ptr) {
  return static_cast<facade_bridge&>(*ptr->get());
}

const char* facade_bridge::name() const {
  return "actorio.facade_bridge";
}

std::optional<bridge_call> facade_bridge::claim(std::uint64_t request) {
  auto i = calls_.find(request);
  if (i == calls_.end())
    return std::nullopt;
  std::optional<bridge_call> c{std::move(i->second)};
  calls_.erase(i);
  if (c->deadline)
    --timed_;
  return c;
}

bool facade_bridge::expect(std::uint64_t request, bridge_call call) {
  auto dest = caf::actor_cast<caf::strong_actor_ptr>(call.dest);
  bool accepted = false;
  bool first = false;
  bool tick = false;
  {
    std::scoped_lock guard{lock_};
    if (!closed_) {
      first = watched_.insert(call.dest).second;
      if (call.timeout) {
        call.deadline = caf::make_timestamp() + *call.timeout;
        ++timed_;
        tick = !std::exchange(ticking_, true);
      }
      call.request = request;
      calls_.emplace(request, std::move(call));
      accepted = true;
    }
  }
  if (!accepted) {
    call.fail(failure{EBADF, call.op, call.path, "the runtime shut down"});
    return false;
  }
  if (tick)
    schedule_tick();
  // Outside the lock: a receiver that is already gone sends its down message from inside attach.
  if (first && dest)
    dest->get()->attach(caf::default_attachable::make_monitor(dest->get()->address(), address()));
  return true;
}

void facade_bridge::cancel(std::uint64_t request) {
  std::optional<bridge_call> c;
  {
    std::scoped_lock guard{lock_};
    if (auto i = calls_.find(request); i != calls_.end() && i->second.committed)
      return; // its receiver took the data: the reply is on its way
    c = claim(request);
  }
  if (!c)
    return;
  // The caller sent the request before it could cancel it: the receiver sees the request first.
  if (auto dest = caf::actor_cast<caf::strong_actor_ptr>(c->dest))
    dest->enqueue(ctrl(), caf::make_message_id(), caf::make_message(cancel_atom_v, request),
                  nullptr);
  fail_claimed(*c, failure{ECANCELED, c->op, c->path, "cancelled"});
}

bool facade_bridge::commit(std::uint64_t request) {
  std::scoped_lock guard{lock_};
  auto i = calls_.find(request);
  if (i == calls_.end())
    return false;
  i->second.committed = true;
  return true;
}

void facade_bridge::close() {
  std::unordered_map<std::uint64_t, bridge_call> waiting;
  {
    std::scoped_lock guard{lock_};
    if (std::exchange(closed_, true))
      return;
    waiting.swap(calls_);
    timed_ = 0;
    watched_.clear();
  }
  for (auto& [request, c] : waiting)
    fail_claimed(c, failure{ECANCELED, c.op, c.path, "the runtime shut down"});
  cleanup(caf::exit_reason::user_shutdown, nullptr);
}

void facade_bridge::enqueue(caf::mailbox_element_ptr what, caf::execution_unit*) {
  auto& content = what->content();
  if (what->mid.is_response()) {
    auto request = what->mid.request_id().integer_value();
    std::optional<bridge_call> c;
    {
      std::scoped_lock guard{lock_};
      c = claim(request);
      if (!c) // settled already: cancelled, timed out, or its receiver went down
        return;
      if (reporting_ == request) {
        // Rare: the reply came while the call's progress callback runs.
        std::shared_ptr<caf::mailbox_element> reply{what.release(), caf::detail::disposer{}};
        after_report_ = [call = std::make_shared<bridge_call>(std::move(*c)), reply] {
          settle_by_reply(*call, reply->content());
        };
        return;
      }
    }
    settle_by_reply(*c, content);
    return;
  }
  if (content.match_elements<progress_atom, std::uint64_t, progress>()) {
    std::unique_lock serial{progress_lock_};
    auto request = content.get_as<std::uint64_t>(1);
    std::shared_ptr<progress_callback> on_progress;
    {
      std::scoped_lock guard{lock_};
      auto i = calls_.find(request);
      if (i == calls_.end() || !i->second.on_progress)
        return;
      on_progress = i->second.on_progress;
      reporting_ = request;
    }
    (*on_progress)(content.get_as<progress>(2));
    std::function<void()> settle;
    {
      std::scoped_lock guard{lock_};
      reporting_.reset();
      settle = std::exchange(after_report_, nullptr);
    }
    serial.unlock();
    if (settle)
      settle();
    return;
  }
  if (content.match_elements<caf::down_msg>())
    return on_down(content.get_as<caf::down_msg>(0));
  if (content.match_elements<caf::tick_atom>())
    return on_tick();
  // Nothing else is meant for the bridge; a request still gets an error reply.
  bounce(what);
}

void facade_bridge::on_down(const caf::down_msg& dm) {
  std::vector<bridge_call> gone;
  {
    std::scoped_lock guard{lock_};
    if (watched_.erase(dm.source) == 0)
      return;
    std::vector<std::uint64_t> requests;
    for (const auto& [request, c] : calls_)
      if (c.dest == dm.source)
        requests.push_back(request);
    for (auto request : requests)
      gone.push_back(std::move(*claim(request)));
  }
  // Replies the receiver sent before it went were handled before: its thread sent them first.
  auto reason = dm.reason ? dm.reason : caf::make_error(caf::sec::request_receiver_down);
  for (auto& c : gone)
    fail_claimed(c, to_failure(reason, c.op, c.path));
}

void facade_bridge::on_tick() {
  std::vector<bridge_call> expired;
  bool again = false;
  {
    std::scoped_lock guard{lock_};
    auto now = caf::make_timestamp();
    std::vector<std::uint64_t> due;
    for (const auto& [request, c] : calls_)
      if (c.deadline && *c.deadline <= now)
        due.push_back(request);
    for (auto request : due)
      expired.push_back(std::move(*claim(request)));
    again = ticking_ = timed_ > 0 && !closed_;
  }
  for (auto& c : expired)
    fail_claimed(c, to_failure(caf::sec::request_timeout, c.op, c.path));
  if (again)
    schedule_tick();
}

void facade_bridge::fail_claimed(bridge_call& c, failure why) {
  {
    std::scoped_lock guard{lock_};
    if (reporting_ == c.request) {
      after_report_ = [call = std::make_shared<bridge_call>(std::move(c)), why]() mutable {
        call->fail(std::move(why));
      };
      return;
    }
  }
  c.fail(std::move(why));
}

void facade_bridge::schedule_tick() {
  auto& clock = home_system().clock();
  clock.schedule_message(
    clock.now() + bridge_tick, ctrl(),
    caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, caf::tick_atom_v));
}

} // namespace actorio::detail
