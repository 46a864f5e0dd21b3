#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "actorio/messages/byte_pieces.hpp"
#include "actorio/modes.hpp"
#include "actorio/result.hpp"

namespace actorio {

/// Raw bytes as they travel in messages. `std::vector<char>` because CAF 0.17 serializes it as
/// one block (a `std::vector<std::byte>` goes element by element).
using bytes = std::vector<char>;

/// Bytes to place at an offset: initial content for `create_sparse`, one write of `bulk_write`.
struct chunk {
  std::int64_t offset = 0;
  bytes data;
};

/// A live map as the manager reports it (`open_mmaps`).
struct map_info {
  /// The normalized path the map was opened under.
  std::string path;
  /// The mode it was opened in.
  open_mode mode = open_mode::read_write;
  /// The file size, i.e. the bytes a reader sees.
  std::uint64_t size = 0;
  /// Bytes of address space the map occupies (page-rounded, may exceed `size`).
  std::uint64_t mapped_length = 0;
  /// The file's last modification (its mtime) in nanoseconds since the Unix epoch, as the file
  /// says at the time of asking: what a server needs for Last-Modified and ETag.
  std::int64_t modified_ns = 0;
  /// The file's hard links now: 0 once the path no longer names it (deleted, or replaced by a
  /// rename) while the map still holds it, so a server can tell that its map went stale.
  std::uint64_t links = 0;
};

/// A range of a file to read; `size` -1 means to the end.
struct byte_range {
  std::int64_t offset = 0;
  std::int64_t size = -1;
};

/// One file of `bulk_read`: the listed ranges, or the whole file when `whole` is set.
struct read_job {
  std::string path;
  std::vector<byte_range> ranges;
  bool whole = false;
};

/// One file of `bulk_write`: its chunks, written in order.
struct write_job {
  std::string path;
  std::vector<chunk> chunks;
};

/// One file of `bulk_resize`.
struct resize_job {
  std::string path;
  std::int64_t size = 0;
};

/// One copy of `bulk_copy`.
struct copy_job {
  std::string src;
  std::string dst;
};

/// What a copy's destination names.
enum class copy_target : std::uint8_t {
  /// The file to create or replace.
  file,
  /// An existing directory (or a symlink to one) to copy into, under the source's file name;
  /// ENOTDIR (ENOENT if missing) otherwise.
  directory,
  /// cp's rule: `directory` if the destination is an existing directory, else `file`.
  file_or_directory,
};

/// How `copy_file` and `bulk_copy` copy.
struct copy_options {
  /// The data and the directory entry are on the device when the copy completes (fsync of the
  /// file, then of its directory after the rename).
  bool flush = false;
  /// Compare a digest of the source with one of the copy before it gets its name; a mismatch
  /// fails with EIO and leaves no destination.
  bool verify = false;
  /// An existing destination file is replaced, atomically: the complete copy is renamed over it.
  /// Without it an existing destination fails with EEXIST and stays untouched.
  bool replace = false;
  /// What the destination names.
  copy_target target = copy_target::file;
};

/// One file of `find_in_files`, searched from `start`.
struct find_job {
  std::string path;
  std::int64_t start = 0;
};

/// A file's size before and after a change (`compact_files`).
struct size_change {
  std::uint64_t old_size = 0;
  std::uint64_t new_size = 0;
  bool operator==(const size_change&) const = default;
};

/// What `walk` lists beneath a directory: the regular files. FIFOs, sockets and devices met in
/// the walk are skipped. The globs are fnmatch(3) patterns matched against base names, and apply
/// to what is met in the walk, never to the directory walked from.
struct walk_options {
  /// Follow symbolic links met in the walk (to files and directories), refusing a directory
  /// that is its own ancestor (ELOOP). Without it they are skipped; the directory walked from is
  /// followed either way.
  bool follow_symlinks = false;
  /// Only files whose base name matches one of these (all files when empty).
  std::vector<std::string> include;
  /// No file whose base name matches one of these.
  std::vector<std::string> exclude;
  /// No directory whose base name matches one of these, nor anything beneath it.
  std::vector<std::string> exclude_dir;
  /// Most files one page holds; 0 means 4096.
  std::uint32_t page_size = 0;
};

/// One page of `walk`: files in byte order of their paths (as `LC_ALL=C sort` orders them).
struct walk_page {
  /// The directory's path as given, joined with each file's path beneath it.
  std::vector<std::string> files;
  /// What could not be listed (an unreadable directory, a dangling or refused symlink, a
  /// directory loop), each with errno and path; the walk went on past each.
  std::vector<failure> errors;
  /// Where the next page starts: pass it as `after` to continue.
  std::string next;
  /// No file is left after this page.
  bool done = false;
};

/// How far a bulk operation has got. A total is 0 while still unknown.
struct progress {
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;
  std::uint64_t items_done = 0;
  std::uint64_t items_total = 0;
  bool operator==(const progress&) const = default;
};

/// The last argument of every bulk request: send `(progress_atom, request id, progress)` to the
/// requester at most every `every_ms` milliseconds while it runs, and once before the reply; 0
/// sends none. The request id is the request's message id without its flag bits
/// (`caf::message_id::request_id_mask`), as the requester's `response_handle::id()` gives it.
struct report_progress {
  std::uint32_t every_ms = 0;
};

/// How `copy_between` and `cluster::copy` move a file from one node to another.
struct node_copy_options {
  /// Compare sha256 digests computed on each node, the source's and the staged copy's before it
  /// gets its name: a mismatch fails with EIO and leaves no destination.
  bool verify = false;
  /// fsync the copy before it gets its name, and its directory after, as `copy_file`'s `flush`
  /// does: without it the new name still appears atomically, but a crash soon after may lose it.
  bool flush = false;
  /// Bytes per read from the source and per write to the destination (> 0). Every process on
  /// the way holds a few chunks, each also in its network buffers: small chunks keep every
  /// process small, and many of them in flight keep the connections busy.
  std::size_t chunk_bytes = std::size_t{256} << 10;
  /// Chunks in flight per direction (> 0): the copy holds at most about 2 x window x chunk_bytes
  /// of the file in memory, whatever its size; reads wait for writes to be acknowledged.
  std::size_t window = 16;
  /// Longest a wait for one step (the source's size, one chunk read or written, the staging)
  /// may take: ETIMEDOUT naming the node then. 0: no limit. The commit (with its digest of the
  /// copy) is bounded by the destination's own request timeout.
  std::chrono::milliseconds step_timeout{std::chrono::seconds(30)};
};

} // namespace actorio
