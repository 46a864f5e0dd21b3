#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actorio/messages/type_ids.hpp"

// clang-format off
// Mapped-file operations (open/close/flush reuse CAF's own atoms). An atom is named for its
// facade method; its text is a short form of that name (CAF 0.17 allows 10 characters).
CAF_ADD_ATOM(actorio, actorio, read_atom, "read")
CAF_ADD_ATOM(actorio, actorio, write_atom, "write")
CAF_ADD_ATOM(actorio, actorio, resize_atom, "resize")
CAF_ADD_ATOM(actorio, actorio, grow_atom, "grow")
CAF_ADD_ATOM(actorio, actorio, size_atom, "size")
CAF_ADD_ATOM(actorio, actorio, sync_atom, "sync")
CAF_ADD_ATOM(actorio, actorio, checksum_atom, "checksum")
CAF_ADD_ATOM(actorio, actorio, info_atom, "info")
CAF_ADD_ATOM(actorio, actorio, read_str_atom, "read_str")
CAF_ADD_ATOM(actorio, actorio, write_str_atom, "write_str")
CAF_ADD_ATOM(actorio, actorio, readline_atom, "readline")
CAF_ADD_ATOM(actorio, actorio, readlines_atom, "readlines")
CAF_ADD_ATOM(actorio, actorio, lines_atom, "lines")
CAF_ADD_ATOM(actorio, actorio, read_until_atom, "read_until")
CAF_ADD_ATOM(actorio, actorio, writelines_atom, "writelines")
CAF_ADD_ATOM(actorio, actorio, insert_atom, "insert")
CAF_ADD_ATOM(actorio, actorio, erase_atom, "erase")
CAF_ADD_ATOM(actorio, actorio, replace_atom, "replace")
CAF_ADD_ATOM(actorio, actorio, fill_atom, "fill")
CAF_ADD_ATOM(actorio, actorio, copy_within_atom, "copywithin")
CAF_ADD_ATOM(actorio, actorio, move_atom, "move")
CAF_ADD_ATOM(actorio, actorio, compare_atom, "compare")
CAF_ADD_ATOM(actorio, actorio, hamming_dist_atom, "hamming")
CAF_ADD_ATOM(actorio, actorio, hamming_dist_bytes_atom, "hamming_by")
CAF_ADD_ATOM(actorio, actorio, find_atom, "find")
CAF_ADD_ATOM(actorio, actorio, rfind_atom, "rfind")
CAF_ADD_ATOM(actorio, actorio, search_atom, "search")
CAF_ADD_ATOM(actorio, actorio, compact_atom, "compact")
CAF_ADD_ATOM(actorio, actorio, madvise_atom, "madvise")
CAF_ADD_ATOM(actorio, actorio, stat_atom, "stat")
CAF_ADD_ATOM(actorio, actorio, clear_error_atom, "clearerror")

// Manager operations.
CAF_ADD_ATOM(actorio, actorio, create_sparse_atom, "sparse")
CAF_ADD_ATOM(actorio, actorio, copy_file_atom, "copy_file")
CAF_ADD_ATOM(actorio, actorio, currently_open_atom, "curr_open")
CAF_ADD_ATOM(actorio, actorio, open_files_atom, "open_files")
CAF_ADD_ATOM(actorio, actorio, open_paths_atom, "open_paths")
CAF_ADD_ATOM(actorio, actorio, open_mmaps_atom, "open_mmaps")
CAF_ADD_ATOM(actorio, actorio, approx_memory_usage_atom, "mem_usage")
CAF_ADD_ATOM(actorio, actorio, shutdown_atom, "shutdown")
CAF_ADD_ATOM(actorio, actorio, bulk_read_atom, "bulk_read")
CAF_ADD_ATOM(actorio, actorio, bulk_write_atom, "bulk_write")
CAF_ADD_ATOM(actorio, actorio, bulk_resize_atom, "bulk_resiz")
CAF_ADD_ATOM(actorio, actorio, bulk_copy_atom, "bulk_copy")
CAF_ADD_ATOM(actorio, actorio, bulk_checksum_atom, "bulk_cksum")
CAF_ADD_ATOM(actorio, actorio, find_in_files_atom, "find_in")
CAF_ADD_ATOM(actorio, actorio, compact_files_atom, "compact_fs")
CAF_ADD_ATOM(actorio, actorio, prefetch_files_atom, "prefetch")
CAF_ADD_ATOM(actorio, actorio, progress_atom, "progress")
CAF_ADD_ATOM(actorio, actorio, walk_atom, "walk")
CAF_ADD_ATOM(actorio, actorio, stage_atom, "stage")
CAF_ADD_ATOM(actorio, actorio, write_staged_atom, "write_stg")
CAF_ADD_ATOM(actorio, actorio, commit_staged_atom, "commit_stg")
CAF_ADD_ATOM(actorio, actorio, discard_staged_atom, "discard")
CAF_ADD_ATOM(actorio, actorio, pull_atom, "pull")

