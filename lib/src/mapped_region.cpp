#include "lib/src/mapped_region.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace actorio::detail {

namespace {

constexpr std::uint64_t page_size = 4096;

std::uint64_t round_up_to_page(std::uint64_t n) {
  return (n + page_size - 1) / page_size * page_size;
}

bool writable(open_mode mode) {
  return mode != open_mode::read_only;
}

} // namespace

result<open_mode> parse_open_mode(std::string_view text) {
  if (text == "r+b")
    return open_mode::read_write;
  if (text == "rb")
    return open_mode::read_only;
  if (text == "w+b")
    return open_mode::create;
  if (text == "x+b")
    return open_mode::create_exclusive;
  return failure{EINVAL, "open", "",
                 "bad mode '" + std::string(text) + "' (expected r+b, rb, w+b or x+b)"};
}

std::string_view to_string(open_mode mode) {
  switch (mode) {
    case open_mode::read_write:
      return "r+b";
    case open_mode::read_only:
      return "rb";
    case open_mode::create:
      return "w+b";
    case open_mode::create_exclusive:
      return "x+b";
  }
  return "?";
}

result<mapped_region> mapped_region::open(const std::string& path, open_mode mode,
                                          std::int64_t init_size, bool minimize_writes) {
  if (init_size < 0)
    return failure{EINVAL, "open", path, "negative init_size"};
  // O_NONBLOCK: a FIFO would otherwise block the open until a writer came; it is refused below.
  int flags = O_CLOEXEC | O_NONBLOCK;
  switch (mode) {
    case open_mode::read_write:
      flags |= O_RDWR;
      break;
    case open_mode::read_only:
      flags |= O_RDONLY;
      break;
    case open_mode::create:
      flags |= O_RDWR | O_CREAT | O_TRUNC;
      break;
    case open_mode::create_exclusive:
      flags |= O_RDWR | O_CREAT | O_EXCL;
      break;
  }
  unique_fd fd{retry_eintr([&] { return ::open(path.c_str(), flags, 0666); })};
  if (!fd) {
    int err = errno;
    return failure{err, "open", path, {}};
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    int err = errno;
    return failure{err, "open", path, {}};
  }
  if (S_ISDIR(st.st_mode))
    return failure{EISDIR, "open", path, {}};
  if (!S_ISREG(st.st_mode))
    return failure{EINVAL, "open", path, "not a regular file"};
  mapped_region region{path, mode, std::move(fd), minimize_writes};
  auto current = static_cast<std::uint64_t>(st.st_size);
  auto wanted = static_cast<std::uint64_t>(init_size);
  region.size_ = current;
  if (mode == open_mode::read_only && wanted > current)
    return failure{EINVAL, "open", path, "init_size would grow a read-only file"};
  bool exact = mode == open_mode::create || mode == open_mode::create_exclusive;
  if ((exact && wanted != current) || wanted > current) {
    if (auto st = region.set_size(wanted, "open"); !st)
      return std::move(st).error();
  }
  if (auto st = region.ensure_mapped(region.size_, "open"); !st)
    return std::move(st).error();
  return region;
}

mapped_region::mapped_region(std::string path, open_mode mode, unique_fd fd,
                             bool minimize_writes)
  : path_(std::move(path)), mode_(mode), fd_(std::move(fd)), minimize_writes_(minimize_writes) {
}

mapped_region::mapped_region(mapped_region&& other) noexcept
  : path_(std::move(other.path_)),
    mode_(other.mode_),
    fd_(std::move(other.fd_)),
    minimize_writes_(other.minimize_writes_),
    base_(std::exchange(other.base_, nullptr)),
    size_(std::exchange(other.size_, 0)),
    capacity_(std::exchange(other.capacity_, 0)) {
}

mapped_region& mapped_region::operator=(mapped_region&& other) noexcept {
  if (this != &other) {
    unmap();
    path_ = std::move(other.path_);
    mode_ = other.mode_;
    fd_ = std::move(other.fd_);
    minimize_writes_ = other.minimize_writes_;
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
  }
  return *this;
}

mapped_region::~mapped_region() {
  unmap();
}

failure mapped_region::fail(int code, const char* op, std::string detail) const {
  return failure{code, op, path_, std::move(detail)};
}

void mapped_region::unmap() noexcept {
  if (base_ != nullptr)
    ::munmap(base_, capacity_);
  base_ = nullptr;
  capacity_ = 0;
}

status mapped_region::ensure_mapped(std::uint64_t length, const char* op) {
  if (length <= capacity_)
    return ok_status();
  // Geometric growth keeps a run of appends from remapping on every write.
  auto wanted = round_up_to_page(std::max(length, capacity_ * 2));
  int prot = writable(mode_) ? PROT_READ | PROT_WRITE : PROT_READ;
  void* addr;
  if (base_ == nullptr)
    addr = ::mmap(nullptr, wanted, prot, MAP_SHARED, fd_.get(), 0);
  else
    addr = ::mremap(base_, capacity_, wanted, MREMAP_MAYMOVE);
  if (addr == MAP_FAILED) {
    int err = errno;
    return fail(err, op, "mmap");
  }
  base_ = static_cast<char*>(addr);
  capacity_ = wanted;
  return ok_status();
}

