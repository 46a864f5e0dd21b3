#include "io/src/path_sandbox.hpp"

#include <cerrno>
#include <climits>
#include <filesystem>
#include <vector>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace actorio::detail {

namespace {

/// openat2 retries: the kernel gives EAGAIN when a rename elsewhere races a `..` lookup under
/// RESOLVE_BENEATH, so that it never has to guess.
constexpr int openat2_attempts = 16;

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    auto slash = path.find('/');
    auto part = path.substr(0, slash);
    if (!part.empty() && part != ".")
      out.push_back(part);
    if (slash == std::string_view::npos)
      break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

/// The refusals that need no system call; ok when the kernel may resolve `path`.
status check(std::string_view path, const char* op) {
  auto fail = [&](int code, const char* why) { return failure{code, op, std::string{path}, why}; };
  if (path.empty())
    return fail(ENOENT, "empty path");
  if (path.find('\0') != std::string_view::npos)
    return fail(EINVAL, "path contains a NUL byte");
  if (path.front() == '/')
    return fail(EACCES, "absolute path outside the sandbox root");
  if (path.size() >= PATH_MAX)
    return fail(ENAMETOOLONG, "path longer than PATH_MAX");
  long depth = 0;
  for (auto part : split(path)) {
    if (part.size() > NAME_MAX)
      return fail(ENAMETOOLONG, "component longer than NAME_MAX");
    depth += part == ".." ? -1 : 1;
    if (depth < 0)
      return fail(EACCES, "'..' leads outside the sandbox root");
  }
  return ok_status();
}

failure kernel_failure(int code, std::string_view path, const char* op) {
  if (code == EXDEV)
    return failure{EACCES, op, std::string{path}, "resolves outside the sandbox root"};
  return failure{code, op, std::string{path}, {}};
}

/// Whether an open of `name` in `dir` with O_NOFOLLOW that failed with `err` met a symlink. ELOOP
/// says so by itself (one component, nothing else to follow). ENOTDIR (O_DIRECTORY) does for a
/// symlink and for a file: the name is looked up again, and a symlink or a directory there now
/// means a symlink then (a directory only when a concurrent rename swapped the two: reporting the
/// kernel's ENOTDIR for it would name the wrong cause).
bool met_symlink(int dir, const std::string& name, int err) {
  if (err == ELOOP)
    return true;
  struct stat st {};
  return err == ENOTDIR && ::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
         (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode));
}

failure symlink_refused(std::string_view path, const char* op) {
  return failure{ELOOP, op, std::string{path}, "symbolic link (refused without openat2)"};
}

/// openat2 beneath `root_fd`; ENOSYS comes back as such for the caller to fall back.
result<unique_fd> resolve_beneath(int root_fd, std::string_view path, int flags, mode_t mode,
                                  const char* op) {
  std::string p{path};
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
    how.mode = mode;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0;; ++attempt) {
    auto fd = retry_eintr([&] {
      return static_cast<int>(::syscall(SYS_openat2, root_fd, p.c_str(), &how, sizeof how));
    });
    if (fd >= 0)
      return unique_fd{fd};
    int err = errno;
    if (err == EAGAIN && attempt + 1 < openat2_attempts)
      continue;
    if (err == ENOSYS)
      return failure{ENOSYS, op, p, "openat2"};
    return kernel_failure(err, path, op);
  }
}

result<unique_fd> open_checked(int root_fd, std::string_view path, int flags, mode_t mode,
                               const char* op) {
  auto r = resolve_beneath(root_fd, path, flags, mode, op);
  if (!r && r.error().code == ENOSYS && r.error().detail == "openat2")
    return walk_beneath(root_fd, path, flags, mode, op);
  return r;
}

} // namespace

