#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "actorio/messages/types.hpp"
#include "actorio/pending.hpp"

namespace actorio {

namespace detail {
struct runtime_core;
struct facade_access;
} // namespace detail

/// A handle to one open memory map, as `mmap_manager::open`/`create`/`create_sparse` return it.
///
/// Copies share one reference: the map is released when the last copy goes or when `close()` is
/// called, and unmapped when every handle to the same (path, mode) is released. Each call is one
/// request to the map's actor; calls on one map are applied in the order they arrive, and calls
/// made from one thread arrive in the order they were made, so a read sees every write made
/// before it on the same thread, waited for or not. A `read` of at most 1 MiB whose pages are in
/// the page cache, of a map in this process with nothing sent to it unfinished, is done in the
/// calling thread instead (its future is ready on return); reads from several threads then run
/// side by side.
///
/// Each method returns a `pending` (a `std::future` that can hand its result to a callback
/// instead, see pending.hpp; a read done in the calling thread runs a callback attached to it at
/// once). Errors arrive through the future as `actorio::io_error` (errno + path). A size, count or
/// bound left open (`std::nullopt`, the default) means "to the end" or "no limit"; a negative
/// offset, size, count or bound fails with EINVAL. Calls after `close()` fail with EBADF. Calls
/// that would change a read-only map (`open_mode::read_only`) fail with EBADF, or with EROFS when
/// the map comes from a read-only manager (`runtime_config::read_only`, which maps every file
/// read-only). No call throws synchronously.
///
/// Files that change under the map: a call that touches bytes another process truncated away
/// fails with EIO (the kernel's SIGBUS is caught, see runtime.hpp) and the map stays usable; the
/// map's size is the size at open plus this map's own changes, so bytes another process appends
/// are not seen until the file is opened again.
///
/// Thread-safety: every method may be called from any thread at the same time.
class mapped_file {
public:
  /// An empty handle; every call fails with EBADF.
  mapped_file() = default;

  /// The path as given to `open`, `create` or `create_sparse` (or, from `open_files`, as the
  /// manager normalized it).
  const std::filesystem::path& path() const noexcept;

  /// The mode the map was opened in: read_write or read_only (`open`), create or
  /// create_exclusive (`create`, `create_sparse`).
  open_mode mode() const noexcept;

  /// Up to `size` bytes from `offset` (none: to the end). Reading at or past the end gives fewer
  /// bytes, or none; a short read is not an error.
  pending<bytes> read(std::int64_t offset = 0, std::optional<std::int64_t> size = {}) const;

  /// Writes `data` at `offset`, growing the file as needed (a gap is zero-filled); returns the
  /// number of bytes written. EBADF on a read-only map. A write that fails part-way (ENOSPC, EIO)
  /// may have stored any part of `data`, as a failed pwrite may: each byte of the range is then
  /// its old or its new value.
  pending<std::uint64_t> write(std::string_view data, std::int64_t offset = 0) const;

  /// Sets the file size (0 allowed); returns the new size. EBADF on a read-only map.
  pending<std::uint64_t> resize(std::int64_t new_size) const;

  /// The current file size.
  pending<std::uint64_t> size() const;

  /// Starts write-back of the pages holding [offset, offset + size) (none: to the end) without
  /// waiting (msync MS_ASYNC): hands them to the OS, not to the device; alignment to pages is
  /// handled inside. Writes are visible to every reader of the file at once, flushed or not.
  pending<void> flush(std::int64_t offset = 0, std::optional<std::int64_t> size = {}) const;

  /// The durable flush: waits until written data and the file's metadata are on the device
  /// (msync MS_SYNC + fsync; for a map made by `create`, the first sync also fsyncs the directory
  /// so the new name survives a crash).
  ///
  /// Write errors are sticky: once a write through the map (EIO when another process truncated
  /// the file under it, ENOSPC when its filesystem is full), an msync, fsync or close fails, every
  /// later `flush`, `sync` and `close` fails with that first error until `clear_error()`
  /// acknowledges it; a lost write is never followed by a silent success.
  pending<void> sync() const;

  /// Acknowledges the sticky write error (see `sync`); later calls report only their own.
  pending<void> clear_error() const;

  /// Lower-case hex digest of the whole file; `algorithm` "" means the runtime's default.
  pending<std::string> checksum(std::string algorithm = {}) const;

