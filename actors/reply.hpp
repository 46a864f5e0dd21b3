#pragma once

#include <utility>

#include <caf/all.hpp>

#include "actorio/messages/error.hpp"
#include "actorio/result.hpp"

namespace actorio::detail {

/// Answers a `void` request. CAF 0.17's typed_response_promise<void> has no `deliver()`; the
/// untyped promise underneath sends the empty reply.
inline void deliver_ok(caf::typed_response_promise<void>& rp) {
  static_cast<caf::response_promise&>(rp).deliver(caf::unit);
}

/// Answers with a plain helper's result: its value, or its failure as an actorio error.
template <class T>
void deliver(caf::typed_response_promise<T>& rp, result<T>&& r) {
  if (r)
    rp.deliver(std::move(r).value());
  else
    rp.deliver(make_error(r.error()));
}

/// Answers a two-value reply from a helper's result<pair>.
template <class A, class B>
void deliver(caf::typed_response_promise<A, B>& rp, result<std::pair<A, B>>&& r) {
  if (r) {
    auto [a, b] = std::move(r).value();
    rp.deliver(std::move(a), std::move(b));
  } else {
    rp.deliver(make_error(r.error()));
  }
}

inline void deliver(caf::typed_response_promise<void>& rp, status&& r) {
  if (r)
    deliver_ok(rp);
  else
    rp.deliver(make_error(r.error()));
}

} // namespace actorio::detail
