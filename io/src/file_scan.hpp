#pragma once

#include "actorio/messages/types.hpp"
#include "actorio/result.hpp"
#include "io/src/path_sandbox.hpp"
#include "io/src/pattern_set.hpp"
#include "io/src/work_control.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace actorio::detail {

// Helpers for bulk operations over many files on io worker threads. They read and write with
// pread/pwrite through bounded buffers, and find_in_file maps large files a chunk at a time under
// a SIGBUS guard: a file truncated by another process mid-operation then yields a short read or
// an error instead of SIGBUS, and peak memory stays bounded for files of any size. Every function
// opens `path` with O_CLOEXEC, refuses a directory with EISDIR and any other non-regular file with
// EINVAL, and reports failures as failure{errno, OP, path, detail} with the op named in its
// description.

/// Bytes read per step; also the search window.
inline constexpr std::size_t scan_window = std::size_t{8} << 20;

/// The most of a file find_in_file maps at a time. Each munmap makes every other core running
/// the process flush its TLB (an interrupt, costly in a virtual machine), so larger chunks search
/// faster: 16 × 64 MiB on two workers took 57 ms with 16 MiB chunks against 73 ms with 4 MiB ones.
inline constexpr std::size_t max_map_chunk = std::size_t{16} << 20;

/// The map_chunk for `workers` threads searching at once: together they map at most 32 MiB (a
/// map's pages count in the process's RSS), each from 4 MiB to max_map_chunk at a time.
std::size_t map_chunk_for(std::size_t workers);

/// What `find_in_file` looks for besides the pattern.
struct find_options {
  /// Hits start at or after `start` and before `end`; the scan reads up to pattern.size() - 1
  /// bytes past `end` to complete a hit starting just before it.
  std::uint64_t start = 0;
  std::uint64_t end = std::numeric_limits<std::uint64_t>::max();
  /// At most this many hits; 0 = no limit.
  std::uint64_t max_results = 0;
  /// After a hit at p the scan continues at p+1 when overlapping, else at p+pattern.size().
  bool overlapping = false;
  std::size_t window = scan_window;
  /// A file with a window or more of bytes to search is mapped this many bytes at a time
  /// instead of read (0: always read), unless its patterns cannot survive an abandoned search
  /// (pattern_set::survives_abandoned_searches). A file cut short while mapped gives EIO.
  std::size_t map_chunk = max_map_chunk;
  /// Each window counts as progress; a cancel stops the scan (ECANCELED).
  work_control* control = nullptr;
  /// Called with the file's size once it is open, before anything is read; returning false ends
  /// the search there with no hits (a caller that splits large files sizes them this way, without
  /// a second open).
  std::function<bool(std::uint64_t size)> on_open = {};
};

/// Offsets of `pattern` in the file, ascending, as `opts` says. Reads the file in windows of at
/// most `opts.window` bytes (256 KiB for a file larger than one, so each is searched while still
/// in the core's cache) into `buffer` (reused between calls; grown only to what a file needs),
/// carrying the last pattern.size()-1 bytes of each window over into the next, so a hit
/// spanning two windows is found exactly once. A file whose bytes from `start` fit in one
/// `opts.window` is read with one pread of one byte more than its size (seeing fewer means the
/// end); only larger files get a sequential-access hint, or are mapped `opts.map_chunk` bytes at a
/// time up to their size when opened (bytes appended since are read; a file cut short while mapped
/// gives EIO). Empty pattern -> failure{EINVAL, "find", path, ...}; `start` past the end -> no
/// hits. Op "find".
result<std::vector<std::uint64_t>> find_in_file(const std::string& path, std::string_view pattern,
                                                const find_options& opts, std::vector<char>& buffer,
                                                const file_opener& opener = {});

/// As above for several patterns, reported as `grep -F -o -b`: at each offset the longest
/// pattern starting there; a non-overlapping search goes on after that pattern's end. The carry
/// between windows, and the overlap of consecutive mapped chunks, is the longest pattern's length
/// minus one.
result<std::vector<std::uint64_t>> find_in_file(const std::string& path,
                                                const pattern_set& patterns,
                                                const find_options& opts, std::vector<char>& buffer,
                                                const file_opener& opener = {});

/// Whether two occurrences of `pattern` can overlap (it has a proper prefix that is also a
/// suffix, as "aa" or "abab"). When they cannot, the hits in consecutive ranges of a file,
/// searched separately, concatenate to the hits of the whole, overlapping or not.
bool self_overlapping(std::string_view pattern);

/// Truncates the file to one past its last non-zero byte (an all-zero file becomes empty),
/// scanning backwards window by window with pread into `buffer`. Returns the size before and
/// after. A file that shrinks during the scan gives EIO rather than a size computed from bytes
/// that are gone.
/// With a `control`, scanned bytes count as progress and a cancel stops the scan before the
/// truncate (ECANCELED, file unchanged). Op "compact".
result<size_change> compact_file(const std::string& path, std::vector<char>& buffer,
                                 std::size_t window = scan_window, work_control* control = nullptr,
                                 const file_opener& opener = {});

/// Bytes a range of `size` (-1 = to the end) at `offset` reads from a file of `file_size` bytes:
/// clamped at the end, 0 past it; a negative offset counts as 0.
std::uint64_t range_length(std::int64_t offset, std::int64_t size, std::uint64_t file_size);

/// Reads each range with pread into one buffer, as pieces in the ranges' order: short at the end
/// of the file, empty past it. The end is the size at the time of the call, so a file growing
/// meanwhile cannot make a range unbounded. Negative offset or size < -1 -> EINVAL, checked before
/// the file is opened; ENOMEM when the buffer cannot be had. Op "read".
result<byte_pieces> read_ranges(const std::string& path, std::span<const byte_range> ranges,
                                const file_opener& opener = {});

/// One piece to write: `data` at `offset`.
struct write_piece {
  std::int64_t offset = 0;
  std::string_view data;
};

/// The file must exist (ENOENT otherwise; it is opened O_WRONLY, never created). Extends it first
/// (ftruncate; never shrinks it) to the end of the farthest piece so every gap is zero-filled,
/// then pwrites each piece in order (later pieces win where they overlap). Returns the total bytes
/// written. A negative offset -> EINVAL, an end past INT64_MAX -> EFBIG, both checked before the
/// file is opened. Op "write".
result<std::uint64_t> write_pieces(const std::string& path, const std::vector<write_piece>& pieces,
                                   const file_opener& opener = {});

/// ftruncate an existing file to `new_size` (0 allowed, negative -> EINVAL). Returns the new
/// size. Op "resize".
result<std::uint64_t> resize_file(const std::string& path, std::int64_t new_size,
                                  const file_opener& opener = {});

} // namespace actorio::detail