  // -- text -----------------------------------------------------------------------------------
  // `errors` is the policy for bytes that are not UTF-8: strict (the call fails with EILSEQ),
  // replace (each bad sequence becomes U+FFFD) or ignore (bad bytes are dropped).

  /// The bytes of [offset, offset + size) as UTF-8 text.
  pending<std::string> read_str(std::int64_t offset = 0, std::optional<std::int64_t> size = {},
                                utf8_errors errors = utf8_errors::strict) const;

  /// Writes `text` (checked as UTF-8 under `errors`) at `offset`; returns the bytes written.
  pending<std::uint64_t> write_str(std::string text, std::int64_t offset = 0,
                                   utf8_errors errors = utf8_errors::strict) const;

  /// Text (a std::string) goes through write_str, bytes (actorio::bytes) through write.
  pending<std::uint64_t> smart_write(std::variant<std::string, bytes> data, std::int64_t offset = 0,
                                     utf8_errors errors = utf8_errors::strict) const;

  // -- lines ----------------------------------------------------------------------------------

  /// Bytes read from some offset and the offset right after them, to continue from.
  struct read_step {
    bytes data;
    std::uint64_t next_offset = 0;
  };

  /// The line at `offset`, without its '\n' unless `incl_newline`, looking at most `size` bytes
  /// ahead (none: no limit); `next_offset` is where the next line starts, past the '\n'. At or past
  /// the end: no bytes and next_offset == offset.
  pending<read_step> readline(std::int64_t offset = 0, std::optional<std::int64_t> size = {},
                              bool incl_newline = false) const;

  /// Every line of the file split on '\n', each keeping its '\n' (the last may lack one), as
  /// IOBase.readlines does: with `hint` > 0, stops once the lines read total >= hint bytes.
  pending<std::vector<bytes>> readlines(std::int64_t hint = 0) const;

  /// Up to and including the first `delim` from `offset` within `maxsize` bytes (none: no limit),
  /// or all bytes read when there is none. EINVAL for an empty `delim`.
  pending<read_step> read_until(std::string_view delim, std::int64_t offset = 0,
                                std::optional<std::int64_t> maxsize = {}) const;

  /// One page of whole lines (each keeping its '\n') from `offset`, about `max_bytes` long but
  /// at least one line while any remain. Iterate a file of any size by calling again at
  /// `next_offset` until `lines` comes back empty.
  struct lines_page {
    std::vector<bytes> lines;
    std::uint64_t next_offset = 0;
  };
  pending<lines_page> lines(std::int64_t offset = 0,
                            std::uint64_t max_bytes = std::uint64_t{1} << 20) const;

  /// Writes each line followed by `sep`, one after another from `offset`; returns the offset
  /// after the last byte written (where a next writelines would continue).
  pending<std::uint64_t> writelines(std::vector<std::string> lines, std::string_view sep = {},
                                    std::int64_t offset = 0) const;

  // -- editing --------------------------------------------------------------------------------

  /// Inserts `data` at `offset`, shifting the rest up (past the end: the gap is zero-filled);
  /// returns the new size.
  pending<std::uint64_t> insert(std::string_view data, std::int64_t offset) const;

  /// Removes `size` bytes at `offset`, clamped at the end; bytes before
  /// `offset` never move and the file may become empty. Returns the bytes removed.
  pending<std::uint64_t> erase(std::int64_t offset, std::int64_t size) const;

  /// Replaces up to `count` (none: all) non-overlapping occurrences of `old_bytes` at or after
  /// `offset`, left to right; returns how many. EINVAL for an empty `old_bytes`.
  pending<std::uint64_t> replace(std::string_view old_bytes, std::string_view new_bytes,
                                 std::int64_t offset = 0,
                                 std::optional<std::int64_t> count = {}) const;

  /// Writes `pattern` `count` times from `offset`; returns the bytes written.
  pending<std::uint64_t> fill(std::string_view pattern, std::int64_t offset = 0,
                              std::int64_t count = 1) const;

  /// Copies `size` bytes (none: to the end) from `src` to `dest` (overlap is fine; the file grows
  /// if the copy runs past its end); returns the bytes copied. Destination first, as in `move`.
  /// Every error fails the future.
  pending<std::uint64_t> copy_within(std::int64_t dest, std::int64_t src,
                                     std::optional<std::int64_t> size = {}) const;

