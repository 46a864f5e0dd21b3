#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "actorio/result.hpp"

namespace actorio::detail {

/// A unit of blocking work for an io worker. Local only: it never crosses the network.
struct io_job {
  std::function<void()> run;
};

} // namespace actorio::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorio::detail::io_job)

namespace actorio::detail {

/// Behaviour of one io worker: a detached actor (its own thread) that runs each job it is sent
/// and replies when done. Blocking syscalls run here, never on CAF's cooperative scheduler.
caf::behavior io_worker_impl(caf::event_based_actor* self);

/// The runtime's set of io workers. Dispatch picks the worker with the fewest jobs in flight, so
/// one long job (a checksum of a big file) does not hold up short ones queued elsewhere.
class io_worker_pool {
public:
  /// Starts `workers` detached workers (at least one). Throws `io_error` (op "start", the errno
  /// of thread creation, e.g. EAGAIN) when one cannot start; those already started are stopped.
  io_worker_pool(caf::actor_system& sys, std::size_t workers);

  /// Sends `exit_reason::user_shutdown` to every worker and waits (up to `stop_wait`) until each
  /// has ended; later jobs fail with EIO. A job still running delays its worker's end. Call it
  /// from a thread that is not one of CAF's.
  void stop();

  /// How long `stop` waits for the workers' ends.
  static constexpr std::chrono::seconds stop_wait{10};

  /// The number of workers.
  std::size_t size() const noexcept {
    return workers_.size();
  }

  /// Runs `work` (returning `result<V>`) on a worker, then calls `done(result<V>)` in `self`'s
  /// context. With `serialize`, `self` handles no other message until then (CAF's `await`), which
  /// keeps one actor's operations in order while its state is touched on the worker thread.
  template <class Self, class Work, class Done>
  void run(Self* self, Work work, Done done, bool serialize) {
    using value_type = decltype(work());
    auto out = std::make_shared<std::optional<value_type>>();
    auto index = pick();
    auto load = loads_[index];
    io_job job{[out, load, work = std::move(work)]() mutable {
      out->emplace(work());
      load->fetch_sub(1, std::memory_order_relaxed);
    }};
    auto on_reply = [out, done]() mutable { done(std::move(**out)); };
    auto on_error = [done](caf::error& err) mutable {
      done(value_type{failure{EIO, "io", "", "io worker failed: " + caf::to_string(err)}});
    };
    auto handle = self->request(workers_[index], caf::infinite, std::move(job));
    if (serialize)
      handle.await(std::move(on_reply), std::move(on_error));
    else
      handle.then(std::move(on_reply), std::move(on_error));
  }

private:
  std::size_t pick();

  caf::actor_system& sys_;
  std::vector<caf::actor> workers_;
  std::vector<std::shared_ptr<std::atomic<int>>> loads_;
};

} // namespace actorio::detail
