#pragma once

#include <cstdint>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actorio/mapped_file.hpp"
#include "actorio/operation.hpp"
#include "actorio/result.hpp"

namespace actorio {

/// The memory-mapped file manager, as futures. Each
/// method is one request to the runtime's manager actor. Obtain it from `runtime::manager()`;
/// copies are cheap and talk to the same manager.
///
/// Each method returns a `pending` (a `std::future` that can hand its result to a callback
/// instead, see pending.hpp) or, for bulk calls, an `operation`. Errors arrive through the future
/// as `actorio::io_error` carrying errno and path (ENOENT,
/// EEXIST, EISDIR, ENAMETOOLONG, EINVAL for bad arguments, ETIMEDOUT when no reply comes within
/// the runtime's request timeout, EBADF once the runtime is stopped). No method throws
/// synchronously. Relative paths resolve against the runtime's root directory. A manager confined
/// to it (`runtime_config::confine_to_root`) refuses absolute paths and paths or symlinks leading
/// outside it with EACCES (ELOOP for symlink loops); a read-only one (`read_only`) refuses every
/// change with EROFS.
///
/// Thread-safety: every method may be called from any thread at the same time. Calls made from
/// one thread reach the manager, and each map, in the order they were made.
class mmap_manager {
public:
  /// Maps an existing file. It is never truncated: it grows to `init_size` if smaller and keeps
  /// its size otherwise (`mode` read_write or read_only; create and create_exclusive act as
  /// `create` does). Opening a (path, mode) that is already open returns a handle to the same map.
  pending<mapped_file> open(const std::filesystem::path& path, std::int64_t init_size = 0,
                            open_mode mode = open_mode::read_write) const;

  /// Creates the file at exactly `init_size` bytes (0 is fine) and maps it: create_exclusive when
  /// `exclusive` (EEXIST if it exists), else create (an existing file is truncated). A file made
  /// exclusively that cannot take its size (EFBIG, ENOSPC) or be mapped is removed again.
  pending<mapped_file> create(const std::filesystem::path& path, std::int64_t init_size = 0,
                              bool exclusive = true) const;

  /// Creates a new file (create_exclusive) of `total_size` bytes that stays sparse: only the chunks
  /// are written, in order (later ones win where they overlap; one past `total_size` extends the
  /// file). A failure (a size the filesystem refuses with EFBIG included) removes the half-made
  /// file.
  pending<mapped_file> create_sparse(const std::filesystem::path& path, std::int64_t total_size,
                                     std::vector<chunk> chunks = {}) const;

  /// Copies `src` to `dst` (which must not exist: EEXIST): same bytes, same mode bits, holes kept,
  /// via copy_file_range where the kernel allows. A failed copy leaves no `dst`. With `flush`,
  /// the data and the directory entry are on the device when the future completes. Returns the
  /// number of bytes copied.
  pending<std::uint64_t> copy_file(const std::filesystem::path& src,
                                   const std::filesystem::path& dst, bool flush = false) const;

  /// As copy_file above, with `copy_options` (types.hpp): `verify`: before `dst` gets its name, a
  /// digest (xxh128) of the source is compared with one of the copy; a mismatch fails with EIO
  /// and leaves no `dst`. `replace`: an existing `dst` is replaced atomically (a failure leaves it
  /// as it was); EINVAL if it is the source itself. `target`: `directory` copies into `dst`
  /// under the source's file name (ENOTDIR if `dst` is no directory), `file_or_directory` does
  /// that only if `dst` is a directory (cp's rule). The server decides each of these for a
  /// remote manager.
  pending<std::uint64_t> copy_file(const std::filesystem::path& src,
                                   const std::filesystem::path& dst,
                                   const copy_options& copy) const;

  /// Lower-case hex digest of the file at `path`. `algorithm`: any OpenSSL digest name (sha256,
  /// sha512, sha1, md5, blake2b512, blake2s256, sha3-256, ...), the short spellings blake2b,
  /// blake2s, sha3_256, ..., or xxh64, xxh3, xxh128 (printed as xxhsum prints them); "" means the
  /// runtime's default. An unknown name fails with EINVAL.
  pending<std::string> checksum(const std::filesystem::path& path,
                                std::string algorithm = {}) const;

  // -- staged files ----------------------------------------------------------------------------
  // A new file written under no name in `dst`'s directory, which gets `dst`'s name in one step
  // (replacing what was there) or vanishes: on discard, on a failed commit, and when the process
  // that holds it ends (killed too; where the file system lacks O_TMPFILE a
  // ".<name>.actorio-XXXXXX" temporary is used and only a crash leaves it). A copy between nodes
  // writes its destination this way. Changes: EROFS on a read-only manager; `dst` resolves as for
  // `open` (EACCES for a path that leaves a confined manager's root). A served manager drops the
  // staged files of a client whose connection is lost, and counts each toward the client's
  // `max_open_maps` and its writes toward `max_bytes_in_flight`.

