#include "io/src/mapped_region.hpp"

#include "io/src/byte_search.hpp"
#include "io/src/sigbus_guard.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace actorio::detail {

namespace {

// TSan does not intercept mremap: a mapping moved to a new address would keep that address's
// stale shadow and report false races, so TSan builds map afresh and unmap the old range.
#if defined(__SANITIZE_THREAD__)
constexpr bool moves_by_mremap = false;
#else
constexpr bool moves_by_mremap = true;
#endif

constexpr std::uint64_t page_size = 4096;

std::uint64_t round_up_to_page(std::uint64_t n) {
  return (n + page_size - 1) / page_size * page_size;
}

bool writable(open_mode mode) {
  return mode != open_mode::read_only;
}

/// The system's page size, for the addresses msync and madvise need aligned.
std::uint64_t system_page_size() {
  static const std::uint64_t size = [] {
    long n = ::sysconf(_SC_PAGESIZE);
    return n > 0 ? static_cast<std::uint64_t>(n) : page_size;
  }();
  return size;
}

constexpr std::uint64_t no_limit = std::numeric_limits<std::uint64_t>::max();

/// A non-negative int64 limit, with -1 meaning none.
std::uint64_t limit_of(std::int64_t n) {
  return n < 0 ? no_limit : static_cast<std::uint64_t>(n);
}

bool known_advice(int advice) {
  switch (advice) {
  case MADV_NORMAL:
  case MADV_RANDOM:
  case MADV_SEQUENTIAL:
  case MADV_WILLNEED:
  case MADV_DONTNEED:
#ifdef MADV_DONTFORK
  case MADV_DONTFORK:
#endif
#ifdef MADV_DOFORK
  case MADV_DOFORK:
#endif
#ifdef MADV_MERGEABLE
  case MADV_MERGEABLE:
#endif
#ifdef MADV_UNMERGEABLE
  case MADV_UNMERGEABLE:
#endif
#ifdef MADV_HUGEPAGE
  case MADV_HUGEPAGE:
#endif
#ifdef MADV_NOHUGEPAGE
  case MADV_NOHUGEPAGE:
#endif
#ifdef MADV_DONTDUMP
  case MADV_DONTDUMP:
#endif
#ifdef MADV_DODUMP
  case MADV_DODUMP:
#endif
#ifdef MADV_COLD
  case MADV_COLD:
#endif
#ifdef MADV_PAGEOUT
  case MADV_PAGEOUT:
#endif
#ifdef MADV_POPULATE_READ
  case MADV_POPULATE_READ:
#endif
#ifdef MADV_POPULATE_WRITE
  case MADV_POPULATE_WRITE:
#endif
    return true;
  default:
    return false;
  }
}

} // namespace

result<mapped_region> mapped_region::open(const std::string& path, open_mode mode,
                                          std::int64_t init_size, bool minimize_writes,
                                          const file_opener& opener) {
  if (init_size < 0)
    return failure{EINVAL, "open", path, "negative init_size"};
  if (to_string(mode).empty())
    return failure{EINVAL, "open", path, "unknown open mode"};
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
  auto opened = opener.open(path, flags, 0666, "open");
  if (!opened)
    return std::move(opened).error();
  auto region = open_opened(path, mode, std::move(opened).value(), init_size, minimize_writes);
  // O_EXCL made the file ours: a new file that cannot be given its size (EFBIG, ENOSPC) or mapped
  // is removed rather than left behind empty, so a retry does not fail with EEXIST.
  if (!region && mode == open_mode::create_exclusive)
    opener.remove(path);
  return region;
}

result<mapped_region> mapped_region::open_opened(const std::string& path, open_mode mode,
                                                 unique_fd fd, std::int64_t init_size,
                                                 bool minimize_writes) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    int err = errno;
    return failure{err, "open", path, {}};
  }
  if (S_ISDIR(st.st_mode))
    return failure{EISDIR, "open", path, {}};
  if (!S_ISREG(st.st_mode))
    return failure{EINVAL, "open", path, "not a regular file"};
  install_sigbus_handler();
  mapped_region region{path, mode, std::move(fd), minimize_writes};
  region.new_file_ = mode == open_mode::create || mode == open_mode::create_exclusive;
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

mapped_region::mapped_region(std::string path, open_mode mode, unique_fd fd, bool minimize_writes)
  : path_(std::move(path))
  , mode_(mode)
  , fd_(std::move(fd))
  , minimize_writes_(minimize_writes) {}

