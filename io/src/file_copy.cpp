#include "file_copy.hpp"

#include "digest.hpp"
#include "unique_fd.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <unistd.h>

namespace actorio::detail {

namespace {

failure copy_failure(int code, const std::string& path, std::string detail) {
  return failure{code, "copy", path, std::move(detail)};
}

/// Suffix of temporary names; a recognizable name lets operators clean up after a crash.
constexpr std::string_view temp_suffix = ".actorio-XXXXXX";

/// The temporary's name: ".<name>.actorio-XXXXXX" in dst's directory, so the final rename stays
/// within one filesystem and is atomic.
std::string temp_template(std::string name) {
  // A dst name near NAME_MAX would push the temporary over it; the name part is only a hint.
  auto max_name = static_cast<std::size_t>(NAME_MAX) - 1 - temp_suffix.size();
  if (name.size() > max_name)
    name.resize(max_name);
  return "." + name + std::string{temp_suffix};
}

/// Creates a new file from `tmpl` (ending in XXXXXX) in directory `dir` as mkostemp(3) does, but
/// relative to a descriptor: the name cannot be redirected by a symlink or a renamed directory.
unique_fd make_temp(int dir, std::string& tmpl) {
  static constexpr char letters[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  auto x = tmpl.size() - 6;
  for (int attempt = 0; attempt < 100; ++attempt) {
    unsigned char random[6];
    if (::getentropy(random, sizeof random) != 0)
      return unique_fd{};
    for (std::size_t i = 0; i < 6; ++i)
      tmpl[x + i] = letters[random[i] % (sizeof letters - 1)];
    unique_fd fd{retry_eintr([&] {
      return ::openat(dir, tmpl.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    })};
    if (fd || errno != EEXIST)
      return fd;
  }
  errno = EEXIST;
  return unique_fd{};
}

/// Unlinks the temporary unless it made it to its final name, so no failure leaves one behind.
class temp_name {
public:
  explicit temp_name(int dir) noexcept
    : dir_(dir) {}
  temp_name(const temp_name&) = delete;
  temp_name& operator=(const temp_name&) = delete;
  ~temp_name() {
    discard();
  }

  /// Arms the guard for `name` in the directory, a file that now exists.
  void arm(std::string name) {
    name_ = std::move(name);
  }

  /// Removes the temporary now; errors are ignored because the caller is already failing or the
  /// copy is complete under its final name.
  void discard() noexcept {
    if (!name_.empty()) {
      ::unlinkat(dir_, name_.c_str(), 0);
      name_.clear();
    }
  }

  /// The temporary now lives under its final name.
  void keep() noexcept {
    name_.clear();
  }

  const std::string& name() const noexcept {
    return name_;
  }

private:
  int dir_;
  std::string name_;
};

/// Moves byte ranges from src to dst at equal offsets, preferring copy_file_range and switching
/// to pread/pwrite for good once the kernel or filesystem declines.
class range_copier {
public:
  range_copier(int in, int out, const std::string& src, const std::string& dst,
               work_control* control)
    : in_(in)
    , out_(out)
    , src_(src)
    , dst_(dst)
    , control_(control) {}

  /// Copies [off, off + len).
  status copy(off_t off, off_t len) {
    while (len > 0) {
      if (control_ && control_->cancelled())
        return work_control::cancelled_failure("copy", src_);
      auto want = static_cast<std::size_t>(std::min<off_t>(len, max_chunk));
      auto step = use_copy_file_range_ ? kernel_copy(off, want) : user_copy(off, want);
      if (!step)
        return std::move(step).error();
      // 0 means "switched to the fallback, nothing copied yet".
      off += static_cast<off_t>(*step);
      len -= static_cast<off_t>(*step);
      copied_ += *step;
      if (control_)
        control_->add_bytes(*step);
    }
    return ok_status();
  }

  /// Bytes copied so far.
  std::uint64_t copied() const noexcept {
    return copied_;
  }

private:
  /// Bounds one system call, so a cancel is noticed within one step.
  static constexpr off_t max_chunk = off_t{8} << 20;
  static constexpr std::size_t buffer_size = std::size_t{1} << 20;

  /// Errors meaning "copy_file_range cannot do this here" rather than "the copy failed".
  /// EIO is included because it does not say which file failed; pread/pwrite either reproduce it
  /// against the right path or succeed.
  static bool falls_back(int err) {
    return err == EXDEV || err == EINVAL || err == EOPNOTSUPP || err == ENOSYS || err == EIO;
  }

  result<std::size_t> kernel_copy(off_t off, std::size_t want) {
    loff_t in_off = off;
    loff_t out_off = off;
    auto n = retry_eintr([&] { return ::copy_file_range(in_, &in_off, out_, &out_off, want, 0); });
    if (n < 0) {
      int err = errno;
      if (!falls_back(err))
        return copy_failure(err, dst_, "copy_file_range");
      use_copy_file_range_ = false;
      return std::size_t{0};
    }
    // Some filesystems (procfs-like or older cross-fs paths) report 0 instead of failing; the
    // fallback then either finds the data or detects that the source shrank.
    if (n == 0)
      use_copy_file_range_ = false;
    return static_cast<std::size_t>(n);
  }

  result<std::size_t> user_copy(off_t off, std::size_t want) {
    if (buffer_.empty())
      buffer_.resize(buffer_size);
    want = std::min(want, buffer_.size());
    auto n = retry_eintr([&] { return ::pread(in_, buffer_.data(), want, off); });
    if (n < 0) {
      int err = errno;
      return copy_failure(err, src_, "read");
    }
    // Filling the rest with zeros would produce a file the source never was.
    if (n == 0)
      return copy_failure(EIO, src_, "source shrank during the copy");
    for (ssize_t done = 0; done < n;) {
      auto w = retry_eintr([&] {
        return ::pwrite(out_, buffer_.data() + done, static_cast<std::size_t>(n - done),
                        off + done);
      });
      if (w < 0) {
        int err = errno;
        return copy_failure(err, dst_, "write");
      }
      if (w == 0)
        return copy_failure(EIO, dst_, "write made no progress");
      done += w;
    }
    return static_cast<std::size_t>(n);
  }

  int in_;
  int out_;
  const std::string& src_;
  const std::string& dst_;
  work_control* control_;
  std::uint64_t copied_ = 0;
  bool use_copy_file_range_ = true;
  std::vector<char> buffer_;
};

/// Copies only the data extents of the first `size` bytes; holes are left unwritten so they stay
/// holes once the caller ftruncates the destination to `size`.
status copy_extents(range_copier& copier, int in, off_t size, const std::string& src) {
  off_t pos = 0;
  while (pos < size) {
    auto data = retry_eintr([&] { return ::lseek(in, pos, SEEK_DATA); });
    if (data < 0) {
      int err = errno;
      // ENXIO: nothing but holes from pos to EOF.
      if (err == ENXIO)
        return ok_status();
      // The filesystem cannot report extents: treat the rest as data.
      if (err == EINVAL || err == EOPNOTSUPP)
        return copier.copy(pos, size - pos);
      return copy_failure(err, src, "lseek SEEK_DATA");
    }
    if (data >= size)
      return ok_status();
    auto hole = retry_eintr([&] { return ::lseek(in, data, SEEK_HOLE); });
    if (hole < 0) {
      int err = errno;
      return copy_failure(err, src, "lseek SEEK_HOLE");
    }
    // A hole at or before `data` would loop forever on a buggy filesystem; copy the rest instead.
    if (hole <= data || hole > size)
      hole = size;
    if (auto st = copier.copy(data, hole - data); !st)
      return st;
    pos = hole;
  }
  return ok_status();
}

/// Whether `st_size` says nothing of what a read returns: 0 (procfs; a regular file that is empty
/// reads as empty either way) or a file on a filesystem whose files are generated when read
/// (sysfs reports a page for a few bytes). Such files are copied by reading to EOF.
bool size_is_unreliable(int fd, const struct stat& st) {
  if (st.st_size == 0)
    return true;
  struct statfs fs {};
  if (::fstatfs(fd, &fs) != 0)
    return false;
  switch (static_cast<unsigned long>(fs.f_type)) {
  case PROC_SUPER_MAGIC:
  case SYSFS_MAGIC:
  case DEBUGFS_MAGIC:
  case TRACEFS_MAGIC:
  case SECURITYFS_MAGIC:
  case CGROUP_SUPER_MAGIC:
  case CGROUP2_SUPER_MAGIC:
    return true;
  default:
    return false;
  }
}

/// Copies what read(2) gives until EOF, as cp does for files whose size cannot be trusted (holes
/// and copy_file_range would copy what the size claims). `seen`, if given, hashes the bytes read,
/// so that `verify` compares the copy with them rather than with a second, possibly different
/// read of the source.
result<std::uint64_t> stream_copy(int in, int out, const std::string& src, const std::string& dst,
                                  work_control* control, hasher* seen) {
  std::vector<char> buffer(std::size_t{1} << 16);
  std::uint64_t total = 0;
  for (;;) {
    if (control && control->cancelled())
      return work_control::cancelled_failure("copy", src);
    auto n = retry_eintr([&] { return ::read(in, buffer.data(), buffer.size()); });
    if (n < 0) {
      int err = errno;
      return copy_failure(err, src, "read");
    }
    if (n == 0)
      return total;
    if (seen)
      seen->update(buffer.data(), static_cast<std::size_t>(n));
    for (ssize_t done = 0; done < n;) {
      auto w = retry_eintr(
        [&] { return ::write(out, buffer.data() + done, static_cast<std::size_t>(n - done)); });
      if (w < 0) {
        int err = errno;
        return copy_failure(err, dst, "write");
      }
      if (w == 0)
        return copy_failure(EIO, dst, "write made no progress");
      done += w;
    }
    total += static_cast<std::uint64_t>(n);
    if (control)
      control->add_bytes(static_cast<std::uint64_t>(n));
  }
}

/// The destination's directory and name within it: `dst` itself, or `dst`/<src's name> when
/// `target` says to copy into a directory. Opened once; every later step is relative to it.
result<std::pair<unique_fd, std::string>>
open_destination(const std::string& src, const std::string& dst, copy_target target,
                 const file_opener& opener, std::string& dst_path) {
  dst_path = dst;
  if (target == copy_target::file_or_directory) {
    auto probe = opener.open(dst, O_PATH | O_DIRECTORY, 0, "copy");
    if (probe) {
      target = copy_target::directory;
    } else if (probe.error().code != ENOENT && probe.error().code != ENOTDIR) {
      return std::move(probe).error();
    }
  }
  if (target == copy_target::directory) {
    // Reported against `dst`, not the name inside it, which does not exist yet either way.
    if (auto dir = opener.open(dst, O_PATH | O_DIRECTORY, 0, "copy"); !dir)
      return std::move(dir).error();
    auto name = std::filesystem::path{src}.filename().string();
    // "x/" or "x/.": no name to copy under, and no regular file either.
    if (name.empty() || name == "." || name == "..")
      return copy_failure(EISDIR, src, "source names a directory");
    dst_path = dst + (!dst.empty() && dst.back() == '/' ? "" : "/") + name;
  }
  auto slash = dst_path.rfind('/');
  auto name = std::string_view{dst_path}.substr(slash == std::string::npos ? 0 : slash + 1);
  if (name.empty() || name == "." || name == "..")
    return copy_failure(EISDIR, dst_path, "destination names a directory");
  return opener.open_parent(dst_path, "copy");
}

/// Compares digests of the source and the written temporary. xxh128 because this guards
/// against broken copies, not attackers, and it runs at memory speed.
status verify_copy(int in, int out, const std::string& src, const std::string& dst) {
  auto want = digest_fd(in, "xxh128", src);
  if (!want)
    return copy_failure(want.error().code, src, "verify: read source");
  auto got = digest_fd(out, "xxh128", dst);
  if (!got)
    return copy_failure(got.error().code, dst, "verify: read copy");
  if (*want != *got)
    return copy_failure(EIO, dst,
                        "verify: the copy differs from the source (xxh128 " + *got +
                          " != " + *want + "); no destination was made");
  return ok_status();
}

/// The source, opened and checked before any temporary exists, so a bad source leaves nothing to
/// clean up.
struct source_file {
  unique_fd fd;
  struct stat st;
};

/// Opens `src` for the copy: a regular file, blocking reads, its size counted as work to do.
result<source_file> open_source(const std::string& src, const copy_options& opts,
                                const file_opener& opener) {
  // O_NONBLOCK so a FIFO at src is rejected below instead of blocking for a writer.
  auto opened = opener.open(src, O_RDONLY | O_NONBLOCK, 0, "copy");
  if (!opened) {
    auto why = std::move(opened).error();
    if (why.detail.empty())
      why.detail = "open source";
    return why;
  }
  source_file source{std::move(opened).value(), {}};
  auto& st = source.st;
  if (::fstat(source.fd.get(), &st) != 0) {
    int err = errno;
    return copy_failure(err, src, "stat source");
  }
  if (S_ISDIR(st.st_mode))
    return copy_failure(EISDIR, src, "source is a directory");
  if (!S_ISREG(st.st_mode))
    return copy_failure(EINVAL, src, "source is not a regular file");
  if (opts.control)
    opts.control->add_total(static_cast<std::uint64_t>(st.st_size));
  if (::fcntl(source.fd.get(), F_SETFL, 0) != 0) {
    int err = errno;
    return copy_failure(err, src, "clear O_NONBLOCK");
  }
  return source;
}

/// Replacing the source with its own copy would succeed, but cp refuses and so do we: the user
/// most likely named the wrong file. The entry itself is compared, so a symlink to the source is
/// replaced rather than followed (as every destination symlink is).
status refuse_same_file(int dir, const std::string& dst_name, const struct stat& st,
                        const std::string& dst) {
  struct stat existing {};
  if (::fstatat(dir, dst_name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0 &&
      existing.st_dev == st.st_dev && existing.st_ino == st.st_ino)
    return copy_failure(EINVAL, dst, "source and destination are the same file");
  return ok_status();
}

/// Fills the temporary from a source whose size cannot be trusted -> the bytes read. With
/// `verify` the bytes are hashed as they are read, because a second read may differ.
result<std::uint64_t> fill_by_reading(int in, int out, const std::string& src,
                                      const std::string& dst, const copy_options& opts) {
  std::optional<hasher> seen;
  if (opts.verify) {
    auto h = hasher::make("xxh128");
    if (!h)
      return copy_failure(h.error().code, src, "verify: " + h.error().detail);
    seen.emplace(std::move(h).value());
  }
  auto copied = stream_copy(in, out, src, dst, opts.control, seen ? &*seen : nullptr);
  if (!copied)
    return std::move(copied).error();
  if (seen) {
    auto want = seen->finish_hex();
    auto got = digest_fd(out, "xxh128", dst);
    if (!got)
      return copy_failure(got.error().code, dst, "verify: read copy");
    if (want != *got)
      return copy_failure(EIO, dst,
                          "verify: the copy differs from the bytes read (xxh128 " + *got +
                            " != " + want + "); no destination was made");
  }
  return *copied;
}

/// Fills the temporary with the data extents of a source of known size -> that size, holes kept.
result<std::uint64_t> fill_by_extents(int in, int out, const struct stat& st,
                                      const std::string& src, const std::string& dst,
                                      const copy_options& opts) {
  auto size = static_cast<std::uint64_t>(st.st_size);
  range_copier copier{in, out, src, dst, opts.control};
  if (auto copied = copy_extents(copier, in, st.st_size, src); !copied)
    return std::move(copied).error();
  // Holes are done too, though never copied.
  if (opts.control)
    opts.control->add_bytes(size - copier.copied());
  // Sets the size even when the source ends in a hole, which we never wrote.
  if (retry_eintr([&] { return ::ftruncate(out, st.st_size); }) != 0) {
    int err = errno;
    return copy_failure(err, dst, "truncate");
  }
  if (opts.verify) {
    if (auto checked = verify_copy(in, out, src, dst); !checked)
      return std::move(checked).error();
  }
  return size;
}

/// Sets the mode, syncs and closes the filled temporary: everything that must hold before its
/// name may change to `dst`.
status seal_temp(unique_fd& out, mode_t mode, const std::string& dst, bool flush) {
  // After all writes and the truncate: both clear setuid/setgid on the file they modify.
  if (::fchmod(out.get(), mode & 07777) != 0) {
    int err = errno;
    return copy_failure(err, dst, "chmod");
  }
  // Before the rename, so dst never names data that is not yet on disk.
  if (flush && retry_eintr([&] { return ::fsync(out.get()); }) != 0) {
    int err = errno;
    return copy_failure(err, dst, "fsync");
  }
  // Closed by hand because NFS reports deferred write errors here; EINTR still closed the fd.
  if (::close(out.release()) != 0) {
    int err = errno;
    if (err != EINTR)
      return copy_failure(err, dst, "close");
  }
  return ok_status();
}

/// Gives the temporary its final name in one atomic step; on failure `temp` stays armed, so the
/// caller's guard removes it.
status publish_temp(int dir, temp_name& temp, const std::string& dst_name, const std::string& dst,
                    bool replace) {
  unsigned flags = replace ? 0 : RENAME_NOREPLACE;
  auto renamed = retry_eintr(
    [&] { return ::renameat2(dir, temp.name().c_str(), dir, dst_name.c_str(), flags); });
  if (renamed == 0) {
    temp.keep();
    return ok_status();
  }
  int err = errno;
  if (err != EINVAL || flags == 0)
    return copy_failure(err, dst, "rename");
  // The filesystem lacks RENAME_NOREPLACE (e.g. NFS). link(2) never replaces an existing name
  // either, so the EEXIST check stays atomic; the temporary name is dropped afterwards.
  if (retry_eintr([&] { return ::linkat(dir, temp.name().c_str(), dir, dst_name.c_str(), 0); }) !=
      0) {
    int link_err = errno;
    return copy_failure(link_err, dst, "link");
  }
  temp.discard();
  return ok_status();
}

/// Syncs the directory so the new name itself survives a crash, not only the data behind it.
status sync_parent(int dir, const std::string& dst) {
  // The O_PATH descriptor cannot be synced; "." reopens that very directory for reading.
  unique_fd dir_fd{
    retry_eintr([&] { return ::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); })};
  if (!dir_fd) {
    int err = errno;
    return copy_failure(err, dst, "open parent directory for fsync");
  }
  if (retry_eintr([&] { return ::fsync(dir_fd.get()); }) != 0) {
    int err = errno;
    return copy_failure(err, dst,
                        "fsync parent directory; dst is complete but may not survive a crash");
  }
  return ok_status();
}

} // namespace

result<std::uint64_t> copy_file(const std::string& src, const std::string& dst_in,
                                const copy_options& opts, const file_opener& opener) {
  // The destination first, as cp checks its target first: copying many files into something that
  // is no directory then fails the same way for each of them, whatever their sources.
  std::string dst_path;
  auto parent = open_destination(src, dst_in, opts.target, opener, dst_path);
  if (!parent)
    return std::move(parent).error();
  const auto& dst = dst_path;
  int dir = parent->first.get();
  const auto& dst_name = parent->second;
  auto source = open_source(src, opts, opener);
  if (!source)
    return std::move(source).error();
  auto& in = source->fd;
  const auto& st = source->st;
  if (opts.replace) {
    if (auto distinct = refuse_same_file(dir, dst_name, st, dst); !distinct)
      return std::move(distinct).error();
  }

  temp_name temp{dir};
  auto tmpl = temp_template(dst_name);
  auto out = make_temp(dir, tmpl);
  if (!out) {
    int err = errno;
    return copy_failure(err, dst, "create temporary");
  }
  temp.arm(std::move(tmpl));

  auto size = size_is_unreliable(in.get(), st)
                ? fill_by_reading(in.get(), out.get(), src, dst, opts)
                : fill_by_extents(in.get(), out.get(), st, src, dst, opts);
  if (!size)
    return std::move(size).error();
  if (auto sealed = seal_temp(out, st.st_mode, dst, opts.flush); !sealed)
    return std::move(sealed).error();
  if (auto published = publish_temp(dir, temp, dst_name, dst, opts.replace); !published)
    return std::move(published).error();
  if (opts.flush) {
    if (auto synced = sync_parent(dir, dst); !synced)
      return std::move(synced).error();
  }
  return *size;
}

} // namespace actorio::detail