// Couple operations.
CAF_ADD_ATOM(actorio, actorio, read1_atom, "read1")
CAF_ADD_ATOM(actorio, actorio, readall_atom, "readall")
CAF_ADD_ATOM(actorio, actorio, readinto_atom, "readinto")
CAF_ADD_ATOM(actorio, actorio, readinto1_atom, "readinto1")
CAF_ADD_ATOM(actorio, actorio, truncate_atom, "truncate")
CAF_ADD_ATOM(actorio, actorio, ainput_atom, "ainput")
CAF_ADD_ATOM(actorio, actorio, ready_atom, "ready")
CAF_ADD_ATOM(actorio, actorio, cancel_atom, "cancel")
// clang-format on

// The only place the CAF 0.17 spelling `replies_to<...>::with<...>` appears. Offsets and sizes are
// signed so that -1 can mean "to the end" and any other negative value can be refused (EINVAL)
// rather than wrapping around.

namespace actorio {

/// One open memory map. Operations are served one at a time in arrival order, so every reader
/// sees every earlier write. Errors are `actorio::errc` errors (see error.hpp). A handle is a
/// counted reference: release it by sending `(close_atom, handle)` to the manager that gave it
/// out; the map closes with its last reference.
using mapped_file_actor = caf::typed_actor<
  /// (offset >= 0, size; -1 = to the end) -> the bytes; empty past the end.
  caf::replies_to<read_atom, std::int64_t, std::int64_t>::with<bytes>,
  /// (data, offset >= 0) -> bytes written; grows the file, zero-filling any gap.
  caf::replies_to<write_atom, bytes, std::int64_t>::with<std::uint64_t>,
  /// (new size >= 0) -> the new size. 0 is allowed.
  caf::replies_to<resize_atom, std::int64_t>::with<std::uint64_t>,
  /// -> the file size.
  caf::replies_to<size_atom>::with<std::uint64_t>,
  /// (offset >= 0, size; -1 = to the end) Hands written pages of that range to the kernel for
  /// write-back (msync MS_ASYNC); page alignment is handled inside.
  caf::replies_to<caf::flush_atom, std::int64_t, std::int64_t>::with<void>,
  /// Waits until written pages and metadata are on the device (msync MS_SYNC + fsync; after
  /// "w+b"/"x+b" also fsync of the directory). A failed write, msync, fsync or close is sticky:
  /// flush, sync and close report it until clear_error_atom.
  caf::replies_to<sync_atom>::with<void>,
  /// Acknowledges the sticky write error: later flush/sync/close report only their own failures.
  caf::replies_to<clear_error_atom>::with<void>,
  /// (algorithm; "" = the runtime's default) -> lower-case hex digest of the whole file.
  caf::replies_to<checksum_atom, std::string>::with<std::string>,
  /// -> path, mode, size and mapped length.
  caf::replies_to<info_atom>::with<map_info>,
  /// (offset, size, policy for invalid UTF-8) -> the bytes as UTF-8 text; strict: EILSEQ on
  /// invalid UTF-8.
  caf::replies_to<read_str_atom, std::int64_t, std::int64_t, utf8_errors>::with<std::string>,
  /// (text, offset, policy) -> bytes written; the text is checked as UTF-8 first.
  caf::replies_to<write_str_atom, std::string, std::int64_t, utf8_errors>::with<std::uint64_t>,
  /// (offset, size limit or -1, include the newline) -> the line and the offset after it.
  caf::replies_to<readline_atom, std::int64_t, std::int64_t, bool>::with<bytes, std::uint64_t>,
  /// (hint; <= 0 = all) -> every line from offset 0, each keeping its newline.
  caf::replies_to<readlines_atom, std::int64_t>::with<std::vector<bytes>>,
  /// (offset, max bytes) -> whole lines from offset and the offset to continue from.
  caf::replies_to<lines_atom, std::int64_t, std::uint64_t>::with<std::vector<bytes>, std::uint64_t>,
  /// (delimiter, offset, max size or -1) -> bytes up to and including the delimiter, next offset.
  caf::replies_to<read_until_atom, bytes, std::int64_t, std::int64_t>::with<bytes, std::uint64_t>,
  /// (lines, separator written after each, offset) -> the offset after the last byte written.
  caf::replies_to<writelines_atom, std::vector<bytes>, bytes, std::int64_t>::with<std::uint64_t>,
  /// (data, offset) -> the new size; the rest of the file shifts up.
  caf::replies_to<insert_atom, bytes, std::int64_t>::with<std::uint64_t>,
  /// (offset, size) -> bytes removed, clamped at the end.
  caf::replies_to<erase_atom, std::int64_t, std::int64_t>::with<std::uint64_t>,
  /// (old, new, offset, count or -1) -> occurrences replaced; EINVAL for an empty old.
  caf::replies_to<replace_atom, bytes, bytes, std::int64_t, std::int64_t>::with<std::uint64_t>,
  /// (pattern, offset, count) -> bytes written.
  caf::replies_to<fill_atom, bytes, std::int64_t, std::int64_t>::with<std::uint64_t>,
  /// (destination offset, source offset, size or -1) -> bytes copied; may grow the file.
  caf::replies_to<copy_within_atom, std::int64_t, std::int64_t, std::int64_t>::with<std::uint64_t>,
  /// (destination, source, count): both ranges inside the file, else EINVAL.
  caf::replies_to<move_atom, std::int64_t, std::int64_t, std::int64_t>::with<void>,
  /// (other map, size or -1, offset here, offset there) -> whether the two ranges hold the same
  /// bytes (and so the same length). The other map travels as a plain `caf::actor` because this
  /// interface cannot name itself; it must be a mapped_file_actor (see `caf::actor_cast`).
  caf::replies_to<compare_atom, caf::actor, std::int64_t, std::int64_t, std::int64_t>::with<bool>,
  /// As compare -> differing bits; the shorter range is padded with zero bytes.
  caf::replies_to<hamming_dist_atom, caf::actor, std::int64_t, std::int64_t,
                  std::int64_t>::with<std::uint64_t>,
  /// As compare -> differing byte positions; the shorter range is padded with zero bytes.
  caf::replies_to<hamming_dist_bytes_atom, caf::actor, std::int64_t, std::int64_t,
                  std::int64_t>::with<std::uint64_t>,
  /// (sub, start, end or -1) -> lowest offset of sub in [start, end), or -1.
  caf::replies_to<find_atom, bytes, std::int64_t, std::int64_t>::with<std::int64_t>,
  /// (sub, start, end or -1) -> highest offset of sub in [start, end), or -1.
  caf::replies_to<rfind_atom, bytes, std::int64_t, std::int64_t>::with<std::int64_t>,
  /// (pattern, offset, max results or -1, overlapping) -> ascending offsets and the offset a
  /// later search resumes from to continue (the size when done).
  caf::replies_to<search_atom, bytes, std::int64_t, std::int64_t,
                  bool>::with<std::vector<std::uint64_t>, std::uint64_t>,
  /// -> trailing NUL bytes removed.
  caf::replies_to<compact_atom>::with<std::uint64_t>,
  /// (advice, start, length or -1)
  caf::replies_to<madvise_atom, map_advice, std::int64_t, std::int64_t>::with<void>,
  /// -> the file's size, modification time (ns since the epoch) and st_mode, from fstat.
  caf::replies_to<stat_atom>::with<std::uint64_t, std::int64_t, std::uint32_t>>;

/// An entry of `open_files`: the key of an open map and a handle to it.
struct open_file {
  std::string path;
  open_mode mode = open_mode::read_write;
  mapped_file_actor file;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, open_file& x) {
  return f(caf::meta::type_name("actorio::open_file"), x.path, x.mode, x.file);
}

/// The manager: owns the registry of open maps keyed by (normalized path, mode) and supervises
/// one mapped_file_actor per map. Relative paths resolve against the runtime's root directory.
///
/// Every reply that hands out a mapped_file_actor counts as one reference; release each with
/// `(close_atom, handle)`. The map is unmapped when its last reference is released.
using mmap_manager_actor = caf::typed_actor<
  /// (path, mode, init_size >= 0) -> the map for (path, mode): read_write (an existing file,
  /// grown to init_size if smaller), read_only, create (created or truncated to init_size),
  /// create_exclusive (created; EEXIST if it exists). An open (path, mode) is shared, not
  /// reopened.
  caf::replies_to<caf::open_atom, std::string, open_mode, std::int64_t>::with<mapped_file_actor>,
  /// (path, total_size >= 0, chunks) -> a new file ("x+b") of total_size with holes, chunks
  /// written in order (later ones win; past total_size they extend the file).
  caf::replies_to<create_sparse_atom, std::string, std::int64_t,
                  std::vector<chunk>>::with<mapped_file_actor>,
  /// (handle) releases one reference; the last release unmaps and closes the file.
  caf::replies_to<caf::close_atom, mapped_file_actor>::with<void>,
  /// (src, dst, options) -> bytes copied. Bytes, mode bits and holes are kept; a failed copy
  /// leaves no dst behind. An existing dst is replaced atomically with options.replace, else
  /// EEXIST; options.target says whether dst is the file or a directory to copy into; verify:
  /// digests of source and copy are compared before the rename (EIO on a mismatch).
  caf::replies_to<copy_file_atom, std::string, std::string, copy_options>::with<std::uint64_t>,
  /// (path, algorithm; "" = the runtime's default) -> lower-case hex digest.
  caf::replies_to<checksum_atom, std::string, std::string>::with<std::string>,
  /// -> the number of open maps (`currently_open`).
  caf::replies_to<currently_open_atom>::with<std::uint64_t>,
  /// -> every open map with a handle (`open_files`); each handle is a new reference.
  caf::replies_to<open_files_atom>::with<std::vector<open_file>>,
  /// -> path -> mode of every open map (`open_paths`); with two modes open, the last opened wins.
  caf::replies_to<open_paths_atom>::with<std::map<std::string, open_mode>>,
  /// -> a description of every open map (`open_mmaps`).
  caf::replies_to<open_mmaps_atom>::with<std::vector<map_info>>,
  /// -> the sum of the sizes of all open maps (`approx_memory_usage`).
  caf::replies_to<approx_memory_usage_atom>::with<std::uint64_t>,
  /// Closes every open map (the runtime's shutdown); later opens still work.
  caf::replies_to<shutdown_atom>::with<void>,

