#pragma once

#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include <sys/mount.h>
#include <unistd.h>

namespace actorio::test {

/// A tmpfs of `size` bytes mounted on `where` (created if missing) for the fixture's lifetime, to
/// fill a filesystem for real. Mounting needs root (CAP_SYS_ADMIN); `mounted()` is false where it
/// is refused (an unprivileged container); tests that need one take `tmpfs_can_be_mounted` as
/// their precondition and are reported as skipped there.
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

/// Precondition of the tests that fill a tiny_tmpfs: mounts one on a fresh directory and says why
/// not where it is refused.
inline boost::test_tools::assertion_result tmpfs_can_be_mounted(boost::unit_test::test_unit_id) {
  auto tmpl = (std::filesystem::temp_directory_path() / "actorio-mount-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    return {false};
  int err = 0;
  {
    tiny_tmpfs probe{tmpl, 4096};
    err = probe.mounted() ? 0 : probe.error();
  }
  std::filesystem::remove(tmpl);
  if (err == 0)
    return {true};
  boost::test_tools::assertion_result res(false);
  res.message() << "mounting a tmpfs is refused here (" << std::strerror(err) << ")";
  return res;
}

} // namespace actorio::test
