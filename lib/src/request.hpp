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
#include "actors/facade_bridge_actor.hpp"
#include "lib/src/runtime_core.hpp"

namespace actorio::detail {

/// A future that already holds the failure `why`.
template <class T>
std::future<T> failed_future(failure why) {
  std::promise<T> p;
  p.set_exception(std::make_exception_ptr(io_error(std::move(why))));
  return p.get_future();
}

/// The promise of one bridged call, settled exactly once: by the reply, or by the bridge when no
/// reply came (a cancel, a timeout, the receiver or the runtime going).
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

/// How a call waits: timed calls fail with ETIMEDOUT after the runtime's request timeout;
/// untimed ones (bulk work, reads of a pipe) wait for the reply, a cancel or the receiver's end.
struct call_mode {
  bool timed = true;
  progress_callback on_progress;
};

/// Sends one request `xs...` to `dest` through the runtime's facade bridge
/// (actors/facade_bridge_actor.hpp) and returns a future of `convert(replies...)` and the call's
/// ticket for `canceller`. `Replies` are the reply types named in the interface (none for a `void`
/// reply). `op` and `path` label errors that do not come from the receiver (timeouts, a receiver
/// or runtime that is gone, a cancel).
///
/// Calls made from one thread reach each receiver in the order they were made. The promise is
/// held by shared_ptr: the reply may arrive after the caller stopped waiting.
template <class... Replies, class Handle, class Convert, class... Ts>
auto call(const std::shared_ptr<runtime_core>& core, const Handle& dest, call_mode mode,
          std::string op, std::string path, Convert convert, Ts&&... xs) {
  using T = std::invoke_result_t<Convert, Replies&&...>;
  auto state = std::make_shared<bridge_promise<T>>();
  auto future = state->promise.get_future();
  if (!dest) {
    state->fail(failure{EBADF, std::move(op), std::move(path), "closed handle"});
    return std::pair{std::move(future), std::uint64_t{0}};
  }
  bridge_job job;
  job.ticket = core->next_ticket.fetch_add(1, std::memory_order_relaxed);
  job.dest = dest.address();
  job.start = [dest, state, op, path, convert = std::move(convert),
               args = std::make_tuple(std::forward<Ts>(xs)...)](
                caf::event_based_actor* self, std::function<bool()> claim) mutable {
    return std::apply(
      [&](auto&... a) {
        auto handle = self->request(dest, caf::infinite, std::move(a)...);
        auto id = handle.id();
        handle.then(
          [state, convert, claim](Replies&... reply) mutable {
            if (claim())
              state->succeed(convert, reply...);
          },
          [state, claim, op, path](caf::error& err) {
            if (claim())
              state->fail(to_failure(err, op, path));
          });
        return id;
      },
      args);
  };
  job.fail = [state, peer = core->peer](failure why) {
    if (!peer.empty())
      why.detail +=
        (why.detail.empty() ? "node " : " (node ") + peer + (why.detail.empty() ? "" : ")");
    state->fail(std::move(why));
  };
  job.guard = std::make_shared<unstarted_guard>(
    [state, op, path] { state->fail(to_failure(caf::sec::request_receiver_down, op, path)); });
  job.op = std::move(op);
  job.path = std::move(path);
  if (mode.timed)
    job.timeout = core->timeout();
  job.on_progress = std::move(mode.on_progress);
  auto ticket = job.ticket;
  caf::anon_send(core->bridge, std::move(job));
  return std::pair{std::move(future), ticket};
}

/// Cancels the call `ticket` made through `bridge`: its future fails with ECANCELED and its
/// receiver is told `(cancel_atom, request id)`. A call already settled is left alone.
inline std::function<void()> canceller(caf::actor bridge, std::uint64_t ticket) {
  return [bridge = std::move(bridge), ticket] { caf::anon_send(bridge, cancel_atom_v, ticket); };
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
  auto [future, ticket] =
    call<Replies...>(core, dest, call_mode{false, opts.on_progress}, std::move(op), "",
                     std::move(convert), std::forward<Ts>(xs)..., every);
  return operation<T>{std::move(future), canceller(core->bridge, ticket)};
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
