#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <caf/all.hpp>

#include "actorio/operation.hpp"
#include "actorio/result.hpp"
#include "actors/reply_commit.hpp"

namespace actorio::detail {

/// One facade call waiting for its reply.
struct bridge_call {
  caf::actor_addr dest;
  /// Settles the call from the receiver's reply: its values or its error.
  caf::behavior on_reply;
  /// Settles the call with a failure that did not come from the receiver.
  std::function<void(failure)> fail;
  /// Labels of those failures.
  std::string op;
  std::string path;
  /// ETIMEDOUT after this long; none waits for the reply, a cancel or the receiver's end.
  std::optional<caf::timespan> timeout;
  /// Receives the `(progress_atom, request, progress)` reports of this call; may be null. Shared,
  /// not copied for each report: the caller's callback keeps its own state from one to the next.
  std::shared_ptr<progress_callback> on_progress;
  /// Set by `commit`: the receiver took data for the reply, so a cancel leaves the call to it.
  bool committed = false;
  /// Set by `expect` from `timeout`.
  std::optional<caf::timestamp> deadline;
  /// Set by `expect`: the id it was registered under.
  std::uint64_t request = 0;
};

/// How often the bridge looks for calls past their deadline: timeouts fire up to this late.
inline constexpr auto bridge_tick = std::chrono::milliseconds(50);

/// The runtime's one bridge between facade callers and actors: the sender of every facade request
/// and the receiver of its reply.
///
/// A caller registers its call with `expect` and then puts the request straight into the
/// receiver's mailbox with the bridge as sender (lib/src/request.hpp `call`), so calls from one
/// thread reach each receiver in the order they were made. The bridge has no mailbox and no
/// thread: a reply is handled in `enqueue`, on the thread that sends it, and settles the call's
/// future at once. That keeps a facade call to the one scheduler wake-up a plain CAF request
/// costs.
///
/// It enforces timeouts with one periodic tick from CAF's clock instead of a clock entry per
/// call, passes progress reports to the call's callback, settles a cancelled call at once and
/// tells its receiver `(cancel_atom, request)`, and fails the calls waiting on a receiver that
/// goes down, after the replies that receiver sent first.
///
/// Thread-safety: every member function may be called from any thread. Progress callbacks of one
/// bridge never run at the same time, and never after their call is settled: a call settled while
/// its callback runs is settled by the reporting thread once the callback returns, so that
/// settling never waits for a callback (which may take a lock the settling thread holds).
class facade_bridge final : public caf::monitorable_actor, public reply_commit {
public:
  explicit facade_bridge(caf::actor_config& cfg);

  /// A new bridge of `sys`. It is not a spawned actor: the system does not wait for it.
  static caf::strong_actor_ptr make(caf::actor_system& sys);

  /// The bridge behind `ptr`, made by `make`.
  static facade_bridge& of(const caf::strong_actor_ptr& ptr);

  /// Registers `call` under `request`, the id of the request the caller sends next -> false when
  /// the bridge is closed: the call then failed with EBADF and its request must not be sent.
  bool expect(std::uint64_t request, bridge_call call);

  /// Fails the call `request`, if still waiting and not committed, with ECANCELED and tells its
  /// receiver `(cancel_atom, request)`.
  void cancel(std::uint64_t request);

  /// Called by a receiver before it answers `request` with data a cancel must not lose (a couple's
  /// read takes bytes from a pipe) -> true when the call still waits: from now on a cancel leaves
  /// it to the reply. False when it was cancelled or settled: the receiver keeps the data.
  bool commit(std::uint64_t request) override;

  /// Fails the waiting calls with ECANCELED and every later one with EBADF. Idempotent.
  void close();

  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit* host) override;

  const char* name() const override;

private:
  /// Removes the call `request` -> it, if it was still waiting. Requires `lock_`.
  std::optional<bridge_call> claim(std::uint64_t request);

  /// Fails `c`, claimed already, now or after its running progress callback.
  void fail_claimed(bridge_call& c, failure why);

  void on_down(const caf::down_msg& dm);
  void on_tick();
  void schedule_tick();

  std::mutex lock_;
  bool closed_ = false;
  std::unordered_map<std::uint64_t, bridge_call> calls_;
  /// How many of `calls_` have a deadline. The tick and a receiver's end scan `calls_`, so that
  /// a call costs one table entry and nothing per deadline or receiver.
  std::size_t timed_ = 0;
  /// Receivers monitored: each from its first call until it goes down.
  std::unordered_set<caf::actor_addr> watched_;
  bool ticking_ = false;
  /// The call whose progress callback runs now, and what settles it once the callback returns.
  std::optional<std::uint64_t> reporting_;
  std::function<void()> after_report_;
  /// Held while a progress callback runs: one at a time.
  std::mutex progress_lock_;
};

} // namespace actorio::detail