mapped_region::mapped_region(mapped_region&& other) noexcept
  : path_(std::move(other.path_))
  , mode_(other.mode_)
  , fd_(std::move(other.fd_))
  , minimize_writes_(other.minimize_writes_)
  , denied_(other.denied_)
  , base_(std::exchange(other.base_, nullptr))
  , size_(std::exchange(other.size_, 0))
  , capacity_(std::exchange(other.capacity_, 0))
  , sticky_(std::move(other.sticky_))
  , new_file_(other.new_file_) {}

mapped_region& mapped_region::operator=(mapped_region&& other) noexcept {
  if (this != &other) {
    unmap();
    path_ = std::move(other.path_);
    mode_ = other.mode_;
    fd_ = std::move(other.fd_);
    minimize_writes_ = other.minimize_writes_;
    denied_ = other.denied_;
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    sticky_ = std::move(other.sticky_);
    new_file_ = other.new_file_;
  }
  return *this;
}

mapped_region::~mapped_region() {
  unmap();
}

failure mapped_region::fail(int code, const char* op, std::string detail) const {
  return failure{code, op, path_, std::move(detail)};
}

template <class F>
status mapped_region::guard(const char* op, F&& fn) const {
  if (guarded(base_, capacity_, fn))
    return ok_status();
  // SIGBUS means a page could not be provided: the file was truncated under the map, or its
  // filesystem could not allocate the page (full, or an I/O error).
  return fail(EIO, op,
              "page fault on the map (SIGBUS): file truncated underneath or filesystem full");
}

template <class F>
status mapped_region::guard_write(const char* op, F&& fn) {
  auto st = guard(op, fn);
  if (!st) {
    // The file still covers the map: the page could not be allocated, the filesystem is full.
    struct stat now {};
    if (::fstat(fd_.get(), &now) == 0 && static_cast<std::uint64_t>(now.st_size) >= size_)
      st = fail(ENOSPC, op, "page fault on the map (SIGBUS) with the file whole: filesystem full");
  }
  return remember(std::move(st));
}

status mapped_region::remember(status st) {
  if (!st && !sticky_)
    sticky_ = st.error();
  return st;
}

status mapped_region::with_sticky(status st) const {
  if (sticky_)
    return *sticky_;
  return st;
}

void mapped_region::clear_error() noexcept {
  sticky_.reset();
}

result<std::vector<char>> mapped_region::copy_out(std::uint64_t begin, std::uint64_t end,
                                                  const char* op) const {
  std::vector<char> out;
  if (begin == end)
    return out;
  // Reserved, not sized: sizing would zero every byte the copy then overwrites. Inserting within
  // the reserved capacity allocates nothing, as the guard requires of what it runs.
  out.reserve(end - begin);
  if (auto st = guard(op, [&] { out.insert(out.end(), base_ + begin, base_ + end); }); !st)
    return std::move(st).error();
  return out;
}

result<std::uint64_t> mapped_region::find_guarded(std::string_view sub, std::uint64_t begin,
                                                  std::uint64_t end, const char* op) const {
  std::uint64_t at = end;
  if (auto st = guard(op, [&] { at = find_in(sub, begin, end); }); !st)
    return std::move(st).error();
  return at;
}

