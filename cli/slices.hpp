#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <type_traits>
#include <utility>

namespace actorio::cli {

/// How a long list of items goes to the runtime: `size` items per bulk call and at most
/// `in_flight` calls outstanding, so 100,000 paths never queue 100,000 jobs (or fds) at once
/// while the next slice is already running when one is being printed.
struct slicing {
  std::size_t size = 2048;
  std::size_t in_flight = 2;
};

/// Calls `submit(first, last)` (returning a future-like object) for consecutive slices of
/// [0, n) and `consume(first, last, future)` for each in slice order, never with more than
/// `s.in_flight` submitted but not yet consumed.
template <class Submit, class Consume>
void for_each_slice(std::size_t n, slicing s, Submit submit, Consume consume) {
  using pending_future = std::invoke_result_t<Submit&, std::size_t, std::size_t>;
  struct pending {
    std::size_t first;
    std::size_t last;
    pending_future future;
  };
  std::deque<pending> queue;
  std::size_t next = 0;
  while (next < n || !queue.empty()) {
    while (next < n && queue.size() < std::max<std::size_t>(s.in_flight, 1)) {
      auto last = std::min(n, next + std::max<std::size_t>(s.size, 1));
      queue.push_back(pending{next, last, submit(next, last)});
      next = last;
    }
    auto& front = queue.front();
    consume(front.first, front.last, front.future);
    queue.pop_front();
  }
}

} // namespace actorio::cli