  /// The id of a new, empty staged file for `dst`. ENOENT/ENOTDIR for a missing directory,
  /// EISDIR for a `dst` that names a directory ("", ".", "..").
  pending<std::uint64_t> stage(const std::filesystem::path& dst) const;

  /// Writes the pieces of `data` one after the other from `offset` (>= 0) of staged file `id`
  /// (pieces `bulk_read` returned are passed on without a copy); returns the bytes written. The
  /// writes to one staged file run one at a time, in the order they were sent. EBADF for an id
  /// this caller did not stage (or one gone).
  pending<std::uint64_t> write_staged(std::uint64_t id, std::int64_t offset,
                                      byte_pieces data) const;

  /// Renames staged file `id` over its destination: readers see the old file or the whole new
  /// one. With `expected_digest`, the file's digest by `algorithm` ("" = the runtime's default) is
  /// compared first: EIO and no change to the destination on a mismatch. With `flush`, as with
  /// `copy_file`, the file is fsynced before the rename and its directory after. Returns that
  /// digest ("" without one). The id is gone afterwards, whatever the outcome.
  pending<std::string> commit_staged(std::uint64_t id, std::string expected_digest = {},
                                     std::string algorithm = {}, bool flush = false) const;

  /// Drops staged file `id`; an unknown id is no error.
  pending<void> discard_staged(std::uint64_t id) const;

  /// Asks this manager's node to copy `src` from node `source` ("tcp://HOST:PORT" or
  /// "tls://HOST:PORT", as this node reaches it) to `dst` itself, as `copy_between` would (its
  /// options and failures), so that the bytes cross one connection, from that node to this one.
  /// `copy_between` asks this first when both ends are served nodes. The node connects to
  /// `source` with its own TLS files. Returns the bytes copied. EPERM when the node's server does
  /// not pull from `source` (`serve_options::pull_from`), EOPNOTSUPP from a manager that is not
  /// served. Progress and `cancel()` as for a bulk call; while it runs, the copy counts as a map
  /// the caller holds and its chunks in flight as the caller's bytes in flight.
  operation<std::uint64_t> pull(const std::string& source, const std::filesystem::path& src,
                                const std::filesystem::path& dst,
                                const node_copy_options& options = {},
                                const bulk_options& opts = {}) const;

  /// The number of open maps.
  pending<std::uint64_t> currently_open() const;

  /// Every open map by (path, mode), each with a new handle of its own.
  pending<std::map<std::pair<std::filesystem::path, open_mode>, mapped_file>> open_files() const;

  /// Path -> mode of every open map; for a path open in two modes, the mode opened last.
  pending<std::map<std::filesystem::path, open_mode>> open_paths() const;

  /// Path, mode, size and mapped length of every open map.
  pending<std::vector<map_info>> open_mmaps() const;

  /// The sum of the sizes of all open maps, in bytes.
  pending<std::uint64_t> approx_memory_usage() const;

  // -- bulk operations -------------------------------------------------------------------------
  // Each is one request; the manager spreads the files over its io workers and answers when all
  // are done. Every file gets its own result (a value or an actorio::failure with errno and path):
  // one missing file never fails the others. Files open as maps are changed through their map,
  // so both views agree; a file open read-only as a map cannot be changed in bulk (EBUSY).
  //
  // Each returns an `operation`: `cancel()` or dropping it stops the remaining work (see
  // operation.hpp), and `opts.on_progress` receives progress. Bulk calls may run for long, so the
  // request timeout does not apply to them; they fail with EBADF if the manager goes away.

  /// Per path, a result.
  template <class T>
  using per_path = std::map<std::filesystem::path, result<T>>;

  /// Per path, the bytes of each listed range as one piece each, in the ranges' order (see
  /// `byte_pieces`: `pieces[i]` is a span of range i's bytes); no ranges (std::nullopt) means the
  /// whole file as one piece. A range is short at the end of the file and empty past it, the end
  /// being the size when the file is read. Negative offsets or sizes below -1 fail that path with
  /// EINVAL; ENOMEM when its bytes cannot be held. The pieces own their bytes and reach the
  /// caller without a copy.
  operation<per_path<byte_pieces>>
  bulk_read(const std::map<std::filesystem::path, std::optional<std::vector<byte_range>>>& files,
            const bulk_options& opts = {}) const;

  /// Per path, the bytes written. Each file must exist; chunks are written in order, a gap past
  /// the end is zero-filled.
  operation<per_path<std::uint64_t>>
  bulk_write(const std::map<std::filesystem::path, std::vector<chunk>>& files,
             const bulk_options& opts = {}) const;

  /// Per path, the new size.
  operation<per_path<std::uint64_t>>
  bulk_resize(const std::map<std::filesystem::path, std::int64_t>& sizes,
              const bulk_options& opts = {}) const;