result<std::uint64_t> mapped_region::line_end(std::uint64_t begin, std::uint64_t end,
                                              const char* op) const {
  const void* nl = nullptr;
  if (auto st = guard(op, [&] { nl = std::memchr(base_ + begin, '\n', end - begin); }); !st)
    return std::move(st).error();
  if (nl == nullptr)
    return end;
  return static_cast<std::uint64_t>(static_cast<const char*>(nl) - base_);
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
  void* addr = base_ != nullptr && moves_by_mremap
                 ? ::mremap(base_, capacity_, wanted, MREMAP_MAYMOVE)
                 : ::mmap(nullptr, wanted, prot, MAP_SHARED, fd_.get(), 0);
  if (addr == MAP_FAILED) {
    int err = errno;
    return fail(err, op, "mmap");
  }
  if (base_ != nullptr && !moves_by_mremap)
    ::munmap(base_, capacity_);
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
    if (::munmap(base_ + shrunk, capacity_ - shrunk) != 0) {
      int err = errno;
      return fail(err, op, "munmap");
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
  if (size < -1)
    return fail(EINVAL, "read", "negative size");
  auto begin = static_cast<std::uint64_t>(offset);
  if (begin >= size_)
    return std::vector<char>{};
  auto available = size_ - begin;
  auto n =
    size < 0 ? available : std::min<std::uint64_t>(available, static_cast<std::uint64_t>(size));
  return copy_out(begin, begin + n, "read");
}

std::optional<result<std::vector<char>>>
mapped_region::read_cached(std::int64_t offset, std::int64_t size, std::uint64_t max_bytes) const {
  if (!is_open() || offset < 0 || size < -1)
    return std::nullopt;
  auto begin = static_cast<std::uint64_t>(offset);
  if (begin >= size_ || size == 0)
    return std::vector<char>{};
  auto n = std::min(size_ - begin, limit_of(size));
  if (n > max_bytes)
    return std::nullopt;
  std::vector<char> out(n);
  iovec into{out.data(), n};
  auto got = retry_eintr(
    [&] { return ::preadv2(fd_.get(), &into, 1, static_cast<off_t>(begin), RWF_NOWAIT); });
  // EAGAIN: a page is not cached; EOPNOTSUPP: no such reads here. A short read is a page not
  // cached, or the file cut short under the map.
  if (got < 0 || static_cast<std::uint64_t>(got) != n) {
    int err = errno;
    if (got < 0 && err == EOPNOTSUPP && resident(offset, size, max_bytes))
      return read(offset, size);
    return std::nullopt;
  }
  return out;
}

bool mapped_region::resident(std::int64_t offset, std::int64_t size,
                             std::uint64_t max_bytes) const noexcept {
  if (!is_open() || offset < 0 || size < -1)
    return false;
  auto begin = static_cast<std::uint64_t>(offset);
  if (begin >= size_ || size == 0)
    return true; // nothing is touched
  auto end = begin + std::min(size_ - begin, limit_of(size));
  if (end - begin > max_bytes)
    return false;
  auto ps = system_page_size();
  auto first = begin / ps * ps;
  auto pages = (end - first + ps - 1) / ps;
  unsigned char vec[resident_pages_max];
  if (pages > resident_pages_max)
    return false;
  if (::mincore(base_ + first, pages * ps, vec) != 0)
    return false;
  for (std::uint64_t i = 0; i < pages; ++i)
    if ((vec[i] & 1) == 0)
      return false;
  return true;
}

result<std::uint64_t> mapped_region::write(const char* data, std::size_t size,
                                           std::int64_t offset) {
  if (!is_open())
    return fail(EBADF, "write", "closed");
  if (!writable(mode_))
    return fail(denied_, "write", "mapped read-only");
  if (offset < 0)
    return fail(EINVAL, "write", "negative offset");
  return store(data, size, static_cast<std::uint64_t>(offset), "write");
}

status mapped_region::check_usable(const char* op, bool mutating) const {
  if (!is_open())
    return fail(EBADF, op, "closed");
  if (mutating && !writable(mode_))
    return fail(denied_, op, "mapped read-only");
  return ok_status();
}

status mapped_region::grow_to(std::uint64_t end, const char* op) {
  if (end <= size_)
    return ok_status();
  // Size the file first: a size the file system cannot hold is its EFBIG, where mapping first
  // would report the ENOMEM of a length no address space holds. A failed map puts the size back.
  auto old_size = size_;
  if (auto st = set_size(end, op); !st)
    return st;
  if (auto st = ensure_mapped(end, op); !st) {
    (void)set_size(old_size, op);
    return st;
  }
  return ok_status();
}

result<std::uint64_t> mapped_region::store(const char* data, std::size_t size, std::uint64_t offset,
                                           const char* op) {
  if (size == 0)
    return std::uint64_t{0};
  if (auto st = grow_to(offset + size, op); !st)
    return std::move(st).error();
  if (auto st = guard_write(op, [&] { copy_in(offset, data, size); }); !st)
    return std::move(st).error();
  return std::uint64_t{size};
}

void mapped_region::copy_in(std::uint64_t offset, const char* data, std::size_t size) noexcept {
  if (size == 0)
    return; // `data` may be null then (an empty vector or string_view)
  char* dst = base_ + offset;
  if (!minimize_writes_) {
    std::memcpy(dst, data, size);
    return;
  }
  // Compare page-sized pieces first: an unchanged piece is not stored to, so its page stays clean.
  std::size_t done = 0;
  while (done < size) {
    auto piece = std::min<std::size_t>(page_size - ((offset + done) % page_size), size - done);
    if (std::memcmp(dst + done, data + done, piece) != 0)
      std::memcpy(dst + done, data + done, piece);
    done += piece;
  }
}

void mapped_region::move_within(std::uint64_t dst, std::uint64_t src, std::uint64_t size) noexcept {
  if (size == 0 || dst == src)
    return;
  if (!minimize_writes_) {
    std::memmove(base_ + dst, base_ + src, size);
    return;
  }
  // As copy_in, in pieces cut at the destination's page boundaries. Going away from the source
  // (forwards when moving down, backwards when moving up) never reads a piece already stored to.
  if (dst < src) {
    std::uint64_t done = 0;
    while (done < size) {
      auto piece = std::min(page_size - ((dst + done) % page_size), size - done);
      if (std::memcmp(base_ + dst + done, base_ + src + done, piece) != 0)
        std::memmove(base_ + dst + done, base_ + src + done, piece);
      done += piece;
    }
  } else {
    std::uint64_t left = size;
    while (left > 0) {
      auto in_page = (dst + left) % page_size;
      auto piece = std::min(in_page == 0 ? page_size : in_page, left);
      left -= piece;
      if (std::memcmp(base_ + dst + left, base_ + src + left, piece) != 0)
        std::memmove(base_ + dst + left, base_ + src + left, piece);
    }
  }
}

std::uint64_t mapped_region::find_in(std::string_view sub, std::uint64_t begin,
                                     std::uint64_t end) const noexcept {
  if (begin >= end || end - begin < sub.size())
    return end;
  const char* hit = find_bytes(base_ + begin, end - begin, sub);
  if (hit == nullptr)
    return end;
  return static_cast<std::uint64_t>(hit - base_);
}

result<std::uint64_t> mapped_region::resize(std::int64_t new_size) {
  if (!is_open())
    return fail(EBADF, "resize", "closed");
  if (!writable(mode_))
    return fail(denied_, "resize", "mapped read-only");
  if (new_size < 0)
    return fail(EINVAL, "resize", "negative size");
  auto n = static_cast<std::uint64_t>(new_size);
  if (auto st = ensure_mapped(n, "resize"); !st)
    return std::move(st).error();
  if (auto st = set_size(n, "resize"); !st)
    return std::move(st).error();
  return size_;
}

result<mapped_region::file_status> mapped_region::on_disk(const char* op) const {
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) {
    int err = errno;
    return failure{err, op, path_, {}};
  }
  return file_status{
    static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
    static_cast<std::uint64_t>(st.st_nlink), static_cast<std::uint64_t>(st.st_size),
    static_cast<std::uint32_t>(st.st_mode)};
}