  // Staged files: a new file written under no name next to its destination, which gets the
  // destination's name in one step (replacing what was there) or vanishes, also when the server
  // process dies. How a copy between nodes writes its destination. Each is a changing operation
  // (EROFS on a read-only manager) and its path resolves as for open (a confined manager keeps it
  // beneath its root: EACCES). A staged file is the stager's: the gate drops a client's staged
  // files when its connection is lost.

  /// (destination path) -> the id of a new, empty staged file in the destination's directory.
  caf::replies_to<stage_atom, std::string>::with<std::uint64_t>,
  /// (id, offset >= 0, data) -> bytes written at that offset of the staged file, the pieces one
  /// after the other (byte_pieces cross the wire as one block). EBADF for an unknown id.
  caf::replies_to<write_staged_atom, std::uint64_t, std::int64_t, byte_pieces>::with<std::uint64_t>,
  /// (id, expected digest or "", algorithm, flush) -> renames the staged file over its
  /// destination (with flush: fsyncs it before and the directory after); returns the digest when
  /// one was expected (EIO and no destination change on a mismatch), else "". The id is gone
  /// afterwards, whatever the outcome.
  caf::replies_to<commit_staged_atom, std::uint64_t, std::string, std::string,
                  bool>::with<std::string>,
  /// (id) drops the staged file; an unknown id is no error.
  caf::replies_to<discard_staged_atom, std::uint64_t>::with<void>,
  /// (source node "tcp://HOST:PORT" or "tls://HOST:PORT", path there, destination path, options)
  /// -> bytes copied. A copy between nodes that the destination makes itself: it connects to the
  /// source and streams the file into a staged file, so that the bytes cross one connection
  /// instead of passing through the requester. Progress and cancel as for a bulk operation
  /// (below). EPERM from a server that does not pull from that node; EOPNOTSUPP from a manager
  /// that is not served.
  caf::replies_to<pull_atom, std::string, std::string, std::string, node_copy_options,
                  report_progress>::with<std::uint64_t>,