  /// Copies `count` bytes from `src` to `dest` inside the file, as memmove does (overlap is
  /// fine); both ranges must lie inside the file (EINVAL otherwise) and the size never changes.
  pending<void> move(std::int64_t dest, std::int64_t src, std::int64_t count) const;

  /// Drops trailing NUL bytes (an all-zero file becomes empty); returns the bytes removed.
  pending<std::uint64_t> compact() const;

  // -- comparing --------------------------------------------------------------------------------
  // Ranges are `size` bytes (none: to the end of each file) from `offset_self` here and
  // `offset_other` in `other` (which may be this map). Unequal lengths: the shorter range counts
  // as if padded with zero bytes.

  /// Whether both ranges hold the same bytes (and so have the same length).
  pending<bool> compare(const mapped_file& other, std::optional<std::int64_t> size = {},
                        std::int64_t offset_self = 0, std::int64_t offset_other = 0) const;

  /// The number of differing bits.
  pending<std::uint64_t> hamming_dist(const mapped_file& other,
                                      std::optional<std::int64_t> size = {},
                                      std::int64_t offset_self = 0,
                                      std::int64_t offset_other = 0) const;

  /// The number of differing byte positions.
  pending<std::uint64_t> hamming_dist_bytes(const mapped_file& other,
                                            std::optional<std::int64_t> size = {},
                                            std::int64_t offset_self = 0,
                                            std::int64_t offset_other = 0) const;

  // -- searching --------------------------------------------------------------------------------

  /// Lowest offset of `sub` in [start, end) (none: the end), or none.
  pending<std::optional<std::uint64_t>> find(std::string_view sub, std::int64_t start = 0,
                                             std::optional<std::int64_t> end = {}) const;

  /// Highest offset of `sub` in [start, end) (none: the end), or none.
  pending<std::optional<std::uint64_t>> rfind(std::string_view sub, std::int64_t start = 0,
                                              std::optional<std::int64_t> end = {}) const;

  /// Offsets of `pattern` from `offset`, ascending, at most `max_results` (none: all). After a hit
  /// the search goes on 1 byte further when `overlapping`, else past the hit ("ab" in "xxabxxab":
  /// 2, 6; "aa" in "aaaa": 0, 2, or 0, 1, 2 overlapping). EINVAL for an empty pattern.
  pending<std::vector<std::uint64_t>> search(std::string_view pattern, std::int64_t offset = 0,
                                             std::optional<std::int64_t> max_results = {},
                                             bool overlapping = false) const;

  /// One page of `search` for result sets too large to hold at once: call again with
  /// `offset` = `next_offset` until `hits` comes back empty.
  struct search_page {
    std::vector<std::uint64_t> hits;
    std::uint64_t next_offset = 0;
  };
  pending<search_page> search_page_at(std::string_view pattern, std::int64_t offset,
                                      std::optional<std::int64_t> max_results,
                                      bool overlapping = false) const;

  /// Advice to the kernel for [start, start + length) (none: to the end).
  pending<void> madvise(map_advice advice, std::int64_t start = 0,
                        std::optional<std::int64_t> length = {}) const;

  /// What `stat` reports of the file under the map.
  struct file_status {
    /// Bytes in the file now: another process may have changed it since the map was opened.
    std::uint64_t size = 0;
    /// The last modification, as the file system records it.
    std::chrono::system_clock::time_point modified;
    /// The permission bits.
    std::filesystem::perms permissions = std::filesystem::perms::none;
  };

  /// The file's size, modification time and permissions, from an fstat of the mapped file (so
  /// a rename or unlink of its path since the open does not matter). A failed fstat fails the
  /// future with its errno and the path.
  pending<file_status> stat() const;

  /// Releases this handle's reference (shared by its copies). The future completes once the map
  /// is unmapped, if this was its last reference. A second call is a no-op.
  pending<void> close();

  /// True once `close()` was called on this handle or a copy of it.
  bool closed() const noexcept;

private:
  friend struct detail::facade_access;
  struct state;

  /// One request to the map's actor whose replies pass through `convert`, or EBADF if this
  /// handle was closed.
  template <class... Replies, class Convert, class... Ts>
  auto ask(const char* op, Convert convert, Ts&&... xs) const;

  std::shared_ptr<state> state_;
};

} // namespace actorio