result<std::uint64_t> mapped_region::grow(std::int64_t min_size) {
  if (!is_open())
    return fail(EBADF, "grow", "closed");
  if (min_size < 0)
    return fail(EINVAL, "open", "negative init_size");
  if (static_cast<std::uint64_t>(min_size) <= size_)
    return size_;
  if (!writable(mode_))
    return fail(denied_ == EBADF ? EINVAL : denied_, "open",
                "init_size would grow a read-only file");
  return resize(min_size);
}

status mapped_region::flush() {
  if (!is_open())
    return fail(EBADF, "flush", "closed");
  if (base_ != nullptr && ::msync(base_, round_up_to_page(size_), MS_ASYNC) != 0) {
    int err = errno;
    return remember(fail(err, "flush", "msync"));
  }
  return with_sticky(ok_status());
}

status mapped_region::flush(std::int64_t offset, std::int64_t size) {
  if (auto st = check_usable("flush", false); !st)
    return st;
  if (offset < 0)
    return fail(EINVAL, "flush", "negative offset");
  if (size < -1)
    return fail(EINVAL, "flush", "negative size");
  auto begin = static_cast<std::uint64_t>(offset);
  if (begin >= size_ || size == 0)
    return with_sticky(ok_status());
  auto end = begin + std::min(size_ - begin, limit_of(size));
  auto ps = system_page_size();
  auto first = begin / ps * ps;
  auto last = (end + ps - 1) / ps * ps;
  if (::msync(base_ + first, last - first, MS_ASYNC) != 0) {
    int err = errno;
    return remember(fail(err, "flush", "msync"));
  }
  return with_sticky(ok_status());
}

status mapped_region::madvise(int advice, std::int64_t start, std::int64_t length) {
  if (auto st = check_usable("madvise", false); !st)
    return st;
  if (start < 0)
    return fail(EINVAL, "madvise", "negative offset");
  if (length < -1)
    return fail(EINVAL, "madvise", "negative length");
  if (!known_advice(advice))
    return fail(EINVAL, "madvise", "unsupported advice " + std::to_string(advice));
  auto begin = static_cast<std::uint64_t>(start);
  if (begin >= size_ || length == 0)
    return ok_status();
  auto end = begin + std::min(size_ - begin, limit_of(length));
  auto ps = system_page_size();
  auto first = begin / ps * ps;
  auto last = (end + ps - 1) / ps * ps;
  if (::madvise(base_ + first, last - first, advice) != 0) {
    int err = errno;
    return fail(err, "madvise", "madvise");
  }
  return ok_status();
}