  // Bulk operations: the manager spreads the items over its io workers and answers once all are
  // done, with one result per item in request order. One failing item fails only itself. Each
  // takes a report_progress last. The work stops, and each item not yet done fails with
  // ECANCELED, when the requester cancels it (below) or goes down (a lost remote node).

  /// (request id) cancels the bulk request with that id (see report_progress) from the same
  /// sender; nothing happens if it is done or unknown.
  caf::reacts_to<cancel_atom, std::uint64_t>,

  /// (jobs) -> per file: the bytes of each range (or of the whole file) as pieces, in order.
  caf::replies_to<bulk_read_atom, std::vector<read_job>,
                  report_progress>::with<std::vector<result<byte_pieces>>>,
  /// (jobs) -> per file: bytes written. Files must exist; gaps are zero-filled.
  caf::replies_to<bulk_write_atom, std::vector<write_job>,
                  report_progress>::with<std::vector<result<std::uint64_t>>>,
  /// (jobs) -> per file: the new size.
  caf::replies_to<bulk_resize_atom, std::vector<resize_job>,
                  report_progress>::with<std::vector<result<std::uint64_t>>>,
  /// (jobs, options) -> per copy: bytes copied (as copy_file_atom).
  caf::replies_to<bulk_copy_atom, std::vector<copy_job>, copy_options,
                  report_progress>::with<std::vector<result<std::uint64_t>>>,
  /// (paths, algorithm; "" = the runtime's default) -> per file: lower-case hex digest.
  caf::replies_to<bulk_checksum_atom, std::vector<std::string>, std::string,
                  report_progress>::with<std::vector<result<std::string>>>,
  /// (patterns, jobs, max hits per file or 0 for all, overlapping) -> per file: ascending offsets,
  /// at each the longest pattern starting there (as grep -F -o -b). EINVAL for no pattern or an
  /// empty one.
  caf::replies_to<find_in_files_atom, std::vector<std::string>, std::vector<find_job>,
                  std::uint64_t, bool,
                  report_progress>::with<std::vector<result<std::vector<std::uint64_t>>>>,
  /// (paths) -> per file: its size before and after dropping trailing NUL bytes.
  caf::replies_to<compact_files_atom, std::vector<std::string>,
                  report_progress>::with<std::vector<result<size_change>>>,
  /// (paths, init_size) -> per file: a map opened "r+b" (each a reference to release) whose pages
  /// the kernel was asked to read in (MADV_WILLNEED).
  caf::replies_to<prefetch_files_atom, std::vector<std::string>, std::int64_t,
                  report_progress>::with<std::vector<result<mapped_file_actor>>>,
  /// (directory, options, after; "" = from the start) -> the next page of the regular files
  /// beneath the directory (see walk_page), on the workers, cancellable like the bulk calls. A
  /// path that is no directory comes back as the one file listed. Paths resolve as for open;
  /// a confined manager never leaves its root, through symlinks met in the walk neither (EACCES
  /// for each such symlink, in the page's errors).
  caf::replies_to<walk_atom, std::string, walk_options, std::string,
                  report_progress>::with<walk_page>>;

/// One couple: a reader and a writer descriptor joined into one duplex stream (a pipe pair, a
/// socket, stdin/stdout). It reuses the mapped-file atoms where the operation is the same.
///
/// In binary mode data is raw bytes and sizes count bytes. In text mode data is UTF-8: reads
/// return whole characters only, sizes count characters (code points), and invalid input fails
/// with EILSEQ (or becomes U+FFFD, per the couple's errors policy).
///
/// Reads wait for data (or EOF) without holding a thread; they are served in arrival order. A
/// pending read is dropped when its requester cancels it or terminates (the couple monitors it).
/// Writes go to a buffer the couple writes out in the background once it holds `write_buffer`
/// bytes, and on flush. After close every operation fails with EBADF naming the operation;
/// operations pending at close fail with ECANCELED.
using couple_actor = caf::typed_actor<
  /// (n; -1 = to EOF) -> up to n units; fewer only at EOF; empty at EOF.
  caf::replies_to<read_atom, std::int64_t>::with<std::string>,
  /// (n; -1 = what is there) -> at least one unit unless at EOF, at most n; one syscall at most
  /// once data is there.
  caf::replies_to<read1_atom, std::int64_t>::with<std::string>,
  /// -> everything up to EOF.
  caf::replies_to<readall_atom>::with<std::string>,
  /// (buffer size in bytes) -> up to that many bytes (whole characters in text mode); fewer only
  /// at EOF. Text mode: EINVAL if the next character does not fit.
  caf::replies_to<readinto_atom, std::int64_t>::with<std::string>,
  /// As readinto, but returns once any data is there (as read1).
  caf::replies_to<readinto1_atom, std::int64_t>::with<std::string>,
  /// (limit; -1 = none) -> one line with its "\n", or limit units of it, or the rest at EOF.
  caf::replies_to<readline_atom, std::int64_t>::with<std::string>,
  /// (hint; <= 0 = all) -> whole lines until their total size reaches hint, or until EOF.
  caf::replies_to<readlines_atom, std::int64_t>::with<std::vector<std::string>>,
  /// (data) -> units accepted into the write buffer. Replies once the buffer is below its limit.
  caf::replies_to<write_atom, std::string>::with<std::uint64_t>,
  /// (lines) writes each line as it is (no separator added).
  caf::replies_to<writelines_atom, std::vector<std::string>>::with<void>,
  /// Writes the whole buffer out; replies when the writer descriptor has taken all of it.
  caf::replies_to<caf::flush_atom>::with<void>,
  /// (size; -1 = the writer's position) flushes, then truncates the writer -> the new size. The
  /// OS error on a pipe (ESPIPE without size, EINVAL with one).
  caf::replies_to<truncate_atom, std::int64_t>::with<std::uint64_t>,
  /// (prompt, assert_tty) -> one line without its "\n" or "\r\n"; a last line without newline
  /// counts. ENOTTY (before writing the prompt) if assert_tty and the reader is no terminal;
  /// ENODATA at EOF with nothing read.
  caf::replies_to<ainput_atom, std::string, bool>::with<std::string>,
  /// Fails every pending read with ECANCELED; the couple stays usable.
  caf::replies_to<cancel_atom>::with<void>,
  /// (request id) drops the pending read with that id (the request's message id without its flag
  /// bits) from the same sender: it fails with ECANCELED and takes no data.
  caf::reacts_to<cancel_atom, std::uint64_t>,
  /// Closes the descriptors the couple owns; idempotent. Unflushed output is dropped.
  caf::replies_to<caf::close_atom>::with<void>>;

/// Registers actorio's message types, actor handle types and error category with `cfg`. An
/// embedding server calls it on its own config before building its actor system; both ends of
/// a remote connection need it.
void add_message_types(caf::actor_system_config& cfg);

} // namespace actorio
