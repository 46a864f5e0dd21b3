#pragma once

#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include <caf/all.hpp>

#include "actorio/io_error.hpp"
#include "actorio/messages/error.hpp"
#include "actorio/messages/interfaces.hpp"
#include "actorio/operation.hpp"
#include "actorio/pending.hpp"
#include "lib/src/facade_bridge_actor.hpp"
#include "lib/src/runtime_core.hpp"

namespace actorio::detail {

/// The promise of one bridged call. The bridge settles it once: from the reply, or with a failure
/// when no reply came (a cancel, a timeout, the receiver or the runtime going). Settling fulfils
/// the caller's future or runs the callback attached to it (actorio/pending.hpp), on the settling
/// thread.
template <class T>
struct bridge_promise {
  std::shared_ptr<completion<T>> promise = std::make_shared<completion<T>>();

  void fail(failure why) {
    promise->set_exception(std::make_exception_ptr(io_error(std::move(why))));
  }

  template <class Convert, class... Replies>
  void succeed(Convert& convert, Replies&... reply) {
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
  }
};

/// How a call waits: timed calls fail with ETIMEDOUT after the runtime's request timeout;
/// untimed ones (bulk work, reads of a pipe) wait for the reply, a cancel or the receiver's end.
struct call_mode {
  bool timed = true;
  progress_callback on_progress;
};

/// A facade argument that is a size, count or bound, absent meaning "to the end" or "no limit".
template <class T>
constexpr bool is_extent = std::is_same_v<std::decay_t<T>, std::optional<std::int64_t>>;

/// How a facade argument travels: an extent as the messages spell it (-1 when absent), anything
/// else as it is.
inline std::int64_t on_wire(const std::optional<std::int64_t>& x) {
  return x ? *x : -1;
}

template <class T>
requires(!is_extent<T>) T && on_wire(T&& x) {
  return std::forward<T>(x);
}

/// Whether `x` is a negative extent, which the messages would misread (-1 is "to the end" there).
template <class T>
bool negative(const T& x) {
  if constexpr (is_extent<T>)
    return x && *x < 0;
  else
    return false;
}

/// Sends one request `xs...` to `dest` in the name of the runtime's facade bridge
/// (lib/src/facade_bridge_actor.hpp) and returns a future of `convert(replies...)` and the call's
/// request id for `canceller`. `Replies` are the reply types named in the interface (none for a
/// `void` reply). `op` and `path` label errors that do not come from the receiver (timeouts, a
/// receiver or runtime that is gone, a cancel).
///
/// An extent among `xs` (see `is_extent`) is sent as the messages spell it; a negative one fails
/// the call with EINVAL before anything is sent.
///
/// The call is registered with the bridge before its request leaves this thread, so the reply
/// always finds it; calls made from one thread reach each receiver in the order they were made.
/// The promise is held by shared_ptr: the reply may arrive after the caller stopped waiting.
template <class... Replies, class Handle, class Convert, class... Ts>
auto call(const std::shared_ptr<runtime_core>& core, const Handle& dest, call_mode mode,
          std::string op, std::string path, Convert convert, Ts&&... xs) {
  static_assert(caf::response_type_unbox<
                  caf::signatures_of_t<Handle>,
                  caf::detail::type_list<typename caf::detail::implicit_conversions<
                    std::decay_t<decltype(on_wire(std::declval<Ts>()))>>::type...>>::valid,
                "the receiver does not accept this request");
  using T = std::invoke_result_t<Convert, Replies&&...>;
  auto state = std::make_shared<bridge_promise<T>>();
  auto future = state->promise->get_pending();
  if (!dest) {
    state->fail(failure{EBADF, std::move(op), std::move(path), "closed handle"});
    return std::pair{std::move(future), std::uint64_t{0}};
  }
  if ((negative(xs) || ...)) {
    state->fail(failure{EINVAL, std::move(op), std::move(path), "negative size, count or bound"});
    return std::pair{std::move(future), std::uint64_t{0}};
  }
  bridge_call c;
  c.dest = dest.address();
  c.on_reply = caf::behavior{
    [state, convert = std::move(convert)](Replies&... reply) mutable {
      state->succeed(convert, reply...);
    },
    [state, op, path](caf::error& err) { state->fail(to_failure(err, op, path)); },
  };
  c.fail = [state, peer = core->peer](failure why) {
    if (!peer.empty())
      why.detail +=
        (why.detail.empty() ? "node " : " (node ") + peer + (why.detail.empty() ? "" : ")");
    state->fail(std::move(why));
  };
  c.op = std::move(op);
  c.path = std::move(path);
  if (mode.timed)
    c.timeout = core->timeout();
  if (mode.on_progress)
    c.on_progress = std::make_shared<progress_callback>(std::move(mode.on_progress));
  auto request = core->next_request.fetch_add(1, std::memory_order_relaxed);
  // A closed bridge (runtime shut down) fails the call, which then never runs.
  if (facade_bridge::of(core->bridge).expect(request, std::move(c)))
    caf::actor_cast<caf::strong_actor_ptr>(dest)->enqueue(
      caf::make_mailbox_element(core->bridge, caf::make_message_id(request), {},
                                on_wire(std::forward<Ts>(xs))...),
      nullptr);
  return std::pair{std::move(future), request};
}

/// Cancels the call `request` made through `bridge`: its future fails with ECANCELED and its
/// receiver is told `(cancel_atom, request)`. A call already settled is left alone.
inline std::function<void()> canceller(caf::strong_actor_ptr bridge, std::uint64_t request) {
  return [bridge = std::move(bridge), request] { facade_bridge::of(bridge).cancel(request); };
}

/// One request as a future (see `call`), bounded by the runtime's request timeout.
template <class... Replies, class Handle, class Convert, class... Ts>
auto ask(const std::shared_ptr<runtime_core>& core, const Handle& dest, std::string op,
         std::string path, Convert convert, Ts&&... xs) {
  return call<Replies...>(core, dest, call_mode{}, std::move(op), std::move(path),
                          std::move(convert), std::forward<Ts>(xs)...)
    .first;
}

/// One bulk request as a cancellable operation (see `call`): no timeout, progress reported to
/// `opts.on_progress`, and the request's last argument tells the receiver how often to report.
template <class... Replies, class Handle, class Convert, class... Ts>
auto ask_bulk(const std::shared_ptr<runtime_core>& core, const Handle& dest, std::string op,
              const bulk_options& opts, Convert convert, Ts&&... xs) {
  using T = std::invoke_result_t<Convert, Replies&&...>;
  report_progress every;
  if (opts.on_progress)
    every.every_ms = static_cast<std::uint32_t>(std::max<std::int64_t>(
      1, std::chrono::duration_cast<std::chrono::milliseconds>(opts.progress_interval).count()));
  auto [future, request] =
    call<Replies...>(core, dest, call_mode{false, opts.on_progress}, std::move(op), "",
                     std::move(convert), std::forward<Ts>(xs)..., every);
  return operation<T>{std::move(future), canceller(core->bridge, request)};
}

/// A conversion for `call` that needs the runtime, to build handles from the replies: `f(core,
/// replies...)`. It holds the runtime weakly. A call's conversion is released on the thread that
/// sent the reply, a CAF thread, and must not be what keeps the runtime alive there: ending the
/// runtime on one of its own actor system's threads would join that thread from itself.
template <class F>
auto with_core(const std::shared_ptr<runtime_core>& core, F f) {
  return [weak = std::weak_ptr<runtime_core>{core}, f = std::move(f)](auto&&... reply) {
    auto core = weak.lock();
    if (!core)
      throw io_error(failure{EBADF, "", "", "the runtime is gone"});
    return f(core, std::forward<decltype(reply)>(reply)...);
  };
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