status mapped_region::sync() {
  if (!is_open())
    return fail(EBADF, "sync", "closed");
  if (base_ != nullptr && ::msync(base_, round_up_to_page(size_), MS_SYNC) != 0) {
    int err = errno;
    return remember(fail(err, "sync", "msync"));
  }
  if (retry_eintr([&] { return ::fsync(fd_.get()); }) != 0) {
    int err = errno;
    return remember(fail(err, "sync", "fsync"));
  }
  // A file this map created is only durable once its directory entry is.
  if (new_file_) {
    if (auto st = remember(sync_parent_dir()); !st)
      return st;
    new_file_ = false;
  }
  return with_sticky(ok_status());
}

status mapped_region::sync_parent_dir() const {
  auto dir = std::filesystem::path(path_).parent_path();
  if (dir.empty())
    dir = ".";
  unique_fd dir_fd{
    retry_eintr([&] { return ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); })};
  if (!dir_fd) {
    int err = errno;
    return fail(err, "sync", "open parent directory");
  }
  if (retry_eintr([&] { return ::fsync(dir_fd.get()); }) != 0) {
    int err = errno;
    return fail(err, "sync", "fsync parent directory");
  }
  return ok_status();
}

// ---- lines ---------------------------------------------------------------------------------

result<std::pair<std::vector<char>, std::uint64_t>>
mapped_region::readline(std::int64_t offset, std::int64_t size, bool incl_newline) const {
  if (auto st = check_usable("readline", false); !st)
    return std::move(st).error();
  if (offset < 0)
    return fail(EINVAL, "readline", "negative offset");
  if (size < -1)
    return fail(EINVAL, "readline", "negative size");
  auto begin = static_cast<std::uint64_t>(offset);
  if (begin >= size_ || size == 0)
    return std::pair{std::vector<char>{}, begin};
  auto end = begin + std::min(size_ - begin, limit_of(size));
  auto at = line_end(begin, end, "readline");
  if (!at)
    return std::move(at).error();
  auto stop = *at == end ? end : *at + (incl_newline ? 1 : 0);
  auto line = copy_out(begin, stop, "readline");
  if (!line)
    return std::move(line).error();
  return std::pair{std::move(*line), *at == end ? end : *at + 1};
}

result<std::vector<std::vector<char>>> mapped_region::readlines(std::int64_t hint) const {
  if (auto st = check_usable("readlines", false); !st)
    return std::move(st).error();
  if (hint < -1)
    return fail(EINVAL, "readlines", "negative hint");
  std::vector<std::vector<char>> lines;
  std::uint64_t pos = 0;
  while (pos < size_) {
    auto at = line_end(pos, size_, "readlines");
    if (!at)
      return std::move(at).error();
    auto end = *at == size_ ? size_ : *at + 1;
    auto line = copy_out(pos, end, "readlines");
    if (!line)
      return std::move(line).error();
    lines.push_back(std::move(*line));
    pos = end;
    if (hint > 0 && pos >= static_cast<std::uint64_t>(hint)) // lines so far total `pos` bytes
      break;
  }
  return lines;
}

result<std::pair<std::vector<std::vector<char>>, std::uint64_t>>
mapped_region::lines_from(std::int64_t offset, std::uint64_t max_bytes) const {
  if (auto st = check_usable("lines_from", false); !st)
    return std::move(st).error();
  if (offset < 0)
    return fail(EINVAL, "lines_from", "negative offset");
  std::vector<std::vector<char>> lines;
  auto pos = static_cast<std::uint64_t>(offset);
  if (pos >= size_)
    return std::pair{std::move(lines), size_};
  std::uint64_t total = 0;
  while (pos < size_) {
    auto at = line_end(pos, size_, "lines_from");
    if (!at)
      return std::move(at).error();
    auto end = *at == size_ ? size_ : *at + 1;
    if (!lines.empty() && end - pos > max_bytes - total)
      break;
    auto line = copy_out(pos, end, "lines_from");
    if (!line)
      return std::move(line).error();
    lines.push_back(std::move(*line));
    total += end - pos;
    pos = end;
    if (total >= max_bytes)
      break;
  }
  return std::pair{std::move(lines), pos};
}

result<std::pair<std::vector<char>, std::uint64_t>>
mapped_region::read_until(std::string_view delim, std::int64_t offset, std::int64_t maxsize) const {
  if (auto st = check_usable("read_until", false); !st)
    return std::move(st).error();
  if (offset < 0)
    return fail(EINVAL, "read_until", "negative offset");
  if (maxsize < -1)
    return fail(EINVAL, "read_until", "negative maxsize");
  if (delim.empty())
    return fail(EINVAL, "read_until", "empty delimiter");
  auto begin = static_cast<std::uint64_t>(offset);
  if (begin >= size_ || maxsize == 0)
    return std::pair{std::vector<char>{}, begin};
  auto end = begin + std::min(size_ - begin, limit_of(maxsize));
  auto at = find_guarded(delim, begin, end, "read_until");
  if (!at)
    return std::move(at).error();
  auto stop = *at == end ? end : *at + delim.size();
  auto bytes = copy_out(begin, stop, "read_until");
  if (!bytes)
    return std::move(bytes).error();
  return std::pair{std::move(*bytes), stop};
}

