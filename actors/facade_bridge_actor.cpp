#include "actors/facade_bridge_actor.hpp"

#include <cerrno>
#include <vector>

#include "actorio/messages/error.hpp"
#include "actorio/messages/type_ids.hpp"

namespace actorio::detail {

bool facade_bridge_state::claim(std::uint64_t ticket) {
  auto i = calls.find(ticket);
  if (i == calls.end())
    return false;
  auto& c = i->second;
  if (c.on_progress)
    progress_of.erase(c.request);
  if (c.timed)
    --timed_calls;
  if (auto w = waiting_on.find(c.dest); w != waiting_on.end())
    w->second.erase(ticket);
  calls.erase(i);
  return true;
}

facade_bridge_state::~facade_bridge_state() {
  for (auto& [ticket, c] : calls)
    c.fail(failure{ECANCELED, c.op, c.path, "the runtime shut down"});
}

namespace {

using self_pointer = caf::stateful_actor<facade_bridge_state>*;

/// Fails the call `ticket`, if it is still waiting, with `why`.
void fail_call(self_pointer self, std::uint64_t ticket, failure why) {
  auto i = self->state.calls.find(ticket);
  if (i == self->state.calls.end())
    return;
  auto fail = std::move(i->second.fail);
  self->state.claim(ticket);
  fail(std::move(why));
}

void start_ticking(self_pointer self) {
  if (!self->state.ticking) {
    self->state.ticking = true;
    self->delayed_send(self, bridge_tick, caf::tick_atom_v);
  }
}

} // namespace

caf::behavior facade_bridge_impl(self_pointer self) {
  self->set_down_handler([self](caf::down_msg& dm) {
    // Replies the receiver sent before it went are already queued behind this urgent message;
    // they are handled first, and only the calls still waiting after them fail.
    self->send(self, receiver_gone{dm.source, dm.reason});
  });
  return {
    [self](bridge_job& job) {
      job.guard->mark_started();
      auto& st = self->state;
      auto ticket = job.ticket;
      facade_bridge_state::call c;
      c.dest = job.dest;
      c.timed = job.timeout.has_value();
      if (c.timed) {
        c.deadline = caf::make_timestamp() + *job.timeout;
        ++st.timed_calls;
        start_ticking(self);
      }
      c.op = std::move(job.op);
      c.path = std::move(job.path);
      c.fail = std::move(job.fail);
      c.on_progress = std::move(job.on_progress);
      // Monitored once, until it goes down.
      auto [watched, first] = st.waiting_on.try_emplace(job.dest);
      if (first)
        self->monitor(job.dest);
      watched->second.insert(ticket);
      auto& stored = st.calls.emplace(ticket, std::move(c)).first->second;
      stored.request =
        job.start(self, [self, ticket] { return self->state.claim(ticket); }).integer_value() &
        caf::message_id::request_id_mask;
      if (stored.on_progress)
        st.progress_of.emplace(stored.request, ticket);
    },
    [self](cancel_atom, std::uint64_t ticket) {
      auto i = self->state.calls.find(ticket);
      if (i == self->state.calls.end())
        return;
      // Sent by the bridge, as the request was: the receiver gets it after the request.
      if (auto dest = caf::actor_cast<caf::actor>(i->second.dest))
        self->send(dest, cancel_atom_v, i->second.request);
      auto why = failure{ECANCELED, i->second.op, i->second.path, "cancelled"};
      fail_call(self, ticket, std::move(why));
    },
    [self](progress_atom, std::uint64_t request, const progress& p) {
      auto& st = self->state;
      if (auto i = st.progress_of.find(request); i != st.progress_of.end())
        st.calls.at(i->second).on_progress(p);
    },
    [self](receiver_gone& gone) {
      auto& st = self->state;
      auto w = st.waiting_on.find(gone.dest);
      if (w == st.waiting_on.end())
        return;
      auto tickets = std::move(w->second);
      st.waiting_on.erase(w);
      auto reason = gone.reason ? gone.reason : caf::make_error(caf::sec::request_receiver_down);
      for (auto ticket : tickets) {
        auto& c = st.calls.at(ticket);
        fail_call(self, ticket, to_failure(reason, c.op, c.path));
      }
    },
    [self](caf::tick_atom) {
      auto& st = self->state;
      auto now = caf::make_timestamp();
      // Collected first: failing a call erases it from the map being walked.
      std::vector<std::uint64_t> expired;
      for (auto& [ticket, c] : st.calls)
        if (c.timed && c.deadline <= now)
          expired.push_back(ticket);
      for (auto ticket : expired) {
        auto& c = st.calls.at(ticket);
        fail_call(self, ticket, to_failure(caf::sec::request_timeout, c.op, c.path));
      }
      st.ticking = false;
      if (st.timed_calls > 0)
        start_ticking(self);
    },
  };
}

} // namespace actorio::detail