status mapped_region::set_size(std::uint64_t new_size, const char* op) {
  if (retry_eintr([&] { return ::ftruncate(fd_.get(), static_cast<off_t>(new_size)); }) != 0) {
    int err = errno;
    return fail(err, op, "ftruncate");
  }
  size_ = new_size;
  if (new_size == 0) {
    unmap();
  } else if (round_up_to_page(new_size) < capacity_ / 4) {
    // Give back address space after a large shrink; small ones keep the spare capacity.
    auto shrunk = round_up_to_page(new_size);
    void* addr = ::mremap(base_, capacity_, shrunk, 0);
    if (addr == MAP_FAILED) {
      int err = errno;
      return fail(err, op, "mremap");
    }
    capacity_ = shrunk;
  }
  return ok_status();
}

result<std::vector<char>> mapped_region::read(std::int64_t offset, std::int64_t size) const {
  if (!is_open())
    return fail(EBADF, "read", "closed");
  if (offset < 0)
    return fail(EINVAL, "read", "negative offset");
  auto begin = static_cast<std::uint64_t>(offset);
  if (begin >= size_)
    return std::vector<char>{};
  auto available = size_ - begin;
  auto n = size < 0 ? available : std::min<std::uint64_t>(available, static_cast<std::uint64_t>(size));
  return std::vector<char>(base_ + begin, base_ + begin + n);
}

result<std::uint64_t> mapped_region::write(const char* data, std::size_t size,
                                           std::int64_t offset) {
  if (!is_open())
    return fail(EBADF, "write", "closed");
  if (!writable(mode_))
    return fail(EBADF, "write", "mapped read-only");
  if (offset < 0)
    return fail(EINVAL, "write", "negative offset");
  if (size == 0)
    return std::uint64_t{0};
  auto begin = static_cast<std::uint64_t>(offset);
  auto end = begin + size;
  if (end > size_) {
    // Map first: if that fails, the file and size_ are still as they were.
    if (auto st = ensure_mapped(end, "write"); !st)
      return std::move(st).error();
    if (auto st = set_size(end, "write"); !st)
      return std::move(st).error();
  }
  char* dst = base_ + begin;
  if (!minimize_writes_) {
    std::memcpy(dst, data, size);
    return std::uint64_t{size};
  }
  // Compare page-sized pieces first: an unchanged piece is not stored to, so its page stays clean.
  std::size_t done = 0;
  while (done < size) {
    auto piece = std::min<std::size_t>(page_size - ((begin + done) % page_size), size - done);
    if (std::memcmp(dst + done, data + done, piece) != 0)
      std::memcpy(dst + done, data + done, piece);
    done += piece;
  }
  return std::uint64_t{size};
}

result<std::uint64_t> mapped_region::resize(std::int64_t new_size) {
  if (!is_open())
    return fail(EBADF, "resize", "closed");
  if (!writable(mode_))
    return fail(EBADF, "resize", "mapped read-only");
  if (new_size < 0)
    return fail(EINVAL, "resize", "negative size");
  auto n = static_cast<std::uint64_t>(new_size);
  if (auto st = ensure_mapped(n, "resize"); !st)
    return std::move(st).error();
  if (auto st = set_size(n, "resize"); !st)
    return std::move(st).error();
  return size_;
}

result<std::uint64_t> mapped_region::grow(std::int64_t min_size) {
  if (!is_open())
    return fail(EBADF, "grow", "closed");
  if (min_size < 0)
    return fail(EINVAL, "open", "negative init_size");
  if (static_cast<std::uint64_t>(min_size) <= size_)
    return size_;
  if (!writable(mode_))
    return fail(EINVAL, "open", "init_size would grow a read-only file");
  return resize(min_size);
}

status mapped_region::flush() {
  if (!is_open())
    return fail(EBADF, "flush", "closed");
  if (base_ != nullptr && ::msync(base_, round_up_to_page(size_), MS_ASYNC) != 0) {
    int err = errno;
    return fail(err, "flush", "msync");
  }
  return ok_status();
}

status mapped_region::sync() {
  if (!is_open())
    return fail(EBADF, "sync", "closed");
  if (base_ != nullptr && ::msync(base_, round_up_to_page(size_), MS_SYNC) != 0) {
    int err = errno;
    return fail(err, "sync", "msync");
  }
  if (retry_eintr([&] { return ::fsync(fd_.get()); }) != 0) {
    int err = errno;
    return fail(err, "sync", "fsync");
  }
  return ok_status();
}

status mapped_region::close() {
  if (!is_open())
    return ok_status();
  auto flushed = flush();
  unmap();
  // close() is not retried on EINTR: on Linux the descriptor is gone either way.
  if (::close(fd_.release()) != 0) {
    int err = errno;
    return fail(err, "close");
  }
  return flushed;
}

} // namespace actorio::detail
