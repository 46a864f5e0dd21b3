#pragma once

#include <cerrno>
#include <exception>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <new>
#include <system_error>
#include <type_traits>
#include <utility>

#include "actorio/io_error.hpp"
#include "actorio/result.hpp"

namespace actorio {

template <class T>
class pending;

namespace detail {

/// What a completion callback of a `pending<T>` receives: `result<T>`, or `status` for `void`.
template <class T>
using pending_result_t = std::conditional_t<std::is_void_v<T>, status, result<T>>;

/// The failure an exception stands for: an `io_error`'s own, errno and path of any other
/// `std::system_error`, ENOMEM for `std::bad_alloc`, EIO with the text for anything else.
inline failure failure_of(std::exception_ptr error) {
  try {
    std::rethrow_exception(std::move(error));
  } catch (const io_error& e) {
    return e.why();
  } catch (const std::filesystem::filesystem_error& e) {
    return failure{e.code().value(), "", e.path1().string(), e.what()};
  } catch (const std::system_error& e) {
    return failure{e.code().value(), "", "", e.what()};
  } catch (const std::bad_alloc&) {
    return failure{ENOMEM, "", "", ""};
  } catch (const std::exception& e) {
    return failure{EIO, "", "", e.what()};
  } catch (...) {
    return failure{EIO, "", "", "unknown exception"};
  }
}

/// The producer's side of a `pending<T>`, shared with it: settled once with a value or an
/// exception, which either fulfils the future or, when a callback was attached first, goes to the
/// callback instead. One lock orders settling against attaching, so the result goes to exactly one
/// of them. Made with `std::make_shared`; `get_pending` once.
template <class T>
class completion : public std::enable_shared_from_this<completion<T>> {
public:
  using result_type = pending_result_t<T>;

  /// The future of this completion; call once.
  pending<T> get_pending() {
    return pending<T>{this->shared_from_this(), promise_.get_future()};
  }

  /// Settles with a value (none for `void`); a second settling is ignored.
  template <class... Xs>
  void set_value(Xs&&... xs) {
    std::unique_lock guard{lock_};
    if (std::exchange(settled_, true))
      return;
    if (auto cb = std::move(callback_)) {
      guard.unlock();
      if constexpr (std::is_void_v<T>)
        cb->invoke(ok_status());
      else
        cb->invoke(result_type{T(std::forward<Xs>(xs)...)});
      return;
    }
    promise_.set_value(std::forward<Xs>(xs)...);
  }

  /// Settles with the exception `error`; a second settling is ignored.
  void set_exception(std::exception_ptr error) {
    std::unique_lock guard{lock_};
    if (std::exchange(settled_, true))
      return;
    if (auto cb = std::move(callback_)) {
      guard.unlock();
      cb->invoke(result_type{failure_of(std::move(error))});
      return;
    }
    promise_.set_exception(std::move(error));
  }

private:
  friend class pending<T>;

  struct callback {
    virtual ~callback() = default;
    virtual void invoke(result_type&& r) noexcept = 0;
  };

  template <class F>
  struct callback_of final : callback {
    explicit callback_of(F f)
      : f_(std::move(f)) {}
    // A callback that throws ends the program, as an exception leaving a std::thread does: there
    // is no caller to hand it to.
    void invoke(result_type&& r) noexcept override {
      f_(std::move(r));
    }
    F f_;
  };

  /// Takes `cb` for the settling -> false when already settled (`cb` is left to the caller): the
  /// future holds the result.
  bool attach(std::unique_ptr<callback>& cb) {
    std::scoped_lock guard{lock_};
    if (settled_)
      return false;
    callback_ = std::move(cb);
    return true;
  }

  std::mutex lock_;
  bool settled_ = false;
  std::promise<T> promise_;
  std::unique_ptr<callback> callback_;
};

/// A `pending<T>` that already holds the failure `why`.
template <class T>
pending<T> failed_pending(failure why) {
  auto c = std::make_shared<completion<T>>();
  auto p = c->get_pending();
  c->set_exception(std::make_exception_ptr(io_error(std::move(why))));
  return p;
}

/// A `pending<T>` that already holds the value `xs...` (none for `void`).
template <class T, class... Xs>
pending<T> ready_pending(Xs&&... xs) {
  auto c = std::make_shared<completion<T>>();
  auto p = c->get_pending();
  c->set_value(std::forward<Xs>(xs)...);
  return p;
}

} // namespace detail

/// The result of a facade call: a `std::future<T>` (every use of one works: `get()`, `wait_for()`,
/// `std::future<T> f = call();`) that can also hand its result to a callback instead of a waiting
/// thread, for code that runs its own event loop (Asio, a GUI, an actor).
///
/// Thread-safety: like `std::future`, one thread uses a pending at a time.
template <class T>
class pending : public std::future<T> {
public:
  /// `result<T>`, or `status` for `pending<void>`: the value, or the failure with errno, operation
  /// and path (an `io_error`'s `why()`).
  using result_type = detail::pending_result_t<T>;

  /// No result; `valid()` is false.
  pending() noexcept = default;

  /// Calls `f(result_type)` exactly once with the result, and consumes the future (`valid()`
  /// becomes false). When the result is already there (a failed call, a read served in the calling
  /// thread, a reply that came first), `f` runs at once in this thread, before `then` returns;
  /// otherwise it runs on the thread that completes the call: an actorio (CAF) thread. There `f`
  /// must be quick and must neither block nor wait for another facade call (its reply may need
  /// the same thread); it may make new calls and attach callbacks to them. `f` must not throw
  /// (that ends the program), and the `runtime` must outlive it when it holds handles
  /// (ending the runtime on one of its own threads cannot work). Precondition: `valid()`; otherwise
  /// throws `std::future_error` (no_state).
  template <class F>
  void then(F&& f) {
    static_assert(std::is_invocable_v<std::decay_t<F>&, result_type&&>,
                  "then() takes a callable of result<T> (status for void)");
    if (!this->valid() || !state_)
      throw std::future_error(std::future_errc::no_state);
    using callback = typename detail::completion<T>::callback;
    std::unique_ptr<callback> cb =
      std::make_unique<typename detail::completion<T>::template callback_of<std::decay_t<F>>>(
        std::forward<F>(f));
    auto state = std::move(state_);
    if (state->attach(cb)) {
      static_cast<std::future<T>&>(*this) = std::future<T>{};
      return;
    }
    // Settled first: the future holds the result, and `cb` is still ours.
    cb->invoke(take());
  }

private:
  friend class detail::completion<T>;

  pending(std::shared_ptr<detail::completion<T>> state, std::future<T> future)
    : std::future<T>(std::move(future))
    , state_(std::move(state)) {}

  result_type take() {
    try {
      if constexpr (std::is_void_v<T>) {
        this->get();
        return ok_status();
      } else {
        return result_type{this->get()};
      }
    } catch (...) {
      return result_type{detail::failure_of(std::current_exception())};
    }
  }

  std::shared_ptr<detail::completion<T>> state_;
};

} // namespace actorio
