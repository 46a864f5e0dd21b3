#pragma once

#include <cerrno>
#include <utility>

#include <unistd.h>

namespace actorio::detail {

/// Owns a file descriptor and closes it on destruction, so early returns on error paths cannot
/// leak descriptors.
class unique_fd {
public:
  unique_fd() noexcept = default;
  explicit unique_fd(int fd) noexcept
    : fd_(fd) {}

  unique_fd(unique_fd&& other) noexcept
    : fd_(other.release()) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;

  ~unique_fd() {
    reset();
  }

  /// The descriptor, or -1 when empty.
  int get() const noexcept {
    return fd_;
  }

  /// Gives up ownership without closing; the caller closes the returned descriptor.
  int release() noexcept {
    return std::exchange(fd_, -1);
  }

  /// Closes the current descriptor (if any) and takes ownership of `fd`.
  /// Errors from close(2) are dropped: Linux frees the descriptor even when close fails, so
  /// there is nothing to retry. Callers that must see deferred write errors (NFS) release() and
  /// close themselves.
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = fd;
  }

  explicit operator bool() const noexcept {
    return fd_ >= 0;
  }

private:
  int fd_ = -1;
};

/// Calls `f` until it no longer fails with EINTR; keeps errno from the last call for the caller.
/// Never wrap close(2): on Linux the descriptor is gone even after EINTR, and a retry could close
/// a descriptor another thread has just been given.
template <class F>
auto retry_eintr(F f) {
  for (;;) {
    auto rc = f();
    if (rc != -1 || errno != EINTR)
      return rc;
  }
}

} // namespace actorio::detail
