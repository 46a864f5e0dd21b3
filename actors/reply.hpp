#pragma once

#include <tuple>
#include <utility>

#include <caf/all.hpp>

#include "actorio/messages/error.hpp"
#include "actorio/messages/types.hpp"
#include "actorio/result.hpp"
#include "io/src/file_scan.hpp"

namespace actorio::detail {

/// The bytes a bulk_read reply holds for `job` on a file of `file_size` bytes.
inline std::uint64_t job_bytes(const read_job& job, std::uint64_t file_size) {
  if (job.whole)
    return file_size;
  std::uint64_t total = 0;
  for (const auto& r : job.ranges)
    total += range_length(r.offset, r.size, file_size);
  return total;
}

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

/// Answers a reply of several values from a helper's result<pair> or result<tuple>.
template <class... Ts, class Values>
requires(sizeof...(Ts) > 1) void deliver(caf::typed_response_promise<Ts...>& rp,
                                         result<Values>&& r) {
  if (r)
    std::apply([&rp](auto&&... xs) { rp.deliver(std::move(xs)...); }, std::move(r).value());
  else
    rp.deliver(make_error(r.error()));
}

inline void deliver(caf::typed_response_promise<void>& rp, status&& r) {
  if (r)
    deliver_ok(rp);
  else
    rp.deliver(make_error(r.error()));
}

} // namespace actorio::detail
