#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actorio/modes.hpp"
#include "actorio/result.hpp"
#include "io/src/path_sandbox.hpp"
#include "io/src/unique_fd.hpp"

namespace actorio::detail {

/// One file and its shared mapping: a plain, single-threaded object that knows nothing of actors.
/// Blocking calls (open, ftruncate, msync, fsync, page faults) happen in whatever thread calls it.
///
/// Reads and writes go through the mapping under a SIGBUS guard (sigbus_guard.hpp): when another
/// process truncates the file, touching a page past its new end fails that operation with EIO
/// instead of killing the process. size() is the size at open plus this object's own changes; a
/// file grown by someone else is seen only up to that size.
///
/// Write errors are sticky: once a write through the map (EIO after a truncation, ENOSPC on a
/// full filesystem), an msync, fsync or close fails, every later flush, sync and close reports that
/// first failure (after doing its own work) until clear_error() acknowledges it, so a lost write
/// never turns into a silent success.
///
/// The mapping may be longer than the file (capacity grows geometrically so that appends do not
/// remap each time); nothing past `size()` is ever touched. A 0-byte file has no mapping until it
/// grows. Offsets are never negative: negative values are refused with EINVAL.
class mapped_region {
public:
  /// Opens `path` in `mode`: "r+b" grows the file to `init_size` if smaller (never shrinks), "w+b"
  /// and "x+b" set it to exactly `init_size`, "rb" refuses a growing `init_size` with EINVAL. The
  /// path must name a regular file (EISDIR for a directory). The file is opened through `opener`
  /// (beneath a sandbox root if it has one). When "x+b" created the file and it then cannot be
  /// sized or mapped, the file is removed again.
  static result<mapped_region> open(const std::string& path, open_mode mode, std::int64_t init_size,
                                    bool minimize_writes, const file_opener& opener = {});

  mapped_region(mapped_region&& other) noexcept;
  mapped_region& operator=(mapped_region&& other) noexcept;
  mapped_region(const mapped_region&) = delete;
  mapped_region& operator=(const mapped_region&) = delete;
  /// Unmaps and closes without reporting errors; call close() to see them.
  ~mapped_region();

  const std::string& path() const noexcept {
    return path_;
  }
  open_mode mode() const noexcept {
    return mode_;
  }
  std::uint64_t size() const noexcept {
    return size_;
  }
  std::uint64_t mapped_length() const noexcept {
    return capacity_;
  }
  bool is_open() const noexcept {
    return static_cast<bool>(fd_);
  }
  int fd() const noexcept {
    return fd_.get();
  }
  /// What fstat says of the file now.
  struct file_status {
    /// The mtime, in nanoseconds since the Unix epoch.
    std::int64_t modified_ns = 0;
    /// Hard links: 0 once the file was deleted or renamed over.
    std::uint64_t links = 0;
    /// The file's size, which another process may have changed since the map was made.
    std::uint64_t size = 0;
    /// st_mode: the file type and permission bits.
    std::uint32_t mode = 0;
  };
  /// fstat of the mapped file; a failure carries its errno, the path and `op`.
  result<file_status> on_disk(const char* op) const;

  /// Makes the calls that would change a read-only ("rb") map fail with EROFS instead of EBADF:
  /// for a map that is read-only because its whole manager is.
  void refuse_writes_with_erofs() noexcept {
    denied_ = EROFS;
  }

  /// Up to `size` bytes from `offset` (`size` -1: to the end); empty at or past the end.
  result<std::vector<char>> read(std::int64_t offset, std::int64_t size) const;