result<std::uint64_t> mapped_region::writelines(const std::vector<std::vector<char>>& lines,
                                                std::string_view sep, std::int64_t offset) {
  if (auto st = check_usable("writelines", true); !st)
    return std::move(st).error();
  if (offset < 0)
    return fail(EINVAL, "writelines", "negative offset");
  auto begin = static_cast<std::uint64_t>(offset);
  std::uint64_t total = 0;
  for (const auto& line : lines)
    total += line.size() + sep.size();
  if (total == 0)
    return begin;
  // One growth for everything, then the pieces in place: no joined copy of the lines.
  if (auto st = grow_to(begin + total, "writelines"); !st)
    return std::move(st).error();
  auto pos = begin;
  auto st = guard_write("writelines", [&] {
    for (const auto& line : lines) {
      copy_in(pos, line.data(), line.size());
      pos += line.size();
      copy_in(pos, sep.data(), sep.size());
      pos += sep.size();
    }
  });
  if (!st)
    return std::move(st).error();
  return pos;
}

// ---- editing -------------------------------------------------------------------------------

result<std::uint64_t> mapped_region::insert(std::string_view data, std::int64_t offset) {
  if (auto st = check_usable("insert", true); !st)
    return std::move(st).error();
  if (offset < 0)
    return fail(EINVAL, "insert", "negative offset");
  auto begin = static_cast<std::uint64_t>(offset);
  if (data.empty())
    return size_;
  if (begin >= size_) {
    if (auto r = store(data.data(), data.size(), begin, "insert"); !r)
      return std::move(r).error();
    return size_;
  }
  auto old_size = size_;
  if (auto st = grow_to(old_size + data.size(), "insert"); !st)
    return std::move(st).error();
  auto st = guard_write("insert", [&] {
    move_within(begin + data.size(), begin, old_size - begin);
    copy_in(begin, data.data(), data.size());
  });
  if (!st)
    return std::move(st).error();
  return size_;
}

result<std::uint64_t> mapped_region::erase(std::int64_t offset, std::int64_t size) {
  if (auto st = check_usable("erase", true); !st)
    return std::move(st).error();
  if (offset < 0)
    return fail(EINVAL, "erase", "negative offset");
  if (size < 0)
    return fail(EINVAL, "erase", "negative size");
  auto begin = static_cast<std::uint64_t>(offset);
  if (begin >= size_ || size == 0)
    return std::uint64_t{0};
  auto n = std::min(size_ - begin, static_cast<std::uint64_t>(size));
  if (auto st = guard_write("erase", [&] { move_within(begin, begin + n, size_ - begin - n); });
      !st)
    return std::move(st).error();
  if (auto st = set_size(size_ - n, "erase"); !st)
    return std::move(st).error();
  return n;
}

