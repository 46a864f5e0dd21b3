#pragma once

#include <exception>
#include <future>
#include <memory>
#include <string>
#include <tuple>
#include <utility>

#include <caf/all.hpp>

#include "actorio/io_error.hpp"
#include "actorio/messages/error.hpp"
#include "lib/src/runtime_core.hpp"

namespace actorio::detail {

/// A future that already holds the failure `why`.
template <class T>
std::future<T> failed_future(failure why) {
  std::promise<T> p;
  p.set_exception(std::make_exception_ptr(io_error(std::move(why))));
  return p.get_future();
}

/// Sends one request to `dest` and returns a future of `convert(replies...)`. `Replies` are the
/// reply types named in the interface (none for a `void` reply). `op` and `path` label errors
/// that do not come from actorio itself (timeouts, dead receivers).
///
/// The bridge is a short-lived helper actor per call: it keeps the caller's thread free and
/// holds the promise by shared_ptr, because the reply may arrive after the caller stopped waiting.
template <class... Replies, class Handle, class Convert, class... Ts>
auto ask(const std::shared_ptr<runtime_core>& core, const Handle& dest, std::string op,
         std::string path, Convert convert, Ts&&... xs) {
  using T = std::invoke_result_t<Convert, Replies&&...>;
  if (!dest)
    return failed_future<T>(failure{EBADF, std::move(op), std::move(path), "closed handle"});
  auto promise = std::make_shared<std::promise<T>>();
  auto future = promise->get_future();
  auto on_error = [promise, op, path](caf::error& err) {
    promise->set_exception(std::make_exception_ptr(io_error(to_failure(err, op, path))));
  };
  auto on_value = [promise, convert = std::move(convert)](Replies&... reply) mutable {
    try {
      if constexpr (std::is_void_v<T>) {
        convert(std::move(reply)...);
        promise->set_value();
      } else {
        promise->set_value(convert(std::move(reply)...));
      }
    } catch (...) {
      promise->set_exception(std::current_exception());
    }
  };
  auto timeout = core->timeout();
  core->system->spawn(
    [dest, timeout, on_error, on_value,
     args = std::make_tuple(std::forward<Ts>(xs)...)](caf::event_based_actor* self) mutable {
      std::apply(
        [&](auto&... a) { self->request(dest, timeout, std::move(a)...).then(on_value, on_error); },
        args);
    });
  return future;
}

/// The identity conversion for `ask`: the one reply as it is, or nothing for none.
struct as_is {
  template <class T>
  T operator()(T&& x) const {
    return std::forward<T>(x);
  }
  void operator()() const {}
};

/// A conversion for `ask` that builds an aggregate `T` from all the replies.
template <class T>
struct as {
  template <class... Xs>
  T operator()(Xs&&... xs) const {
    return T{std::forward<Xs>(xs)...};
  }
};

} // namespace actorio::detail
