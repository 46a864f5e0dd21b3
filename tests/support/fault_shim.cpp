#include "support/fault_shim.hpp"

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <mutex>
#include <vector>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace actorio::test {

namespace {

constexpr int call_count = 5;

/// One slot per call, so faults on different calls combine.
struct slot {
  std::atomic<bool> armed{false};
  int err = 0;
  std::string under;
};

slot slots[call_count];
std::atomic<int> hit_count{0};

template <class F>
F real(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

bool fd_under(int fd, const std::string& under) {
  char link[64];
  char target[PATH_MAX];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  auto n = ::readlink(link, target, sizeof target - 1);
  if (n < 0)
    return false;
  return std::string_view(target, static_cast<std::size_t>(n)).starts_with(under);
}

/// The slot of `call` if this call on `fd` (-1: no fd) is to be broken, else null.
slot* hit(fault_call call, int fd) {
  auto& s = slots[static_cast<int>(call)];
  if (!s.armed.load(std::memory_order_acquire))
    return nullptr;
  if (fd >= 0 && !fd_under(fd, s.under))
    return nullptr;
  hit_count.fetch_add(1);
  return &s;
}

} // namespace

scoped_fault::scoped_fault(fault_call call, int err, std::string under)
  : call_(call) {
  auto& s = slots[static_cast<int>(call)];
  s.err = err;
  s.under = std::move(under);
  hit_count = 0;
  s.armed.store(true, std::memory_order_release);
}

scoped_fault::~scoped_fault() {
  slots[static_cast<int>(call_)].armed.store(false, std::memory_order_release);
}

int scoped_fault::hits() {
  return hit_count.load();
}

} // namespace actorio::test

using actorio::test::fault_call;

extern "C" {

ssize_t copy_file_range(int in, loff_t* in_off, int out, loff_t* out_off, size_t len,
                        unsigned flags) {
  using fn = ssize_t (*)(int, loff_t*, int, loff_t*, size_t, unsigned);
  static auto next = actorio::test::real<fn>("copy_file_range");
  auto start = out_off != nullptr ? *out_off : 0;
  auto* fault = actorio::test::hit(fault_call::copy_file_range, out);
  if (fault == nullptr)
    return next(in, in_off, out, out_off, len, flags);
  if (fault->err != 0) {
    errno = fault->err;
    return -1;
  }
  auto n = next(in, in_off, out, out_off, len, flags);
  if (n > 0) {
    using pwrite_fn = ssize_t (*)(int, const void*, size_t, off_t);
    static auto real_pwrite = actorio::test::real<pwrite_fn>("pwrite");
    std::vector<char> zeros(static_cast<std::size_t>(n), '\0');
    real_pwrite(out, zeros.data(), zeros.size(), start);
  }
  return n;
}

ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  using fn = ssize_t (*)(int, const void*, size_t, off_t);
  static auto next = actorio::test::real<fn>("pwrite");
  if (auto* fault = actorio::test::hit(fault_call::pwrite, fd)) {
    errno = fault->err;
    return -1;
  }
  return next(fd, buf, count, offset);
}

int msync(void* addr, size_t length, int flags) {
  using fn = int (*)(void*, size_t, int);
  static auto next = actorio::test::real<fn>("msync");
  if (auto* fault = actorio::test::hit(fault_call::msync, -1)) {
    errno = fault->err;
    return -1;
  }
  return next(addr, length, flags);
}

ssize_t pread(int fd, void* buf, size_t count, off_t offset) {
  using fn = ssize_t (*)(int, void*, size_t, off_t);
  static auto next = actorio::test::real<fn>("pread");
  // Every read of the test passes here: the descriptor's flags are asked only while armed.
  auto& s = actorio::test::slots[static_cast<int>(fault_call::pread_nonblocking)];
  if (s.armed.load(std::memory_order_acquire) && (::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0)
    if (auto* fault = actorio::test::hit(fault_call::pread_nonblocking, fd)) {
      errno = fault->err;
      return -1;
    }
  return next(fd, buf, count, offset);
}

int fsync(int fd) {
  using fn = int (*)(int);
  static auto next = actorio::test::real<fn>("fsync");
  if (auto* fault = actorio::test::hit(fault_call::fsync, fd)) {
    errno = fault->err;
    return -1;
  }
  return next(fd);
}

} // extern "C"
