#pragma once

#include <fcntl.h>
#include <stdio.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <random>
#include <system_error>
#include <thread>
#include <utility>

namespace actorio::test {

/// The TOCTOU attacker: on a thread of its own, swaps the names of a real directory and a symlink
/// (to somewhere else) with renameat2(RENAME_EXCHANGE) in a tight loop until destroyed, so that
/// a path through `dir` names the directory at one instant and the symlink at the next. The
/// exchange is atomic, so the name always exists: a call never sees ENOENT, only one or the other.
class symlink_swapper {
public:
  /// Throws if the filesystem cannot exchange the two names.
  symlink_swapper(std::filesystem::path dir, std::filesystem::path link)
    : dir_(std::move(dir))
    , link_(std::move(link)) {
    exchange_or_throw();
    exchange_or_throw();
    thread_ = std::thread{[this] {
      while (!stop_.load(std::memory_order_relaxed))
        if (::renameat2(AT_FDCWD, dir_.c_str(), AT_FDCWD, link_.c_str(), RENAME_EXCHANGE) == 0)
          swaps_.fetch_add(1, std::memory_order_relaxed);
    }};
  }

  symlink_swapper(const symlink_swapper&) = delete;
  symlink_swapper& operator=(const symlink_swapper&) = delete;

  ~symlink_swapper() {
    stop();
  }

  /// Stops swapping (the names stay as the last swap left them). Idempotent.
  void stop() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
  }

  /// Busy-waits a random 0-50 us. Call it before each attempt: back-to-back calls fall into
  /// lockstep with the swaps (the directory lock passes between the two threads in turn) and then
  /// see the same one of the two names every time, so the race would not be run at all.
  void jitter() {
    auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(rng_() % 50'000);
    while (std::chrono::steady_clock::now() < until) {
    }
  }

  /// Swaps done so far.
  std::uint64_t swaps() const noexcept {
    return swaps_.load();
  }

private:
  void exchange_or_throw() {
    if (::renameat2(AT_FDCWD, dir_.c_str(), AT_FDCWD, link_.c_str(), RENAME_EXCHANGE) != 0)
      throw std::system_error(errno, std::generic_category(), "renameat2(RENAME_EXCHANGE)");
  }

  std::filesystem::path dir_;
  std::filesystem::path link_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> swaps_{0};
  std::minstd_rand rng_{std::random_device{}()};
  std::thread thread_;
};

} // namespace actorio::test
