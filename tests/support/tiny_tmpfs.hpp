#pragma once

#include <cerrno>
#include <filesystem>
#include <string>

#include <sys/mount.h>

namespace actorio::test {

/// A tmpfs of `size` bytes mounted on `where` (created if missing) for the fixture's lifetime, to
/// fill a filesystem for real. Mounting needs root (CAP_SYS_ADMIN); `mounted()` is false where it
/// is refused (an unprivileged container), and the callers say so in the log.
class tiny_tmpfs {
public:
  tiny_tmpfs(const std::filesystem::path& where, std::size_t size)
    : path_(where) {
    std::filesystem::create_directories(where);
    auto options = "size=" + std::to_string(size);
    if (::mount("tmpfs", where.c_str(), "tmpfs", 0, options.c_str()) == 0)
      mounted_ = true;
    else
      error_ = errno;
  }
  tiny_tmpfs(const tiny_tmpfs&) = delete;
  tiny_tmpfs& operator=(const tiny_tmpfs&) = delete;
  ~tiny_tmpfs() {
    if (mounted_)
      ::umount2(path_.c_str(), MNT_DETACH);
  }

  bool mounted() const noexcept {
    return mounted_;
  }
  int error() const noexcept {
    return error_;
  }
  std::filesystem::path operator/(const std::string& leaf) const {
    return path_ / leaf;
  }

private:
  std::filesystem::path path_;
  bool mounted_ = false;
  int error_ = 0;
};

} // namespace actorio::test
