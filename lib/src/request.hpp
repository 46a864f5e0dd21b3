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
#include "actorio/messages/type_ids.hpp"
#include "actorio/operation.hpp"
#include "lib/src/runtime_core.hpp"

namespace actorio::detail {

/// A future that already holds the failure `why`.
template <class T>
std::future<T> failed_future(failure why) {
  std::promise<T> p;
  p.set_exception(std::make_exception_ptr(io_error(std::move(why))));
  return p.get_future();
}

/// The promise of one bridged request, settled exactly once: by the reply, or by the bridge's
/// exit when no reply came (a cancel, the system going down).
template <class T>
struct bridge_promise {
  std::promise<T> promise;
  bool settled = false;

  void fail(failure why) {
    if (!std::exchange(settled, true))
      promise.set_exception(std::make_exception_ptr(io_error(std::move(why))));
  }

  template <class Convert, class... Replies>
  void succeed(Convert& convert, Replies&... reply) {
    if (std::exchange(settled, true))
      return;
    try {
      if constexpr (std::is_void_v<T>) {
        convert(std::move(reply)...);
        promise.set_value();
      } else {
        promise.set_value(convert(std::move(reply)...));
      }
    } catch (...) {
      promise.set_exception(std::current_exception());
    }
  }
};

/// How a bridge waits: plain requests time out; bulk requests may run for long, so they wait
/// without a timeout, receive progress reports and end when `dest` goes down.
struct bridge_mode {
  bool bulk = false;
  progress_callback on_progress;
};

/// Sends one request to `dest` from a one-shot bridge actor and returns a future of
/// `convert(replies...)` and the bridge's address. `Replies` are the reply types named in the
/// interface (none for a `void` reply). `op` and `path` label errors that do not come from
/// actorio itself (timeouts, dead receivers). Killing the bridge with `exit_reason::user_shutdown`
/// completes the future with ECANCELED; the receiver learns of it by monitoring the requester.
///
/// A bridge per call keeps the caller's thread free and holds the promise by shared_ptr, because
/// the reply may arrive after the caller stopped waiting.
template <class... Replies, class Handle, class Convert, class... Ts>
auto bridge(const std::shared_ptr<runtime_core>& core, const Handle& dest, bridge_mode mode,
            std::string op, std::string path, Convert convert, Ts&&... xs) {
  using T = std::invoke_result_t<Convert, Replies&&...>;
  auto state = std::make_shared<bridge_promise<T>>();
  auto future = state->promise.get_future();
  if (!dest) {
    state->fail(failure{EBADF, std::move(op), std::move(path), "closed handle"});
    return std::pair{std::move(future), caf::actor_addr{}};
  }
  auto timeout = mode.bulk ? caf::duration{caf::infinite} : caf::duration{core->timeout()};
  auto helper = core->system->spawn(
    [dest, timeout, state, op, path, convert = std::move(convert), mode = std::move(mode),
     args = std::make_tuple(std::forward<Ts>(xs)...)](caf::event_based_actor* self) mutable {
      self->attach_functor([state, op, path](const caf::error& reason) {
        if (state->settled)
          return;
        if (reason == caf::exit_reason::user_shutdown)
          state->fail(failure{ECANCELED, op, path, "cancelled"});
        else
          state->fail(to_failure(reason ? reason : caf::sec::request_receiver_down, op, path));
      });
      if (mode.bulk) {
        self->monitor(dest);
        self->set_down_handler([self, state, op, path](caf::down_msg& dm) {
          state->fail(
            to_failure(dm.reason ? dm.reason : caf::sec::request_receiver_down, op, path));
          self->quit();
        });
      }
      std::apply(
        [&](auto&... a) {
          self->request(dest, timeout, std::move(a)...)
            .then(
              [self, state, convert](Replies&... reply) mutable {
                state->succeed(convert, reply...);
                self->quit();
              },
              [self, state, op, path](caf::error& err) {
                state->fail(to_failure(err, op, path));
                self->quit();
              });
        },
        args);
      caf::behavior progress_handler;
      if (mode.on_progress)
        progress_handler.assign([on_progress = std::move(mode.on_progress)](
                                  progress_atom, const progress& p) { on_progress(p); });
      return progress_handler;
    });
  return std::pair{std::move(future), helper.address()};
}

/// One request as a future (see `bridge`), bounded by the runtime's request timeout.
template <class... Replies, class Handle, class Convert, class... Ts>
auto ask(const std::shared_ptr<runtime_core>& core, const Handle& dest, std::string op,
         std::string path, Convert convert, Ts&&... xs) {
  return bridge<Replies...>(core, dest, bridge_mode{}, std::move(op), std::move(path),
                            std::move(convert), std::forward<Ts>(xs)...)
    .first;
}

/// One bulk request as a cancellable operation (see `bridge`): no timeout, progress reported to
/// `opts.on_progress`, and the request's last argument tells the receiver how often to report.
template <class... Replies, class Handle, class Convert, class... Ts>
auto ask_bulk(const std::shared_ptr<runtime_core>& core, const Handle& dest, std::string op,
              const bulk_options& opts, Convert convert, Ts&&... xs) {
  using T = std::invoke_result_t<Convert, Replies&&...>;
  report_progress every;
  if (opts.on_progress)
    every.every_ms = static_cast<std::uint32_t>(std::max<std::int64_t>(
      1, std::chrono::duration_cast<std::chrono::milliseconds>(opts.progress_interval).count()));
  auto [future, helper] =
    bridge<Replies...>(core, dest, bridge_mode{true, opts.on_progress}, std::move(op), "",
                       std::move(convert), std::forward<Ts>(xs)..., every);
  return operation<T>{std::move(future), [helper = std::move(helper)] {
                        if (auto a = caf::actor_cast<caf::actor>(helper))
                          caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
                      }};
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
