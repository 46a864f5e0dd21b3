#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "actorio/messages/types.hpp"
#include "actorio/result.hpp"

namespace actorio::detail {

/// Shared by the actor that runs a bulk operation and the io workers doing its parts: a cancel
/// flag the workers poll between windows, and progress counters they add to. Every member may be
/// used from any thread.
class work_control {
public:
  using reporter = std::function<void(const progress&)>;

  /// `report` (may be empty) is called with a snapshot at most once per `every`, on whichever
  /// thread adds work at that moment.
  work_control(std::uint64_t items_total, std::chrono::milliseconds every, reporter report)
    : items_total_(items_total)
    , every_(every)
    , report_(std::move(report)) {}

  bool cancelled() const noexcept {
    return cancelled_.load(std::memory_order_relaxed);
  }

  void cancel() noexcept {
    cancelled_.store(true, std::memory_order_relaxed);
  }

  /// The failure an item reports when it stops because of `cancel()`.
  static failure cancelled_failure(const char* op, const std::string& path) {
    return failure{ECANCELED, op, path, "cancelled"};
  }

  void add_total(std::uint64_t bytes) noexcept {
    bytes_total_.fetch_add(bytes, std::memory_order_relaxed);
  }

  void add_bytes(std::uint64_t bytes) {
    bytes_done_.fetch_add(bytes, std::memory_order_relaxed);
    maybe_report();
  }

  void item_done() {
    items_done_.fetch_add(1, std::memory_order_relaxed);
    maybe_report();
  }

  /// Reports the current snapshot now, whatever the interval (the last report of a run).
  void report_now() {
    if (!report_)
      return;
    std::lock_guard<std::mutex> guard{report_lock_};
    report_(snapshot());
  }

  /// Whether anyone listens to progress; work that only serves reports can be skipped otherwise.
  bool reporting() const noexcept {
    return static_cast<bool>(report_);
  }

  progress snapshot() const noexcept {
    return progress{bytes_done_.load(std::memory_order_relaxed),
                    bytes_total_.load(std::memory_order_relaxed),
                    items_done_.load(std::memory_order_relaxed), items_total_};
  }

private:
  void maybe_report() {
    if (!report_)
      return;
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    auto due = next_report_.load(std::memory_order_relaxed);
    // The exchange elects one thread per interval; the others skip this report.
    if (now < due ||
        !next_report_.compare_exchange_strong(due, now + std::chrono::nanoseconds(every_).count(),
                                              std::memory_order_relaxed))
      return;
    // Snapshots are taken and sent under the lock, so reports leave in the order of their counts
    // and the receiver never sees progress go backwards. A thread that finds a report under way
    // skips its own.
    std::unique_lock<std::mutex> guard{report_lock_, std::try_to_lock};
    if (guard.owns_lock())
      report_(snapshot());
  }

  std::atomic<bool> cancelled_{false};
  std::atomic<std::uint64_t> bytes_done_{0};
  std::atomic<std::uint64_t> bytes_total_{0};
  std::atomic<std::uint64_t> items_done_{0};
  const std::uint64_t items_total_;
  const std::chrono::milliseconds every_;
  std::atomic<std::chrono::steady_clock::rep> next_report_{0};
  std::mutex report_lock_;
  const reporter report_;
};

} // namespace actorio::detail
