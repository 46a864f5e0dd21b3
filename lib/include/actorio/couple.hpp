#pragma once

#include <cstddef>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "actorio/modes.hpp"
#include "actorio/operation.hpp"
#include "actorio/result.hpp"

namespace actorio {

namespace detail {
struct couple_shared;
struct facade_access;
} // namespace detail

/// How a couple treats data.
enum class couple_mode {
  /// Raw bytes; sizes count bytes.
  binary,
  /// UTF-8 text: reads return whole characters only, sizes count characters (code points).
  text,
};

/// How `runtime::make_couple` builds a couple.
struct couple_options {
  couple_mode mode = couple_mode::binary;
  /// Text mode, for invalid UTF-8 read or written: strict (EILSEQ), replace (U+FFFD) or ignore
  /// (dropped). A read-side EILSEQ ends the read side: later reads fail the same way.
  utf8_errors errors = utf8_errors::strict;
  /// Bytes asked for per read syscall.
  std::size_t block_size = 64 * 1024;
  /// Output buffered above this goes out at once and `write` waits for room (backpressure).
  std::size_t write_buffer = 64 * 1024;
  /// The couple closes both descriptors when it closes (true), or leaves them open.
  bool owns_fds = true;
};

/// A reader and a writer descriptor joined into one duplex stream, served by one actor (see
/// `couple_actor` in interfaces.hpp). Made by `runtime::make_couple`, `double_ended_*_pipe` and
/// `stdcoup`. Binary and text mode share this one class; reads return `std::string` in both (raw
/// bytes in binary mode, whole UTF-8 characters in text mode).
///
/// Reads wait for data without holding a thread: the couple reads non-blocking blocks of
/// `block_size` bytes and, when nothing is there, the runtime's single reactor thread (epoll)
/// tells it when there is. Calls made from one thread reach the couple in the order they were
/// made, so writes need not be waited for one by one and reads are served in call order; fewer
/// units than asked mean EOF.
/// They have no timeout: each returns an `operation` whose `cancel()` (or drop while pending)
/// withdraws that read at once with ECANCELED, leaving the couple usable and any data that
/// arrives later for the next read. A read whose data the couple has already taken cannot be
/// withdrawn: its cancel does nothing and `get()` returns the data (a read dropped at that moment
/// takes its data with it). Writes are buffered until `flush()` (or until
/// `write_buffer` bytes pile up): the peer sees nothing before. Regular files work too; they
/// never make a read wait.
///
/// Reads return an `operation`, the other calls a `pending`; both can hand their result to a
/// callback instead of a waiting thread (pending.hpp). Errors arrive through the futures as
/// `actorio::io_error` whose `op()` names the method: the
/// OS errno of the read or write (EPIPE when the peer's reader is gone: SIGPIPE never kills the
/// process), EILSEQ for invalid UTF-8 (strict), EBADF after `close()`, ECANCELED for calls still
/// waiting at `close()` or `cancel_reads()`. No method throws synchronously. A buffer passed to
/// `readinto` must stay alive until its operation is ready (after a `cancel()` too: `wait()`).
///
/// `close()` is idempotent and affects only this couple (not the other end of a pipe pair);
/// unflushed output is dropped, so flush first. Copies share the couple; when the last copy of
/// an open couple goes, it is closed.
///
/// Thread-safety: every method may be called from any thread at the same time.
class couple {
public:
  /// An empty handle: every call fails with EBADF.
  couple() = default;

  couple_mode mode() const noexcept;

  /// Up to `n` units (none: everything up to EOF); fewer only at EOF, empty at EOF.
  operation<std::string> read(std::optional<std::int64_t> n = {}) const;

  /// Waits until some data is there, then returns at most `n` units of it (none: all there is);
  /// empty only at EOF.
  operation<std::string> read1(std::optional<std::int64_t> n = {}) const;

  /// Everything up to EOF (i.e. until the peer's writer is closed).
  operation<std::string> readall() const;

  /// Fills `buffer` (fewer bytes only at EOF) -> the bytes stored. Text mode stores whole
  /// characters only: EINVAL if the next character is bigger than the buffer.
  operation<std::size_t> readinto(std::span<std::byte> buffer) const;

  /// As `readinto`, but returns once any data is there (as `read1`).
  operation<std::size_t> readinto1(std::span<std::byte> buffer) const;

  /// One line with its "\n"; at most `limit` units of it (none: no limit); at EOF the rest,
  /// maybe without "\n", then "".
  operation<std::string> readline(std::optional<std::int64_t> limit = {}) const;

  /// Lines (each with its "\n") until their total size reaches `hint` units; `hint <= 0`: every
  /// line up to EOF.
  operation<std::vector<std::string>> readlines(std::int64_t hint = 0) const;

  /// Buffers `data` -> the units taken (text mode: EILSEQ for invalid UTF-8 unless the errors
  /// policy cleans it). Completes once the buffer is below `write_buffer` again. EPIPE once a
  /// write to a peer without reader failed.
  pending<std::uint64_t> write(std::string_view data) const;

  /// Buffers each line as it is (no separator added).
  pending<void> writelines(std::vector<std::string> lines) const;

  /// Writes out everything buffered; completes when the writer descriptor took all of it.
  pending<void> flush() const;

  /// Flushes, then truncates the writer to `size` (none: its current position) -> the new size.
  /// On a pipe the OS refuses: ESPIPE without a size, EINVAL with one.
  pending<std::uint64_t> truncate(std::optional<std::int64_t> size = {}) const;

  /// Writes `prompt` (no newline added), then reads one line and returns it without "\n" or
  /// "\r\n"; a last line without newline is returned too. ENODATA ("end of file") when EOF comes
  /// before any character. With `assert_tty`, fails with ENOTTY before writing the prompt when
  /// the reader is not a terminal.
  operation<std::string> ainput(std::string prompt = "", bool assert_tty = false) const;

  /// Fails every read still waiting with ECANCELED; the couple stays open and usable, and data
  /// that arrives later is kept for the next read.
  pending<void> cancel_reads() const;

  /// Closes the couple: calls still waiting fail with ECANCELED, later calls with EBADF, owned
  /// descriptors are closed (stdcoup's duplicates only, never 0 and 1). A second close is a no-op.
  pending<void> close() const;

  /// Whether `close()` was called on this couple.
  bool closed() const noexcept;

  /// True while open.
  bool readable() const noexcept;
  bool writable() const noexcept;

  /// Always false: a couple has no position.
  static constexpr bool seekable() noexcept {
    return false;
  }

  /// Fail with ESPIPE: a couple has no position.
  result<std::int64_t> seek(std::int64_t offset, int whence = 0) const;
  result<std::int64_t> tell() const;

  /// Fails with EBADF: a couple has two descriptors; use `reader()` or `writer()`.
  result<int> fileno() const;

  /// Fails with ENOTSUP: ambiguous for two descriptors; ask `isatty(reader())` instead.
  result<bool> isatty() const;

  /// The descriptor reads come from, and writes go to (-1 for an empty handle). Still reported
  /// after close, when they may name other files: compare with `closed()` first.
  int reader() const noexcept;
  int writer() const noexcept;

private:
  friend class runtime;
  friend struct detail::facade_access;
  explicit couple(std::shared_ptr<detail::couple_shared> shared);

  std::shared_ptr<detail::couple_shared> shared_;
};

} // namespace actorio
