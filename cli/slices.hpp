#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <mutex>
#include <type_traits>
#include <utility>

#include "cli/interrupt.hpp"
#include "cli/standard_output.hpp"

namespace actorio::cli {

/// How a long list of items goes to the runtime: `size` items per bulk call and at most
/// `in_flight` calls outstanding, so 100,000 paths never queue 100,000 jobs (or fds) at once
/// while the next slice is already running when one is being printed.
struct slicing {
  std::size_t size = 2048;
  std::size_t in_flight = 2;
};

/// Calls `next(batch, max)` to fill a default-constructed `Batch` with up to `max` items (false
/// when none are left), `submit(batch)` (returning a future-like object) to start a slice's work
/// and `consume(batch, future)` for each slice in order, never with more than `s.in_flight`
/// submitted but not yet consumed. Items may arrive while the work goes on (a tree being walked):
/// a batch lives until it is consumed, so memory holds the slices in flight, not every item.
/// Stops submitting once interrupted or once stdout failed (stdout is flushed after each slice,
/// so a full disk stops a long run early); operations that can be cancelled are, on Ctrl-C, while
/// they are in flight.
template <class Batch, class Next, class Submit, class Consume>
void for_each_streamed_slice(slicing s, Next next, Submit submit, Consume consume) {
  using pending_future = std::invoke_result_t<Submit&, Batch&>;
  struct pending {
    Batch batch;
    pending_future future;
  };
  std::deque<pending> queue;
  // One cancel action for the whole run, registered before anything is submitted: a Ctrl-C
  // between a submission and its registration would otherwise find nothing to cancel and end
  // the process while the work (e.g. a copy's temporary file) is already under way.
  std::mutex mutex;
  bool cancelled = false;
  auto cancel_all = [&] {
    if constexpr (requires(pending_future & f) { f.cancel(); }) {
      std::lock_guard<std::mutex> guard{mutex};
      cancelled = true;
      for (auto& p : queue)
        p.future.cancel();
    }
  };
  cancel_scope scope{cancel_all};
  auto stopping = [] { return interrupted() || output_failed(); };
  bool more = true;
  while ((more && !stopping()) || !queue.empty()) {
    while (more && queue.size() < std::max<std::size_t>(s.in_flight, 1) && !stopping()) {
      Batch batch;
      more = next(batch, std::max<std::size_t>(s.size, 1));
      if (!more)
        break;
      auto future = submit(batch);
      std::lock_guard<std::mutex> guard{mutex};
      queue.push_back(pending{std::move(batch), std::move(future)});
      if constexpr (requires(pending_future & f) { f.cancel(); })
        if (cancelled)
          queue.back().future.cancel();
    }
    if (queue.empty())
      break;
    auto& front = queue.front();
    consume(front.batch, front.future);
    flush_output();
    std::lock_guard<std::mutex> guard{mutex};
    queue.pop_front();
  }
}

/// for_each_streamed_slice over [0, n): `submit(first, last)` and `consume(first, last, future)`
/// for consecutive slices of the indices.
template <class Submit, class Consume>
void for_each_slice(std::size_t n, slicing s, Submit submit, Consume consume) {
  struct index_range {
    std::size_t first = 0;
    std::size_t last = 0;
  };
  std::size_t pos = 0;
  for_each_streamed_slice<index_range>(
    s,
    [&](index_range& r, std::size_t max) {
      if (pos >= n)
        return false;
      r = index_range{pos, std::min(n, pos + max)};
      pos = r.last;
      return true;
    },
    [&](index_range& r) { return submit(r.first, r.last); },
    [&](index_range& r, auto& future) { consume(r.first, r.last, future); });
}

} // namespace actorio::cli
