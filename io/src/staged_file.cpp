#include "io/src/staged_file.hpp"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "io/src/digest.hpp"

namespace actorio::detail {

namespace {

constexpr char letters[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// ".<name>.actorio-" plus six random letters, the name cut so that the whole fits NAME_MAX.
std::string random_name(const std::string& name) {
  constexpr std::string_view suffix = ".actorio-";
  auto stem = name.substr(0, NAME_MAX - 1 - suffix.size() - 6);
  std::string out = "." + stem + std::string{suffix} + "XXXXXX";
  unsigned char random[6] = {};
  (void)::getentropy(random, sizeof random);
  for (std::size_t i = 0; i < 6; ++i)
    out[out.size() - 6 + i] = letters[random[i] % (sizeof letters - 1)];
  return out;
}

} // namespace

result<staged_file> staged_file::create(const std::string& dst, const file_opener& opener,
                                        mode_t mode) {
  auto parent = opener.open_parent(dst, "stage");
  if (!parent)
    return std::move(parent).error();
  staged_file f;
  f.dst_ = dst;
  f.dir_ = std::move(parent->first);
  f.name_ = std::move(parent->second);
  if (f.name_.empty() || f.name_ == "." || f.name_ == "..")
    return failure{EISDIR, "stage", dst, "the destination names a directory"};
  f.fd_ = unique_fd{
    retry_eintr([&] { return ::openat(f.dir_.get(), ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode); })};
  if (f.fd_)
    return f;
  int err = errno;
  // File systems without O_TMPFILE answer EOPNOTSUPP (or EISDIR on kernels that predate it).
  if (err != EOPNOTSUPP && err != EISDIR && err != EINVAL)
    return failure{err, "stage", dst, "cannot create the staged file"};
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto name = random_name(f.name_);
    f.fd_ = unique_fd{retry_eintr([&] {
      return ::openat(f.dir_.get(), name.c_str(),
                      O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    })};
    if (f.fd_) {
      f.temp_ = std::move(name);
      return f;
    }
    err = errno;
    if (err != EEXIST)
      break;
  }
  return failure{err, "stage", dst, "cannot create the staged file"};
}

staged_file& staged_file::operator=(staged_file&& other) noexcept {
  if (this != &other) {
    discard();
    dir_ = std::move(other.dir_);
    fd_ = std::move(other.fd_);
    name_ = std::move(other.name_);
    dst_ = std::move(other.dst_);
    temp_ = std::move(other.temp_);
  }
  return *this;
}

staged_file::~staged_file() {
  discard();
}

result<std::uint64_t> staged_file::write(std::int64_t offset, std::span<const char> data) const {
  if (offset < 0)
    return failure{EINVAL, "write_staged", dst_, "negative offset"};
  if (!fd_)
    return failure{EBADF, "write_staged", dst_, "the staged file is gone"};
  std::size_t done = 0;
  while (done < data.size()) {
    auto n = ::pwrite(fd_.get(), data.data() + done, data.size() - done,
                      static_cast<off_t>(offset) + static_cast<off_t>(done));
    if (n < 0) {
      int err = errno;
      if (err == EINTR)
        continue;
      return failure{err, "write_staged", dst_, "write of the staged file"};
    }
    done += static_cast<std::size_t>(n);
  }
  return static_cast<std::uint64_t>(done);
}

result<std::string> staged_file::digest(std::string_view algorithm) const {
  if (!fd_)
    return failure{EBADF, "checksum", dst_, "the staged file is gone"};
  return digest_fd(fd_.get(), algorithm, dst_);
}

status staged_file::commit(bool flush) {
  if (!fd_)
    return failure{EBADF, "commit_staged", dst_, "the staged file is gone"};
  if (flush && ::fsync(fd_.get()) != 0) {
    int err = errno;
    discard();
    return failure{err, "commit_staged", dst_, "fsync of the staged file"};
  }
  if (temp_.empty()) {
    // An unnamed file gets a name by linkat, which never replaces one: a fresh temporary name
    // first, then rename over the destination. /proc/self/fd rather than AT_EMPTY_PATH, which
    // needs CAP_DAC_READ_SEARCH.
    auto proc = "/proc/self/fd/" + std::to_string(fd_.get());
    int err = EEXIST;
    for (int attempt = 0; attempt < 100 && err == EEXIST; ++attempt) {
      auto name = random_name(name_);
      if (::linkat(AT_FDCWD, proc.c_str(), dir_.get(), name.c_str(), AT_SYMLINK_FOLLOW) == 0) {
        temp_ = std::move(name);
        err = 0;
      } else {
        err = errno;
      }
    }
    if (err != 0) {
      discard();
      return failure{err, "commit_staged", dst_, "cannot link the staged file into its directory"};
    }
  }
  if (::renameat(dir_.get(), temp_.c_str(), dir_.get(), name_.c_str()) != 0) {
    int err = errno;
    discard();
    return failure{err, "commit_staged", dst_, "rename over the destination"};
  }
  temp_.clear();
  fd_.reset();
  if (!flush)
    return ok_status();
  // The rename is durable once the directory is; O_PATH descriptors cannot be fsynced.
  unique_fd dir{
    retry_eintr([&] { return ::openat(dir_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); })};
  if (!dir || ::fsync(dir.get()) != 0) {
    int err = errno;
    return failure{err, "commit_staged", dst_, "fsync of the destination's directory"};
  }
  return ok_status();
}

void staged_file::discard() noexcept {
  if (!temp_.empty() && dir_)
    ::unlinkat(dir_.get(), temp_.c_str(), 0);
  temp_.clear();
  fd_.reset();
}

} // namespace actorio::detail
