#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <utility>

#include "actorio/messages/types.hpp"
#include "actorio/pending.hpp"

namespace actorio {

/// Receives the progress of a bulk operation (see `bulk_options`).
using progress_callback = std::function<void(const progress&)>;

/// Options every bulk call of `mmap_manager` takes last.
struct bulk_options {
  /// Called with the work done so far at most once per `progress_interval` while the operation
  /// runs, and once more just before it completes. It runs on the actorio thread that reports the
  /// progress, never two calls at once (per runtime) and never after the call's result, whether
  /// the work delivered it or the call was cancelled, timed out or lost its receiver (a call
  /// settled while its callback runs gets its result once the callback returns, so `cancel()`
  /// never waits for the callback, and the callback may cancel its own call). It must
  /// not block, nor wait for another facade call (that call's reply may need the same thread, or
  /// wait for this callback to return). `bytes_total` grows as items start: each file is sized by
  /// the work that opens it (a write counts its chunks when the call starts, a read part its bytes
  /// as it ends), so progress opens no file of its own. `bytes_done` ends equal to it when every
  /// item succeeds on files that do not change meanwhile; resize and prefetch count items only.
  progress_callback on_progress;
  std::chrono::milliseconds progress_interval{100};
};

/// The result of a cancellable request: a `pending<T>` that can also stop the work.
///
/// `cancel()`, or dropping the operation before its result arrived, tells the actors doing the
/// work to stop: items not yet done fail with ECANCELED and `get()` throws an `io_error` with
/// ECANCELED. Work already finished stays done (a copied file stays copied); an item cut short
/// leaves nothing half-done behind (a copy removes its temporary file). Cancelling after the
/// result arrived does nothing.
///
/// `then(f)` hands the result to `f` instead (see `pending::then`); the work then runs to its end
/// even if the operation is dropped, and `cancel()` still stops it (`f` gets ECANCELED).
///
/// Thread-safety: like `std::future`, one thread uses an operation at a time; `cancel()` may be
/// called while another thread waits in `get()` or `wait()`.
template <class T>
class operation {
public:
  /// What a `then` callback receives: `result<T>`, or `status` for `void`.
  using result_type = typename pending<T>::result_type;

  operation() = default;

  /// Wraps `future`; `cancel` stops the work behind it and is called at most once.
  operation(pending<T> future, std::function<void()> cancel)
    : future_(std::move(future))
    , cancel_(std::move(cancel)) {}

  operation(operation&& other) noexcept
    : future_(std::move(other.future_))
    , cancel_(std::exchange(other.cancel_, {})) {}

  operation& operator=(operation&& other) noexcept {
    if (this != &other) {
      cancel_if_pending();
      future_ = std::move(other.future_);
      cancel_ = std::exchange(other.cancel_, {});
    }
    return *this;
  }

  operation(const operation&) = delete;
  operation& operator=(const operation&) = delete;

  /// A still-pending operation is cancelled when dropped.
  ~operation() {
    cancel_if_pending();
  }

  /// Waits for and returns the result; throws what the request failed with (`io_error`).
  T get() {
    return future_.get();
  }

  void wait() const {
    future_.wait();
  }

  template <class Rep, class Period>
  std::future_status wait_for(const std::chrono::duration<Rep, Period>& timeout) const {
    return future_.wait_for(timeout);
  }

  bool valid() const noexcept {
    return future_.valid();
  }

  /// Calls `f(result)` exactly once with the result, at once when it is there, else on the
  /// thread that completes the work; see `pending::then` for what `f` may do there.
  template <class F>
  void then(F&& f) {
    future_.then(std::forward<F>(f));
  }

  /// Stops the remaining work; idempotent.
  void cancel() {
    if (auto c = std::exchange(cancel_, {}))
      c();
  }

  /// The future alone; from now on the work runs to its end even if nobody waits for it.
  pending<T> detach() {
    cancel_ = {};
    return std::move(future_);
  }

private:
  void cancel_if_pending() {
    if (cancel_ && future_.valid() &&
        future_.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
      cancel();
  }

  pending<T> future_;
  std::function<void()> cancel_;
};

} // namespace actorio
