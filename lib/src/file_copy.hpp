#pragma once

#include "actorio/result.hpp"
#include "lib/src/path_sandbox.hpp"
#include "lib/src/work_control.hpp"

#include <cstdint>
#include <string>

namespace actorio::detail {

/// How `copy_file` treats an existing destination and durability.
struct copy_options {
  /// false: EEXIST if dst exists (checked atomically at the final rename via
  /// renameat2(RENAME_NOREPLACE)).
  bool overwrite = false;
  /// fsync the destination data and then its parent directory after the rename.
  bool flush = false;
  /// Before the rename, compare an xxh128 digest of the source and of the written temporary
  /// (copy_file_range has silently zeroed data on some filesystems and kernels); a mismatch
  /// fails with EIO and leaves no destination.
  bool verify = false;
  /// Copied bytes count as progress; a cancel stops the copy (ECANCELED, no destination left).
  work_control* control = nullptr;
};

/// Copies regular file `src` to `dst`: identical bytes and permission bits (st_mode & 07777),
/// with holes of a sparse source kept as holes. Data moves with copy_file_range(2), falling back
/// to pread/pwrite where the kernel or filesystem cannot do that (EXDEV, EINVAL, EOPNOTSUPP,
/// ENOSYS, EIO, or a 0-byte copy before the end).
///
/// Never leaves a partial destination: the data goes to a temporary
/// ".<dst-filename>.actorio-XXXXXX" next to `dst`, which is renamed over `dst` only when
/// complete and unlinked on any failure. Hence `dst` becomes a new inode: a symlink at `dst` is
/// replaced rather than followed, hard links to the old `dst` keep the old content, and
/// ownership, ACLs and xattrs are not copied. The mode is set exactly; the umask does not apply.
///
/// Returns the source size in bytes. Failures have op "copy" and the path the errno concerns:
/// `src` for open/read errors (ENOENT if missing, EISDIR for a directory, EINVAL for other
/// non-regular files), `dst` for create/write/rename errors (ENOENT if its directory is missing,
/// EEXIST if it exists and `!opts.overwrite`, in which case it is left untouched; EISDIR if its
/// last component is empty, "." or "..").
///
/// Both files are reached through `opener`: `src` is opened with it and `dst`'s directory is
/// opened with it once, then the temporary is created, renamed and removed relative to that
/// directory's descriptor, so with a sandbox both ends stay beneath its root.
result<std::uint64_t> copy_file(const std::string& src, const std::string& dst,
                                const copy_options& opts, const file_opener& opener = {});

} // namespace actorio::detail