result<std::uint64_t> mapped_region::replace(std::string_view old_bytes, std::string_view new_bytes,
                                             std::int64_t offset, std::int64_t count) {
  if (auto st = check_usable("replace", true); !st)
    return std::move(st).error();
  if (offset < 0)
    return fail(EINVAL, "replace", "negative offset");
  if (count < -1)
    return fail(EINVAL, "replace", "negative count");
  if (old_bytes.empty())
    return fail(EINVAL, "replace", "empty pattern");
  auto begin = static_cast<std::uint64_t>(offset);
  auto limit = limit_of(count);
  if (begin >= size_ || limit == 0)
    return std::uint64_t{0};
  const auto old_len = old_bytes.size();
  const auto new_len = new_bytes.size();
  if (new_len <= old_len) {
    // Not growing: one forward pass. The write cursor never passes the read cursor, and the
    // search only looks at or after the read cursor, so it always sees original bytes.
    std::uint64_t read = begin, write = begin, done = 0;
    auto st = guard_write("replace", [&] {
      while (done < limit) {
        auto at = find_in(old_bytes, read, size_);
        if (at == size_)
          break;
        move_within(write, read, at - read);
        write += at - read;
        copy_in(write, new_bytes.data(), new_len);
        write += new_len;
        read = at + old_len;
        ++done;
      }
      if (done > 0)
        move_within(write, read, size_ - read);
    });
    if (!st)
      return std::move(st).error();
    if (done == 0)
      return std::uint64_t{0};
    write += size_ - read;
    if (write != size_) {
      if (auto st = set_size(write, "replace"); !st)
        return std::move(st).error();
    }
    return done;
  }
  // Growing: find every match first (the result size depends on their number), grow once, then
  // rebuild backwards from the end so each byte moves once and nothing unread is overwritten.
  std::vector<std::uint64_t> hits;
  for (auto read = begin; hits.size() < limit;) {
    auto at = find_guarded(old_bytes, read, size_, "replace");
    if (!at)
      return std::move(at).error();
    if (*at == size_)
      break;
    hits.push_back(*at);
    read = *at + old_len;
  }
  if (hits.empty())
    return std::uint64_t{0};
  auto old_size = size_;
  auto new_size = old_size + hits.size() * (new_len - old_len);
  if (auto st = grow_to(new_size, "replace"); !st)
    return std::move(st).error();
  auto st = guard_write("replace", [&] {
    auto read_end = old_size;
    auto write_end = new_size;
    for (auto it = hits.rbegin(); it != hits.rend(); ++it) {
      auto tail = *it + old_len;
      write_end -= read_end - tail;
      move_within(write_end, tail, read_end - tail);
      write_end -= new_len;
      copy_in(write_end, new_bytes.data(), new_len);
      read_end = *it;
    }
  });
  if (!st)
    return std::move(st).error();
  return std::uint64_t{hits.size()};
}

result<std::uint64_t> mapped_region::fill(std::string_view pattern, std::int64_t offset,
                                          std::int64_t count) {
  if (auto st = check_usable("fill", true); !st)
    return std::move(st).error();
  if (offset < 0)
    return fail(EINVAL, "fill", "negative offset");
  if (count < 0)
    return fail(EINVAL, "fill", "negative count");
  if (pattern.empty() || count == 0)
    return std::uint64_t{0};
  auto begin = static_cast<std::uint64_t>(offset);
  auto room = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) - begin;
  if (static_cast<std::uint64_t>(count) > room / pattern.size())
    return fail(EFBIG, "fill", "offset + pattern size * count too large");
  auto total = pattern.size() * static_cast<std::uint64_t>(count);
  if (auto st = grow_to(begin + total, "fill"); !st)
    return std::move(st).error();
  // A chunk of whole repetitions (about 64 KiB), copied as often as needed.
  auto reps = std::min<std::uint64_t>(std::max<std::uint64_t>(1, 65536 / pattern.size()),
                                      static_cast<std::uint64_t>(count));
  std::string chunk;
  chunk.reserve(reps * pattern.size());
  for (std::uint64_t i = 0; i < reps; ++i)
    chunk.append(pattern);
  auto st = guard_write("fill", [&] {
    for (std::uint64_t done = 0; done < total;) {
      auto piece = std::min<std::uint64_t>(chunk.size(), total - done);
      copy_in(begin + done, chunk.data(), piece);
      done += piece;
    }
  });
  if (!st)
    return std::move(st).error();
  return total;
}

result<std::uint64_t> mapped_region::copy_within(std::int64_t dst, std::int64_t src,
                                                 std::int64_t size) {
  if (auto st = check_usable("copy_within", true); !st)
    return std::move(st).error();
  if (src < 0 || dst < 0)
    return fail(EINVAL, "copy_within", "negative offset");
  if (size < -1)
    return fail(EINVAL, "copy_within", "negative size");
  auto from = static_cast<std::uint64_t>(src);
  auto to = static_cast<std::uint64_t>(dst);
  if (from >= size_ || size == 0)
    return std::uint64_t{0};
  auto n = std::min(size_ - from, limit_of(size));
  // Growing only adds bytes past the old end, so the source range is intact afterwards.
  if (auto st = grow_to(to + n, "copy_within"); !st)
    return std::move(st).error();
  if (auto st = guard_write("copy_within", [&] { move_within(to, from, n); }); !st)
    return std::move(st).error();
  return n;
}

status mapped_region::move(std::int64_t dest, std::int64_t src, std::int64_t count) {
  if (auto st = check_usable("move", true); !st)
    return st;
  if (dest < 0 || src < 0 || count < 0)
    return fail(EINVAL, "move", "negative argument");
  auto d = static_cast<std::uint64_t>(dest);
  auto s = static_cast<std::uint64_t>(src);
  auto n = static_cast<std::uint64_t>(count);
  if (n > size_ || s > size_ - n || d > size_ - n)
    return fail(EINVAL, "move", "source, destination, or count out of range");
  return guard_write("move", [&] { move_within(d, s, n); });
}

