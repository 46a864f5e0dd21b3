#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <caf/all.hpp>

#include "actorio/operation.hpp"
#include "actorio/result.hpp"

namespace actorio::detail {

/// Runs `on_drop` once when the last copy of a job is destroyed without the bridge having started
/// it: the bridge was gone and its mailbox dropped the message.
class unstarted_guard {
public:
  explicit unstarted_guard(std::function<void()> on_drop)
    : on_drop_(std::move(on_drop)) {}
  unstarted_guard(const unstarted_guard&) = delete;
  unstarted_guard& operator=(const unstarted_guard&) = delete;
  ~unstarted_guard() {
    if (!started_)
      on_drop_();
  }
  void mark_started() noexcept {
    started_ = true;
  }

private:
  std::function<void()> on_drop_;
  bool started_ = false;
};

/// One facade call for the bridge. Local only: it never crosses the network.
struct bridge_job {
  /// Names the call for `(cancel_atom, ticket)`; unique per runtime.
  std::uint64_t ticket = 0;
  caf::actor_addr dest;
  /// Sends the request from the bridge and returns its id. The reply handler must first call
  /// `claim`, which is false when the call was already settled (cancelled, timed out, receiver
  /// gone); only then may it settle the call.
  std::function<caf::message_id(caf::event_based_actor* self, std::function<bool()> claim)> start;
  /// Settles the call with a failure.
  std::function<void(failure)> fail;
  /// Labels of failures that do not come from the receiver.
  std::string op;
  std::string path;
  /// ETIMEDOUT after this long; none waits for the reply, a cancel or the receiver's end.
  std::optional<caf::timespan> timeout;
  /// Receives the `(progress_atom, request id, progress)` reports of this call.
  progress_callback on_progress;
  std::shared_ptr<unstarted_guard> guard;
};

/// Tells the bridge, after every message `dest` sent before going down, that it is gone.
struct receiver_gone {
  caf::actor_addr dest;
  caf::error reason;
};

struct facade_bridge_state {
  struct call {
    caf::actor_addr dest;
    std::uint64_t request = 0;
    caf::timestamp deadline;
    bool timed = false;
    std::string op;
    std::string path;
    std::function<void(failure)> fail;
    progress_callback on_progress;
  };
  std::unordered_map<std::uint64_t, call> calls;
  /// Ticket of each call that wants progress, by the id of its request.
  std::unordered_map<std::uint64_t, std::uint64_t> progress_of;
  /// Tickets of the calls waiting on each receiver; a receiver is monitored from its first call
  /// until it goes down.
  std::unordered_map<caf::actor_addr, std::unordered_set<std::uint64_t>> waiting_on;
  std::size_t timed_calls = 0;
  bool ticking = false;
  static inline const char* name = "actorio.facade_bridge";

  /// Removes the call `ticket` -> whether it was still waiting.
  bool claim(std::uint64_t ticket);

  /// Calls still waiting when the bridge goes (its runtime shut down) fail with ECANCELED.
  ~facade_bridge_state();
};

/// How often the bridge looks for calls past their deadline: timeouts fire up to this late.
inline constexpr auto bridge_tick = std::chrono::milliseconds(50);

/// The runtime's one bridge between facade callers and actors. Every facade call is a job sent
/// here from the caller's thread; the bridge sends the job's request, so calls from one thread
/// reach each actor in the order they were made (one sender, one receiver). It enforces timeouts
/// with one periodic tick instead of a CAF clock entry per call, forwards progress reports,
/// settles a cancelled call at once and tells its receiver `(cancel_atom, request id)`, and fails
/// the calls waiting on a receiver that goes down.
///
/// Messages: `bridge_job`; `(cancel_atom, ticket)`.
caf::behavior facade_bridge_impl(caf::stateful_actor<facade_bridge_state>* self);

} // namespace actorio::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorio::detail::bridge_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorio::detail::receiver_gone)