  /// Per pair (in order), the bytes copied, as copy_file does each.
  operation<std::vector<result<std::uint64_t>>>
  bulk_copy(const std::vector<std::pair<std::filesystem::path, std::filesystem::path>>& pairs,
            bool flush = false, const bulk_options& opts = {}) const;

  /// As bulk_copy above, with `copy` as for copy_file.
  operation<std::vector<result<std::uint64_t>>>
  bulk_copy(const std::vector<std::pair<std::filesystem::path, std::filesystem::path>>& pairs,
            const copy_options& copy, const bulk_options& opts = {}) const;

  /// Per path, the lower-case hex digest; `algorithm` "" means the runtime's default.
  operation<per_path<std::string>> bulk_checksum(const std::vector<std::filesystem::path>& paths,
                                                 std::string algorithm = {},
                                                 const bulk_options& opts = {}) const;

  /// Per path, the ascending offsets of `pattern` from that path's start offset; files without a
  /// hit are left out, failed files are kept with their error. At most `max_per_file` hits per
  /// file (0: all); non-overlapping unless `allow_overlapping` ("aa" in "aaaa": 0, 2; 0, 1, 2).
  /// A start past the end gives no hits. EINVAL (for the whole call) for an empty pattern.
  /// Memory stays bounded whatever the file sizes: files are read in 8 MiB windows (a file of 8
  /// MiB or more mapped up to 16 MiB at a time; a file cut short meanwhile gives EIO). A file over
  /// 128 MiB is searched as 64 MiB segments in parallel when the pattern cannot overlap itself.
  operation<per_path<std::vector<std::uint64_t>>>
  find_in_files(std::string_view pattern,
                const std::map<std::filesystem::path, std::int64_t>& starts,
                std::uint64_t max_per_file = 0, bool allow_overlapping = false,
                const bulk_options& opts = {}) const;

  /// As above for several patterns, reported as `grep -F -o -b` reports them: the offsets where
  /// a hit starts, at each the longest pattern that starts there, non-overlapping (the next hit
  /// starts at or after that pattern's end) unless `allow_overlapping` (every offset where some
  /// pattern starts). Duplicates count once. EINVAL (for the whole call) for no pattern or an
  /// empty one. Large files are searched in segments when no two hits can overlap: no pattern
  /// begins with the end of one (itself included) or holds another, checked for up to 16 patterns
  /// of up to 256 bytes.
  operation<per_path<std::vector<std::uint64_t>>>
  find_in_files(const std::vector<std::string>& patterns,
                const std::map<std::filesystem::path, std::int64_t>& starts,
                std::uint64_t max_per_file = 0, bool allow_overlapping = false,
                const bulk_options& opts = {}) const;

  /// As above, for a list of files each with its start offset (`find_job`), in order: one
  /// result per job, in the jobs' order, an empty list for a file without a hit. For callers
  /// with many paths already as text (a walked tree): no path map is built either way.
  operation<std::vector<result<std::vector<std::uint64_t>>>>
  find_in_file_list(const std::vector<std::string>& patterns, std::vector<find_job> jobs,
                    std::uint64_t max_per_file = 0, bool allow_overlapping = false,
                    const bulk_options& opts = {}) const;

  /// Per path, the size before and after dropping trailing NUL bytes (an all-zero file becomes
  /// empty), as the manager saw them (for a remote manager: on the server).
  operation<per_path<size_change>> compact_files(const std::vector<std::filesystem::path>& paths,
                                                 const bulk_options& opts = {}) const;

  /// One page of the regular files beneath the directory `root` (see `walk_options` and
  /// `walk_page` in types.hpp): call again with `after` = the page's `next` until `done`. Files
  /// come in byte order of their paths, each as `root` joined with its path beneath it; what
  /// could not be listed (an unreadable directory, a symlink leading out of a confined
  /// manager's root, a directory loop) is in the page's errors, and the walk went on. A `root`
  /// that is no directory is listed as the one file. Fails as a whole only for `root` itself
  /// (ENOENT, EACCES, ...). Runs on the io workers; `cancel()` stops it (ECANCELED).
  operation<walk_page> walk(const std::filesystem::path& root, const walk_options& options = {},
                            std::string after = {}, const bulk_options& opts = {}) const;

  /// The maps `prefetch_files` opened; they are released together when this goes.
  struct prefetched {
    /// In argument order: each path with its map, or why it could not be opened.
    std::vector<std::pair<std::filesystem::path, result<mapped_file>>> files;
  };

  /// Opens every path as a map ("r+b", grown to `init_size`) at once and asks the kernel to read
  /// them in (MADV_WILLNEED). A path that fails carries its own error; the others are open.
  operation<prefetched> prefetch_files(const std::vector<std::filesystem::path>& paths,
                                       std::int64_t init_size = 0,
                                       const bulk_options& opts = {}) const;

private:
  friend struct detail::facade_access;
  explicit mmap_manager(std::shared_ptr<detail::runtime_core> core);

  std::shared_ptr<detail::runtime_core> core_;
};

} // namespace actorio
