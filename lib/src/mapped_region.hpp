#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "actorio/result.hpp"
#include "lib/src/unique_fd.hpp"

namespace actorio::detail {

/// How a file is opened, as the original spells it.
enum class open_mode {
  read_write,       ///< "r+b": the file must exist.
  read_only,        ///< "rb": the file must exist; writes fail with EBADF.
  create,           ///< "w+b": created or truncated.
  create_exclusive, ///< "x+b": created; EEXIST if it exists.
};

/// Parses "r+b", "rb", "w+b" or "x+b"; anything else is EINVAL.
result<open_mode> parse_open_mode(std::string_view text);
std::string_view to_string(open_mode mode);

/// One file and its shared mapping: a plain, single-threaded object that knows nothing of actors.
/// Blocking calls (open, ftruncate, msync, fsync, page faults) happen in whatever thread calls it.
///
/// The mapping may be longer than the file (capacity grows geometrically so that appends do not
/// remap each time); nothing past `size()` is ever touched. A 0-byte file has no mapping until it
/// grows. Offsets are never negative: negative values are refused with EINVAL.
class mapped_region {
public:
  /// Opens `path` in `mode`: "r+b" grows the file to `init_size` if smaller (never shrinks), "w+b"
  /// and "x+b" set it to exactly `init_size`, "rb" refuses a growing `init_size` with EINVAL. The
  /// path must name a regular file (EISDIR for a directory).
  static result<mapped_region> open(const std::string& path, open_mode mode,
                                    std::int64_t init_size, bool minimize_writes);

  mapped_region(mapped_region&& other) noexcept;
  mapped_region& operator=(mapped_region&& other) noexcept;
  mapped_region(const mapped_region&) = delete;
  mapped_region& operator=(const mapped_region&) = delete;
  /// Unmaps and closes without reporting errors; call close() to see them.
  ~mapped_region();

  const std::string& path() const noexcept { return path_; }
  open_mode mode() const noexcept { return mode_; }
  std::uint64_t size() const noexcept { return size_; }
  std::uint64_t mapped_length() const noexcept { return capacity_; }
  bool is_open() const noexcept { return static_cast<bool>(fd_); }
  int fd() const noexcept { return fd_.get(); }

  /// Up to `size` bytes from `offset` (`size` -1: to the end); empty at or past the end.
  result<std::vector<char>> read(std::int64_t offset, std::int64_t size) const;
  /// Copies `data` to `offset`, growing the file (zero-filled gap) as needed. With
  /// minimize_writes, pages whose bytes already match are not written (and so not dirtied).
  result<std::uint64_t> write(const char* data, std::size_t size, std::int64_t offset);
  /// Sets the file size to `new_size` (0 allowed), remapping as needed.
  result<std::uint64_t> resize(std::int64_t new_size);
  /// Grows the file to at least `min_size`; never shrinks. Serves a later open's `init_size`, so
  /// its failures read as "open": EINVAL for a negative size or one that would grow a read-only
  /// file.
  result<std::uint64_t> grow(std::int64_t min_size);
  /// Starts write-back of dirty pages (msync MS_ASYNC).
  status flush();
  /// Waits until data and metadata are on the device (msync MS_SYNC, then fsync).
  status sync();
  /// Starts write-back (as flush), unmaps and closes; a second call is a no-op. Reports an error of
  /// either step (e.g. EIO from close); the file is closed regardless.
  status close();

private:
  mapped_region(std::string path, open_mode mode, unique_fd fd, bool minimize_writes);
  status set_size(std::uint64_t new_size, const char* op);
  status ensure_mapped(std::uint64_t length, const char* op);
  failure fail(int code, const char* op, std::string detail = {}) const;
  void unmap() noexcept;

  std::string path_;
  open_mode mode_;
  unique_fd fd_;
  bool minimize_writes_;
  char* base_ = nullptr;
  std::uint64_t size_ = 0;
  std::uint64_t capacity_ = 0;
};

} // namespace actorio::detail
