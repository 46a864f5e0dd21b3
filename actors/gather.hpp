#pragma once

// The fan-in of a scatter: the manager's bulk calls and the gate's shutdown wait for many
// answers with it.

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "actorio/result.hpp"
#include "io/src/work_control.hpp"

namespace actorio::detail {

/// Collects one result per item and calls `done` with all of them once the last is in. With a
/// `control`, each item counts as done for progress.
template <class T>
struct gather {
  std::vector<result<T>> results;
  std::size_t pending = 0;
  std::function<void(std::vector<result<T>>&&)> done;
  std::shared_ptr<work_control> control;

  void set(std::size_t index, result<T> r) {
    results[index] = std::move(r);
    if (control)
      control->item_done();
    if (--pending == 0)
      done(std::move(results));
  }
};

template <class T>
std::shared_ptr<gather<T>> make_gather(std::size_t n,
                                       std::function<void(std::vector<result<T>>&&)> done,
                                       std::shared_ptr<work_control> control = nullptr) {
  auto g = std::make_shared<gather<T>>();
  g->results.resize(n, result<T>{failure{EIO, "bulk", "", "not run"}});
  g->pending = n;
  g->done = std::move(done);
  g->control = std::move(control);
  if (n == 0)
    g->done({});
  return g;
}

} // namespace actorio::detail
