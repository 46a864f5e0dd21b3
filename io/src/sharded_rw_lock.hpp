#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

namespace actorio::detail {

/// A readers-writer lock for data read far more often than changed, from many threads at once.
///
/// A shared_mutex makes every reader write one shared counter, so two threads that only read
/// still pass that cache line back and forth on every lock and unlock. Here each thread counts
/// itself in one of `slots` counters, each on its own cache line (threads pick theirs once, in
/// turn), and reads only the writer's flag, which changes only when a writer comes. A writer
/// raises the flag, then waits for every counter to drain: a reader that counts itself in after
/// the flag is up sees it and leaves again (both sides use sequentially consistent operations, so
/// one of them always sees the other).
///
/// Readers must not wait for anything while holding the lock: a writer waits for them, spinning
/// and yielding. Writers are mutually excluded by a plain mutex. Meets the standard's Lockable
/// and SharedLockable requirements (std::unique_lock, std::shared_lock). try_lock does not wait
/// for another writer, and waits for the readers inside only for a short spin (a reader's copy
/// of resident pages); a reader that takes longer (a page evicted under it, read from the disk)
/// makes it fail, so that a thread that must not wait for the disk can use it.
class sharded_rw_lock {
public:
  sharded_rw_lock() = default;
  sharded_rw_lock(const sharded_rw_lock&) = delete;
  sharded_rw_lock& operator=(const sharded_rw_lock&) = delete;

  bool try_lock_shared() noexcept {
    auto& n = slot_of_this_thread();
    n.fetch_add(1, std::memory_order_seq_cst);
    if (!writing_.load(std::memory_order_seq_cst))
      return true;
    n.fetch_sub(1, std::memory_order_release);
    return false;
  }

  void lock_shared() {
    while (!try_lock_shared()) {
      // Waits for the writer in: it holds writers_ until it is done.
      std::lock_guard<std::mutex> wait{writers_};
    }
  }

  void unlock_shared() noexcept {
    slot_of_this_thread().fetch_sub(1, std::memory_order_release);
  }

  void lock() {
    writers_.lock();
    exclude_readers();
  }

  bool try_lock() {
    if (!writers_.try_lock())
      return false;
    writing_.store(true, std::memory_order_seq_cst);
    for (auto& c : counters_) {
      for (int spins = 0; c.readers.load(std::memory_order_seq_cst) != 0; ++spins) {
        if (spins >= try_spins) {
          unlock();
          return false;
        }
        pause();
      }
    }
    return true;
  }

  void unlock() noexcept {
    writing_.store(false, std::memory_order_release);
    writers_.unlock();
  }

private:
  static constexpr std::size_t slots = 8;
  static constexpr std::size_t line = 64;
  /// How many pauses try_lock waits for readers to leave before it gives up.
  static constexpr int try_spins = 2048;

  static void pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }

  struct alignas(line) counter {
    std::atomic<std::uint32_t> readers{0};
  };

  std::atomic<std::uint32_t>& slot_of_this_thread() noexcept {
    return counters_[this_thread_slot()].readers;
  }

  static std::size_t this_thread_slot() noexcept {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed) % slots;
    return mine;
  }

  void exclude_readers() noexcept {
    writing_.store(true, std::memory_order_seq_cst);
    for (auto& c : counters_)
      for (int spins = 0; c.readers.load(std::memory_order_seq_cst) != 0; ++spins)
        if (spins >= 64)
          std::this_thread::yield();
  }

  std::array<counter, slots> counters_;
  alignas(line) std::atomic<bool> writing_{false};
  std::mutex writers_;
};

} // namespace actorio::detail