result<unique_fd> walk_beneath(int root_fd, std::string_view path, int flags, mode_t mode,
                               const char* op) {
  if (auto ok = check(path, op); !ok)
    return std::move(ok).error();
  auto parts = split(path);
  // split() drops a last "." as it drops a last "/": both still demand a directory (ENOTDIR).
  if (path.back() == '/' || path.ends_with("/."))
    flags |= O_DIRECTORY;
  // held[k] is the directory after k components; `..` pops back to one already held.
  std::vector<unique_fd> held;
  auto current = [&] { return held.empty() ? root_fd : held.back().get(); };
  // A last plain name is opened with `flags`; everything before it is walked as directories,
  // and a path ending in `..` opens the directory it leads to.
  bool final_name = !parts.empty() && parts.back() != "..";
  auto dirs = final_name ? parts.size() - 1 : parts.size();
  for (std::size_t i = 0; i < dirs; ++i) {
    if (parts[i] == "..") {
      held.pop_back(); // check() guarantees there is one.
      continue;
    }
    std::string name{parts[i]};
    unique_fd next{retry_eintr(
      [&] { return ::openat(current(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC); })};
    if (!next) {
      int err = errno;
      return kernel_failure(err, path, op);
    }
    struct stat st {};
    if (::fstat(next.get(), &st) != 0) {
      int err = errno;
      return kernel_failure(err, path, op);
    }
    if (S_ISLNK(st.st_mode))
      return symlink_refused(path, op);
    if (!S_ISDIR(st.st_mode))
      return kernel_failure(ENOTDIR, path, op);
    held.push_back(std::move(next));
  }
  std::string name = final_name ? std::string{parts.back()} : std::string{"."};
  unique_fd fd{retry_eintr(
    [&] { return ::openat(current(), name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode); })};
  if (!fd) {
    int err = errno;
    if (met_symlink(current(), name, err))
      return symlink_refused(path, op);
    return kernel_failure(err, path, op);
  }
  // O_PATH|O_NOFOLLOW opens a symlink itself instead of failing.
  if (flags & O_PATH) {
    struct stat st {};
    if (::fstat(fd.get(), &st) == 0 && S_ISLNK(st.st_mode))
      return symlink_refused(path, op);
  }
  return fd;
}

path_sandbox::path_sandbox(std::string root, unique_fd fd) noexcept
  : root_(std::move(root))
  , root_fd_(std::move(fd)) {}

result<path_sandbox> path_sandbox::open(const std::string& root) {
  unique_fd fd{retry_eintr([&] { return ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC); })};
  if (!fd) {
    int err = errno;
    return failure{err, "open", root, "sandbox root"};
  }
  return path_sandbox{root, std::move(fd)};
}

result<std::pair<unique_fd, std::string>> path_sandbox::open_parent(std::string_view path,
                                                                    const char* op) const {
  if (auto ok = check(path, op); !ok)
    return std::move(ok).error();
  auto slash = path.rfind('/');
  auto dir = slash == std::string_view::npos ? std::string_view{"."} : path.substr(0, slash + 1);
  auto name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  auto fd = open_checked(root_fd(), dir, O_PATH | O_DIRECTORY, 0, op);
  if (!fd)
    return failure{fd.error().code, op, std::string{path}, fd.error().detail};
  return std::pair{std::move(fd).value(), std::string{name}};
}

result<unique_fd> path_sandbox::open_beneath(std::string_view path, int flags, mode_t mode,
                                             const char* op) const {
  if (auto ok = check(path, op); !ok)
    return std::move(ok).error();
  if (!(flags & O_CREAT))
    return open_checked(root_fd(), path, flags, mode, op);
  auto parent = open_parent(path, op);
  if (!parent)
    return std::move(parent).error();
  // Not a structured binding: clang 14 (the fuzz build) cannot capture one in the lambda below.
  auto& dir = parent->first;
  auto& name = parent->second;
  if (name.empty() || name == "." || name == "..")
    return failure{EISDIR, op, std::string{path}, "names a directory"};
  unique_fd fd{retry_eintr(
    [&] { return ::openat(dir.get(), name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode); })};
  if (!fd) {
    int err = errno;
    return failure{err, op, std::string{path}, {}};
  }
  return fd;
}

file_opener::file_opener(std::shared_ptr<const path_sandbox> sandbox) noexcept
  : sandbox_(std::move(sandbox)) {}

result<unique_fd> file_opener::open(const std::string& path, int flags, mode_t mode,
                                    const char* op) const {
  if (sandbox_)
    return sandbox_->open_beneath(path, flags, mode, op);
  unique_fd fd{retry_eintr([&] { return ::open(path.c_str(), flags | O_CLOEXEC, mode); })};
  if (!fd) {
    int err = errno;
    return failure{err, op, path, {}};
  }
  return fd;
}

result<std::pair<unique_fd, std::string>> file_opener::open_parent(const std::string& path,
                                                                   const char* op) const {
  if (sandbox_)
    return sandbox_->open_parent(path, op);
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  unique_fd fd{retry_eintr([&] { return ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC); })};
  if (!fd) {
    int err = errno;
    return failure{err, op, path, "open parent directory"};
  }
  return std::pair{std::move(fd), slash == std::string::npos ? path : path.substr(slash + 1)};
}

void file_opener::remove(const std::string& path) const noexcept {
  if (auto parent = open_parent(path, "remove"))
    ::unlinkat(parent->first.get(), parent->second.c_str(), 0);
}

std::string lexically_normal(std::string path) {
  std::string_view rest{path};
  // A single leading '/' is the root; every component after it must be a proper name.
  if (rest.starts_with('/'))
    rest.remove_prefix(1);
  bool normal = !rest.empty() || !path.empty();
  while (normal && !rest.empty()) {
    auto slash = rest.find('/');
    auto name = rest.substr(0, slash);
    normal = !name.empty() && name != "." && name != "..";
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  }
  if (normal)
    return path;
  return std::filesystem::path{path}.lexically_normal().string();
}

} // namespace actorio::detail