  /// True when touching [offset, offset + size) of the map (`size` -1: to the end; clamped to
  /// size()) cannot wait for the disk: every page of it is in the page cache (mincore), and the
  /// clamped range is at most `max_bytes` long and spans at most `resident_pages_max` pages.
  /// False for a closed map, negative arguments (the
  /// operation itself reports those) and whatever mincore cannot tell. A page may still be
  /// evicted between this answer and the access; that access then waits, it does not fail.
  bool resident(std::int64_t offset, std::int64_t size, std::uint64_t max_bytes) const noexcept;
  static constexpr std::size_t resident_pages_max = 512;
  /// `read(offset, size)` when it cannot wait for the disk, in one system call: the bytes are
  /// copied from the page cache through the file descriptor (preadv2 RWF_NOWAIT), which sees
  /// exactly what the map holds -> none when some page is not in the page cache, the clamped
  /// range is longer than `max_bytes`, the file is shorter than the map (truncated underneath:
  /// reading through the map reports that), the arguments are invalid (read reports them) or the
  /// filesystem cannot read without waiting (then `resident` decides).
  std::optional<result<std::vector<char>>> read_cached(std::int64_t offset, std::int64_t size,
                                                       std::uint64_t max_bytes) const;
  /// Copies `data` to `offset`, growing the file (zero-filled gap) as needed. With
  /// minimize_writes, pages whose bytes already match are not written (and so not dirtied).
  result<std::uint64_t> write(const char* data, std::size_t size, std::int64_t offset);
  /// Sets the file size to `new_size` (0 allowed), remapping as needed.
  result<std::uint64_t> resize(std::int64_t new_size);
  /// Grows the file to at least `min_size`; never shrinks. Serves a later open's `init_size`, so
  /// its failures read as "open": EINVAL for a negative size or one that would grow a read-only
  /// file.
  result<std::uint64_t> grow(std::int64_t min_size);
  /// Starts write-back of dirty pages (msync MS_ASYNC): to the OS, not to the device.
  status flush();
  /// Starts write-back of the pages holding [offset, offset + size) (`size` -1: to the end); the
  /// range is clamped at size() and widened to whole pages (sysconf page size) here. An empty or
  /// out-of-file range is a no-op. EINVAL for a negative offset or a size below -1.
  status flush(std::int64_t offset, std::int64_t size);
  /// Waits until data and metadata are on the device (msync MS_SYNC, then fsync; on the first
  /// sync of a file opened "w+b" or "x+b", also fsync of its directory, so the new name is durable
  /// too).
  status sync();
  /// Forgets the sticky write error, if any: later flush, sync and close report only their own.
  void clear_error() noexcept;
  /// The sticky write error, if any.
  const std::optional<failure>& sticky_error() const noexcept {
    return sticky_;
  }
  /// Gives the kernel `advice` (MADV_* from <sys/mman.h>) for [start, start + length) (`length`
  /// -1: to the end), clamped at size() and widened to whole pages; an empty or out-of-file range
  /// is a no-op (the advice is still checked). Accepted: NORMAL, RANDOM, SEQUENTIAL, WILLNEED,
  /// DONTNEED, DONTFORK, DOFORK, MERGEABLE, UNMERGEABLE, HUGEPAGE, NOHUGEPAGE, DONTDUMP, DODUMP,
  /// COLD, PAGEOUT, POPULATE_READ, POPULATE_WRITE (where <sys/mman.h> has them). Anything else is
  /// EINVAL, including REMOVE (punches a hole in the file behind the size bookkeeping), FREE,
  /// WIPEONFORK/KEEPONFORK (private anonymous memory only) and HWPOISON/SOFT_OFFLINE.
  status madvise(int advice, std::int64_t start, std::int64_t length);

  // -- lines ---------------------------------------------------------------------------------

