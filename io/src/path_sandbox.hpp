#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <sys/types.h>

#include "actorio/result.hpp"
#include "io/src/unique_fd.hpp"

namespace actorio::detail {

/// A directory that files are opened beneath and never outside of, even through symlinks or
/// `..`. Holds an O_PATH descriptor of the root, so renaming or replacing the root's path later
/// does not move the sandbox, and every open resolves relative to that descriptor: what was
/// checked is what is opened (no check-then-open by path).
///
/// Paths are relative to the root. Refused before any system call, with the user's path in the
/// failure:
/// - empty path: ENOENT (as open(2) says for "");
/// - a NUL byte: EINVAL (the kernel would silently cut the path there);
/// - an absolute path: EACCES;
/// - a `..` that climbs above the root, counted lexically (`../x`, `a/../../x`): EACCES;
/// - a path longer than PATH_MAX - 1 or a component longer than NAME_MAX: ENAMETOOLONG.
///
/// Then the kernel resolves with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): a symlink
/// inside the root that points inside it is followed; one that leads outside (absolute, or `..`
/// past the root) gives EACCES (the kernel's EXDEV, whose text "Invalid cross-device link" would
/// mislead); a symlink loop or a magic link (/proc/PID/fd/N) gives ELOOP. Other errnos are the
/// kernel's (ENOENT, ENOTDIR, EISDIR, ...). Where openat2 is missing (ENOSYS, kernels before 5.6)
/// `walk_beneath` does the resolution instead and refuses every symlink with ELOOP.
///
/// With O_CREAT the parent directory is resolved beneath the root and the last component is
/// created with openat(parent, name, O_NOFOLLOW): a symlink there is never followed (ELOOP, or
/// EEXIST with O_EXCL), even one pointing inside the root. A last component "." or ".." or a
/// trailing slash with O_CREAT: EISDIR.
///
/// Failures are failure{errno, op, path, detail}; detail says why for the refusals above and is
/// empty for the kernel's own errors. Thread-safe: const members may be called concurrently.
class path_sandbox {
public:
  /// Opens `root` (a directory; symlinks in it are followed, the operator chose it).
  static result<path_sandbox> open(const std::string& root);

  /// Opens `path` beneath the root with open(2) `flags` (O_CLOEXEC is added) and `mode` (used
  /// with O_CREAT only).
  result<unique_fd> open_beneath(std::string_view path, int flags, mode_t mode = 0,
                                 const char* op = "open") const;

  /// The directory holding the last component of `path`, opened beneath the root with
  /// O_PATH|O_DIRECTORY, and that component (possibly "", "." or "..": the caller decides).
  result<std::pair<unique_fd, std::string>> open_parent(std::string_view path,
                                                        const char* op = "open") const;

  /// The root as given to `open`.
  const std::string& root() const noexcept {
    return root_;
  }
  int root_fd() const noexcept {
    return root_fd_.get();
  }

private:
  path_sandbox(std::string root, unique_fd fd) noexcept;

  std::string root_;
  unique_fd root_fd_;
};

/// `std::filesystem::path(path).lexically_normal().string()`, without building a path for the
/// common case of a path that is normal already (no empty, "." or ".." component): a bulk call
/// resolves every one of its paths, and std::filesystem's component lists cost more than opening
/// a small file.
std::string lexically_normal(std::string path);

/// The resolution used where openat2 is missing, callable on its own for tests: opens `path`
/// beneath directory `root_fd` one component at a time with O_NOFOLLOW, applying `..` by going
/// back to a directory already held (never by asking the kernel for a parent, which a concurrent
/// rename could move outside). Refuses every symlink with ELOOP, wherever it points. Performs
/// the same checks and gives the same errnos as `open_beneath` otherwise (with O_CREAT the last
/// component is created, never followed, in the directory walked to).
result<unique_fd> walk_beneath(int root_fd, std::string_view path, int flags, mode_t mode = 0,
                               const char* op = "open");

/// How a manager reaches its files: plain open(2) of the (absolute) path, or beneath a sandbox
/// (the path then relative to its root). Copyable; shares the sandbox.
class file_opener {
public:
  /// Plain opens.
  file_opener() = default;
  explicit file_opener(std::shared_ptr<const path_sandbox> sandbox) noexcept;

  /// Opens `path` with `flags` (O_CLOEXEC is added) and `mode`. Failures: failure{errno, op,
  /// path, detail}, the detail empty for the kernel's errors.
  result<unique_fd> open(const std::string& path, int flags, mode_t mode, const char* op) const;

  /// The directory holding `path` (O_PATH|O_DIRECTORY) and the last component, for work that
  /// creates, renames or removes names with the *at calls.
  result<std::pair<unique_fd, std::string>> open_parent(const std::string& path,
                                                        const char* op) const;

  /// Removes the file `path` (unlinkat in its parent); errors are ignored: this cleans up after
  /// a failure that is already being reported.
  void remove(const std::string& path) const noexcept;

  /// The sandbox, or null for plain opens.
  const path_sandbox* sandbox() const noexcept {
    return sandbox_.get();
  }

private:
  std::shared_ptr<const path_sandbox> sandbox_;
};

} // namespace actorio::detail
