#pragma once

#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "actorio/result.hpp"
#include "io/src/unique_fd.hpp"

namespace actorio::detail {

/// One epoll thread that tells when descriptors become readable or writable, so any number of
/// idle pipes and sockets costs no thread each. It knows nothing of actors: interest is one-shot
/// and a ready descriptor's callback runs once, on the reactor thread, where it should do no more
/// than post a message. Hang-ups and errors count as ready (the next read or write sees them).
///
/// Thread-safety: every method may be called from any thread.
class fd_reactor {
public:
  using callback = std::function<void()>;

  /// Starts the thread. Fails (throws std::system_error) only if epoll or eventfd cannot be made.
  fd_reactor();
  fd_reactor(const fd_reactor&) = delete;
  fd_reactor& operator=(const fd_reactor&) = delete;
  ~fd_reactor();

  /// Calls `on_ready` once when `fd` is readable (replacing an earlier read interest). EPERM for
  /// a descriptor epoll cannot watch (regular files, /dev/null): those never block anyway.
  status when_readable(int fd, callback on_ready);

  /// As `when_readable`, for writability.
  status when_writable(int fd, callback on_ready);

  /// Drops every interest in `fd`. Call it before closing `fd`: the number may be reused. A
  /// callback already taken for running may still run once after this returns.
  void forget(int fd);

  /// Stops the thread and drops every callback (and what they hold). Idempotent.
  void stop();

  /// The number of descriptors with a pending interest.
  std::size_t watched() const;

private:
  struct interest {
    callback on_readable;
    callback on_writable;
    bool registered = false;
  };

  status arm(int fd, callback on_ready, bool write);
  /// Tells epoll what `it` waits for; `lock_` is held.
  int update(int fd, interest& it);
  void loop();

  mutable std::mutex lock_;
  std::unordered_map<int, interest> interests_;
  unique_fd epoll_;
  unique_fd wakeup_;
  bool stopped_ = false;
  std::thread thread_;
};

} // namespace actorio::detail