result<std::uint64_t> mapped_region::compact() {
  if (auto st = check_usable("compact", true); !st)
    return std::move(st).error();
  // Backwards: single bytes down to a word boundary (base_ is page-aligned), then whole words,
  // then the bytes of the last non-zero word.
  auto end = size_;
  auto st = guard("compact", [&] {
    bool found = false;
    while (end % 8 != 0 && !found) {
      if (base_[end - 1] != 0)
        found = true;
      else
        --end;
    }
    if (!found) {
      while (end >= 8) {
        std::uint64_t word;
        std::memcpy(&word, base_ + end - 8, 8);
        if (word != 0)
          break;
        end -= 8;
      }
      while (end > 0 && base_[end - 1] == 0)
        --end;
    }
  });
  if (!st)
    return std::move(st).error();
  auto removed = size_ - end;
  if (removed == 0)
    return std::uint64_t{0};
  if (auto st = set_size(end, "compact"); !st)
    return std::move(st).error();
  return removed;
}

// ---- searching -----------------------------------------------------------------------------

result<std::int64_t> mapped_region::find(std::string_view sub, std::int64_t start,
                                         std::int64_t end) const {
  if (auto st = check_usable("find", false); !st)
    return std::move(st).error();
  if (start < 0)
    return fail(EINVAL, "find", "negative start");
  if (end < -1)
    return fail(EINVAL, "find", "negative end");
  auto lim = std::min(size_, limit_of(end));
  auto from = static_cast<std::uint64_t>(start);
  if (from > lim)
    return std::int64_t{-1};
  if (sub.empty())
    return static_cast<std::int64_t>(from);
  auto at = find_guarded(sub, from, lim, "find");
  if (!at)
    return std::move(at).error();
  return *at == lim ? std::int64_t{-1} : static_cast<std::int64_t>(*at);
}

result<std::int64_t> mapped_region::rfind(std::string_view sub, std::int64_t start,
                                          std::int64_t end) const {
  if (auto st = check_usable("rfind", false); !st)
    return std::move(st).error();
  if (start < 0)
    return fail(EINVAL, "rfind", "negative start");
  if (end < -1)
    return fail(EINVAL, "rfind", "negative end");
  auto lim = std::min(size_, limit_of(end));
  auto from = static_cast<std::uint64_t>(start);
  if (from > lim)
    return std::int64_t{-1};
  if (sub.empty())
    return static_cast<std::int64_t>(lim);
  if (lim - from < sub.size())
    return std::int64_t{-1};
  // Candidates are [from, lim - sub.size()]: anchor on the first byte with memrchr, then compare.
  const char* low = base_ + from;
  std::size_t span = lim - sub.size() + 1 - from;
  std::int64_t found = -1;
  auto st = guard("rfind", [&] {
    while (span > 0) {
      const void* hit = ::memrchr(low, sub.front(), span);
      if (hit == nullptr)
        break;
      auto at = static_cast<std::size_t>(static_cast<const char*>(hit) - low);
      if (std::memcmp(hit, sub.data(), sub.size()) == 0) {
        found = static_cast<std::int64_t>(from + at);
        break;
      }
      span = at;
    }
  });
  if (!st)
    return std::move(st).error();
  return found;
}

result<std::pair<std::vector<std::uint64_t>, std::uint64_t>>
mapped_region::search(std::string_view pattern, std::int64_t offset, std::int64_t max_results,
                      bool overlapping) const {
  if (auto st = check_usable("search", false); !st)
    return std::move(st).error();
  if (offset < 0)
    return fail(EINVAL, "search", "negative offset");
  if (max_results < -1)
    return fail(EINVAL, "search", "negative max_results");
  if (pattern.empty())
    return fail(EINVAL, "search", "empty pattern");
  auto limit = limit_of(max_results);
  auto pos = std::min(size_, static_cast<std::uint64_t>(offset));
  std::vector<std::uint64_t> hits;
  const std::uint64_t step = overlapping ? 1 : pattern.size();
  while (hits.size() < limit) {
    auto at = find_guarded(pattern, pos, size_, "search");
    if (!at)
      return std::move(at).error();
    if (*at == size_) {
      pos = size_;
      break;
    }
    hits.push_back(*at);
    pos = *at + step;
  }
  return std::pair{std::move(hits), pos};
}

status mapped_region::close() {
  if (!is_open())
    return ok_status();
  auto flushed = flush();
  unmap();
  // close() is not retried on EINTR: on Linux the descriptor is gone either way.
  if (::close(fd_.release()) != 0) {
    int err = errno;
    return remember(fail(err, "close"));
  }
  return flushed;
}

} // namespace actorio::detail