  /// One line from `offset`: the bytes up to the next '\n' (included only with `incl_newline`),
  /// looking at most `size` bytes ahead (-1: no limit), and the offset just past what was
  /// consumed (past the '\n' if one was found, else the end of the window). At or past the end,
  /// or with `size` 0: empty, next = offset. On "hello\nworld\n": (0) -> "hello", 6;
  /// (6, 3) -> "wor", 9.
  result<std::pair<std::vector<char>, std::uint64_t>>
  readline(std::int64_t offset, std::int64_t size, bool incl_newline) const;
  /// Every line from offset 0, split on '\n' and each keeping its '\n' (the last may lack one),
  /// like IOBase.readlines: with `hint` > 0, stops once the lines read total >= hint bytes;
  /// `hint` 0 or -1: no limit; below -1: EINVAL. An empty file gives no lines.
  result<std::vector<std::vector<char>>> readlines(std::int64_t hint) const;
  /// Whole lines (each keeping its '\n') from `offset` totalling at most `max_bytes`, but always
  /// at least one line when one remains; and the offset to continue from (== size() at the end;
  /// an offset at or past the end gives no lines and size()).
  result<std::pair<std::vector<std::vector<char>>, std::uint64_t>>
  lines_from(std::int64_t offset, std::uint64_t max_bytes) const;
  /// The bytes from `offset` up to and including the first `delim` lying wholly within `maxsize`
  /// bytes (-1: no limit), and the offset after them; without a match, everything read (up to
  /// `maxsize` bytes) and the offset after it. At or past the end: empty, next = offset. EINVAL
  /// if `delim` is empty.
  result<std::pair<std::vector<char>, std::uint64_t>>
  read_until(std::string_view delim, std::int64_t offset, std::int64_t maxsize) const;
  /// Writes each line followed by `sep` (after every line, the last included), one after another
  /// from `offset`, growing the file as write does; returns the offset after the last byte written
  /// (`offset` itself when there is nothing to write). [ab, cd] with sep "-" at 0 over
  /// ".........." gives "ab-cd-...." and 6.
  result<std::uint64_t> writelines(const std::vector<std::vector<char>>& lines,
                                   std::string_view sep, std::int64_t offset);

  // -- editing -------------------------------------------------------------------------------

  /// Inserts `data` at `offset`, shifting the rest up; at the end it appends, past it the gap is
  /// zero-filled. Empty `data` changes nothing (not even past the end). Returns the new size.
  result<std::uint64_t> insert(std::string_view data, std::int64_t offset);
  /// Removes `size` bytes at `offset`, clamped at the end (bytes before `offset` never move);
  /// the file may become empty. Returns the number of bytes removed (0 at or past the end).
  /// Failures are reported as op "erase". EINVAL for a negative offset or size.
  result<std::uint64_t> erase(std::int64_t offset, std::int64_t size);
  /// Replaces up to `count` (-1: all) non-overlapping occurrences of `old_bytes` at or after
  /// `offset`, scanning left to right in the original bytes (a replacement is never rescanned),
  /// in one pass. Returns the number replaced. EINVAL if `old_bytes` is empty.
  result<std::uint64_t> replace(std::string_view old_bytes, std::string_view new_bytes,
                                std::int64_t offset, std::int64_t count);
  /// Writes `pattern` `count` times from `offset` (growing the file as write does). Returns the
  /// bytes written; an empty pattern or `count` 0 writes nothing. EINVAL for a negative count,
  /// EFBIG if offset + written bytes would exceed INT64_MAX.
  result<std::uint64_t> fill(std::string_view pattern, std::int64_t offset, std::int64_t count);
  /// Copies `size` bytes (-1: to the end) from `src` to `dst` as if through a buffer (overlap is
  /// fine); may grow the file like write. The source is clamped at the size before the copy: a
  /// source at or past the end copies nothing (no growth either). Returns the bytes copied (fewer
  /// if the source ends). On "0123401289", (dst 9, src 8, 5) copies "89" and gives "01234012889".
  result<std::uint64_t> copy_within(std::int64_t dst, std::int64_t src, std::int64_t size);
  /// mmap.move: copies `count` bytes from `src` to `dest` (overlap is fine); both ranges must lie
  /// inside the file (EINVAL otherwise, as for negative arguments); never grows it.
  status move(std::int64_t dest, std::int64_t src, std::int64_t count);
  /// Drops the trailing NUL bytes (an all-zero file becomes empty, unmapped). Returns the bytes
  /// removed.
  result<std::uint64_t> compact();

  // -- searching -----------------------------------------------------------------------------

