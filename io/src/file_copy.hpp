#pragma once

#include "actorio/messages/types.hpp"
#include "actorio/result.hpp"
#include "io/src/path_sandbox.hpp"
#include "io/src/work_control.hpp"

#include <cstdint>
#include <string>

namespace actorio::detail {

/// The facade's options (actorio::copy_options: flush, verify, replace, target) and how the copy
/// reports to its bulk call.
struct copy_options : actorio::copy_options {
  /// Copied bytes count as progress; a cancel stops the copy (ECANCELED, no destination left).
  work_control* control = nullptr;
};

/// Copies regular file `src` to `dst`: identical bytes and permission bits (st_mode & 07777),
/// with holes of a sparse source kept as holes. Data moves with copy_file_range(2), falling back
/// to pread/pwrite where the kernel or filesystem cannot do that (EXDEV, EINVAL, EOPNOTSUPP,
/// ENOSYS, EIO, or a 0-byte copy before the end). A source whose size says nothing of its
/// content (size 0, or on procfs, sysfs and the like, which report 0 or a page) is read with
/// read(2) until EOF instead, as cp does; `verify` then compares the copy with the bytes read.
///
/// With `opts.target` `directory` (or `file_or_directory` and `dst` is a directory, symlinks
/// followed) the destination is `dst`/<last component of `src`>.
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
/// EEXIST if it exists and `!opts.replace`, in which case it is left untouched; EISDIR if its
/// last component is empty, "." or ".."; ENOTDIR for a `directory` target that is none; EINVAL
/// if `opts.replace` and the destination is the source itself).
///
/// Both files are reached through `opener`: `src` is opened with it and `dst`'s directory is
/// opened with it once, then the temporary is created, renamed and removed relative to that
/// directory's descriptor, so with a sandbox both ends stay beneath its root.
result<std::uint64_t> copy_file(const std::string& src, const std::string& dst,
                                const copy_options& opts, const file_opener& opener = {});

} // namespace actorio::detail
