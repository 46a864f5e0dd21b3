#pragma once

#include <string>

#include "actorio/messages/types.hpp"
#include "actorio/result.hpp"
#include "io/src/path_sandbox.hpp"
#include "io/src/work_control.hpp"

namespace actorio::detail {

/// One page of the regular files beneath the directory `path` (opened through `opener`, so
/// confined to its sandbox when it has one), in byte order of their paths, starting after the
/// path `after` (relative to `path`; "" for the first page). Blocking: run it on an io worker.
///
/// Directories are read with getdents64 on a descriptor opened relative to their parent's, each
/// read whole and sorted; sorting names with a '/' appended to directories makes the depth-first
/// order the byte order of the whole paths. A page ends after `opts.page_size` files; the next
/// starts after the last of them, re-reading only the directories on the way to it, so the
/// caller holds no state between pages and memory stays at one page plus the directories open.
///
/// Symlinks met in the walk are skipped, or with `opts.follow_symlinks` followed (in a sandbox
/// resolved beneath its root: one leading outside is an EACCES error), and a directory that is
/// its own ancestor (same st_dev and st_ino) is an ELOOP error. What cannot be listed goes to the
/// page's errors and the walk goes on. `path` naming no directory: it is the one file listed.
///
/// `display` is the directory's path as the caller gave it; returned paths are display + "/" +
/// the path beneath it. Failures of `path` itself (ENOENT, EACCES, ...) fail the call; so does a
/// cancel of `control` (ECANCELED), which is polled between directories. `control` may be null.
result<walk_page> walk_tree(const std::string& path, const std::string& display,
                            const walk_options& opts, const std::string& after,
                            const file_opener& opener, work_control* control);

} // namespace actorio::detail
