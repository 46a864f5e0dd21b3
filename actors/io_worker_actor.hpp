#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
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

/// Counts the io workers that have ended for good (see `io_worker_pool::stop`).
struct io_worker_ends {
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t count = 0;
};

/// One io worker: a detached actor (its own thread) that runs each job it is sent and replies
/// when done. Blocking syscalls run here, never on CAF's cooperative scheduler.
class io_worker : public caf::event_based_actor {
public:
  io_worker(caf::actor_config& cfg, std::shared_ptr<io_worker_ends> ends);
  /// Counts this worker in `ends`: CAF destroys a detached actor only after its thread is done
  /// with it, so past its last post to the actor clock.
  ~io_worker() override;

  caf::behavior make_behavior() override;
  void on_exit() override;

private:
  std::shared_ptr<io_worker_ends> ends_;
  // The worker holds itself until it exits: the pool holds it only by address, so that CAF
  // destroys it (and counts it in `ends_`) as soon as its thread is done with it.
  caf::actor keep_alive_;
};

/// The runtime's set of io workers. Dispatch picks the worker with the fewest jobs in flight, so
/// one long job (a checksum of a big file) does not hold up short ones queued elsewhere.
class io_worker_pool {
public:
  /// Starts `workers` detached workers (at least one). Throws `io_error` (op "start", the errno
  /// of thread creation, e.g. EAGAIN) when one cannot start; those already started are stopped.
  io_worker_pool(caf::actor_system& sys, std::size_t workers);

  /// Sends the workers still running their exit without waiting for their ends (`stop` waits).
  ~io_worker_pool();
  io_worker_pool(const io_worker_pool&) = delete;
  io_worker_pool& operator=(const io_worker_pool&) = delete;

  /// Sends `exit_reason::user_shutdown` to every worker and waits (up to `stop_wait`) until each
  /// has ended and its thread no longer touches the actor system; later jobs fail with EIO. A job
  /// still running delays its worker's end. Call it from a thread that is not one of CAF's.
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
    // An ended worker gives an invalid handle, to which CAF answers with an error.
    auto worker = caf::actor_cast<caf::actor>(workers_[index]);
    auto handle = self->request(worker, caf::infinite, std::move(job));
    if (serialize)
      handle.await(std::move(on_reply), std::move(on_error));
    else
      handle.then(std::move(on_reply), std::move(on_error));
  }

private:
  std::size_t pick();
  void send_exits();

  // Weak: the pool must not keep an ended worker (and so its thread) alive.
  std::vector<caf::actor_addr> workers_;
  std::shared_ptr<io_worker_ends> ends_ = std::make_shared<io_worker_ends>();
  std::vector<std::shared_ptr<std::atomic<int>>> loads_;
};

} // namespace actorio::detail
