#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <thread>

#include "actorio/actorio.hpp"

namespace actorio::test {

/// Polls `done` until it holds or a generous bound passes (no claim about speed: only that it
/// happens at all).
inline bool eventually(const std::function<bool()>& done) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done()) {
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

/// Bulk options whose progress reports, every 10 ms, make `started` ready once the work has done
/// its first bytes.
struct start_watch {
  std::shared_ptr<std::promise<void>> promise = std::make_shared<std::promise<void>>();
  std::future<void> started = promise->get_future();
  bulk_options opts;

  start_watch() {
    opts.progress_interval = std::chrono::milliseconds(10);
    opts.on_progress = [promise = promise,
                        once = std::make_shared<std::atomic<bool>>(false)](const progress& p) {
      if (p.bytes_done > 0 && !once->exchange(true))
        promise->set_value();
    };
  }
};

} // namespace actorio::test