  /// Lowest offset of `sub` in [start, end) (`end` -1 or past the end: the end), or -1. An empty
  /// `sub` is found at `start` when start <= min(end, size) (as bytes.find), else -1.
  result<std::int64_t> find(std::string_view sub, std::int64_t start, std::int64_t end) const;
  /// Highest such offset, or -1; an empty `sub` is found at min(end, size) when start <= that.
  result<std::int64_t> rfind(std::string_view sub, std::int64_t start, std::int64_t end) const;
  /// Offsets of `pattern` at or after `offset`, ascending, at most `max_results` (-1: no limit).
  /// After a hit at p the scan goes on at p + 1 when `overlapping`, else at p + pattern size.
  /// Also returns where a later call should resume to continue the same scan: the next scan
  /// position after the last hit when `max_results` was reached, size() when the scan ran out
  /// (`max_results` 0: min(offset, size)). EINVAL if `pattern` is empty.
  result<std::pair<std::vector<std::uint64_t>, std::uint64_t>> search(std::string_view pattern,
                                                                      std::int64_t offset,
                                                                      std::int64_t max_results,
                                                                      bool overlapping) const;

  /// Starts write-back (as flush), unmaps and closes; a second call is a no-op. Reports an error of
  /// either step (e.g. EIO from close); the file is closed regardless.
  status close();

private:
  /// `open` once the file is open: checks its type, sizes it and maps it.
  static result<mapped_region> open_opened(const std::string& path, open_mode mode, unique_fd fd,
                                           std::int64_t init_size, bool minimize_writes);

  mapped_region(std::string path, open_mode mode, unique_fd fd, bool minimize_writes);
  status set_size(std::uint64_t new_size, const char* op);
  status ensure_mapped(std::uint64_t length, const char* op);
  failure fail(int code, const char* op, std::string detail = {}) const;
  /// EBADF unless open (and, with `mutating`, writable).
  status check_usable(const char* op, bool mutating) const;
  /// Grows file and mapping to `end` when it is past size(); never shrinks. On failure the file
  /// keeps its size.
  status grow_to(std::uint64_t end, const char* op);
  /// write's body: grows as needed, then copies with copy_in.
  result<std::uint64_t> store(const char* data, std::size_t size, std::uint64_t offset,
                              const char* op);
  /// Copies into [offset, offset + size), which must lie inside size(); with minimize_writes,
  /// page pieces that already match are not stored to.
  void copy_in(std::uint64_t offset, const char* data, std::size_t size) noexcept;
  /// memmove inside [0, size()), honouring minimize_writes like copy_in.
  void move_within(std::uint64_t dst, std::uint64_t src, std::uint64_t size) noexcept;
  /// Lowest offset of `sub` (non-empty) in [begin, end) within size(), or end when absent.
  std::uint64_t find_in(std::string_view sub, std::uint64_t begin,
                        std::uint64_t end) const noexcept;
  void unmap() noexcept;
  /// Runs `fn`, which touches the mapping; EIO (op `op`) if the file shrank under it.
  template <class F>
  status guard(const char* op, F&& fn) const;
  /// As guard, for a store into the mapping: a failure becomes sticky.
  template <class F>
  status guard_write(const char* op, F&& fn);
  /// Keeps the first failure as the sticky error; returns `st`.
  status remember(status st);
  /// The sticky error if there is one, else `st`.
  status with_sticky(status st) const;
  /// A copy of [begin, end) of the mapping.
  result<std::vector<char>> copy_out(std::uint64_t begin, std::uint64_t end, const char* op) const;
  /// find_in under guard.
  result<std::uint64_t> find_guarded(std::string_view sub, std::uint64_t begin, std::uint64_t end,
                                     const char* op) const;
  /// Offset of the first '\n' in [begin, end), or end; under guard.
  result<std::uint64_t> line_end(std::uint64_t begin, std::uint64_t end, const char* op) const;
  status sync_parent_dir() const;

  std::string path_;
  open_mode mode_;
  unique_fd fd_;
  bool minimize_writes_;
  /// errno of a change refused because the map is read-only.
  int denied_ = EBADF;
  char* base_ = nullptr;
  std::uint64_t size_ = 0;
  std::uint64_t capacity_ = 0;
  std::optional<failure> sticky_;
  /// Created by this open ("w+b"/"x+b") and not yet synced: sync also fsyncs the directory.
  bool new_file_ = false;
};

} // namespace actorio::detail
