#pragma once

#include <cstdint>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <string_view>

#include "actorio/messages/interfaces.hpp"

namespace actorio {

namespace detail {
struct runtime_core;
} // namespace detail

/// A handle to one open memory map, as `mmap_manager::open`/`create`/`create_sparse` return it.
///
/// Copies share one reference: the map is released when the last copy goes or when `close()` is
/// called, and unmapped when every handle to the same (path, mode) is released. Each call is one
/// request to the map's actor; calls on one map are applied in the order they arrive, so a
/// read sees every write whose future completed before it was sent.
///
/// Errors arrive through the future as `actorio::io_error` (errno + path). Offsets and sizes are
/// signed only so that -1 can mean "to the end"; other negative values fail with EINVAL. Calls
/// after `close()` fail with EBADF. No call throws synchronously.
///
/// Thread-safety: every method may be called from any thread at the same time.
class mapped_file {
public:
  /// An empty handle; every call fails with EBADF.
  mapped_file() = default;

  /// The path as given to `open`, `create` or `create_sparse` (or, from `open_files`, as the
  /// manager normalized it).
  const std::filesystem::path& path() const noexcept;

  /// "r+b" (open), "rb" (read-only open), "w+b" (create) or "x+b" (exclusive create).
  const std::string& mode() const noexcept;

  /// Up to `size` bytes from `offset` (-1: to the end). Reading at or past the end gives fewer
  /// bytes, or none; a short read is not an error.
  std::future<bytes> read(std::int64_t offset = 0, std::int64_t size = -1) const;

  /// Writes `data` at `offset`, growing the file as needed (a gap is zero-filled); returns the
  /// number of bytes written. EBADF on a read-only map.
  std::future<std::uint64_t> write(std::string_view data, std::int64_t offset = 0) const;

  /// Sets the file size (0 allowed); returns the new size. EBADF on a read-only map.
  std::future<std::uint64_t> resize(std::int64_t new_size) const;

  /// The current file size.
  std::future<std::uint64_t> size() const;

  /// Starts write-back of written pages to the device without waiting (msync MS_ASYNC). Writes
  /// are visible to every reader of the file at once, flushed or not.
  std::future<void> flush() const;

  /// Waits until written data and the file's metadata are on the device (msync MS_SYNC + fsync).
  std::future<void> sync() const;

  /// Lower-case hex digest of the whole file; `algorithm` "" means the runtime's default.
  std::future<std::string> checksum(std::string algorithm = {}) const;

  /// Releases this handle's reference (shared by its copies). The future completes once the map
  /// is unmapped, if this was its last reference. A second call is a no-op.
  std::future<void> close();

  /// True once `close()` was called on this handle or a copy of it.
  bool closed() const noexcept;

  /// The map's actor, for code that talks to it by message.
  mapped_file_actor actor() const;

  /// Builds a handle around a reference the manager handed out. Used by `mmap_manager`.
  static mapped_file adopt(std::shared_ptr<detail::runtime_core> core, mapped_file_actor file,
                           std::filesystem::path path, std::string mode);

private:
  struct state;

  /// One request to the map's actor, or EBADF if this handle was closed.
  template <class Reply, class... Ts>
  std::future<Reply> ask(const char* op, Ts&&... xs) const;

  std::shared_ptr<state> state_;
};

} // namespace actorio
