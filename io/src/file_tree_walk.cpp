#include "io/src/file_tree_walk.hpp"

#include <algorithm>
#include <cerrno>
#include <utility>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>

namespace actorio::detail {

namespace {

constexpr std::uint32_t default_page_size = 4096;
constexpr std::size_t dirent_buffer_size = std::size_t{1} << 15;

bool matches_any(const std::vector<std::string>& globs, const std::string& name) {
  return std::any_of(globs.begin(), globs.end(), [&](const std::string& g) {
    return ::fnmatch(g.c_str(), name.c_str(), 0) == 0;
  });
}

/// One name of a directory, classified before sorting (the order depends on it).
struct entry {
  enum class kind : std::uint8_t { file, directory, failed };
  std::string name;
  kind what = kind::file;
  /// For `failed`: the errno and why.
  int code = 0;
  std::string detail;
  /// The sort key: the name, with '/' after a directory's.
  std::string key() const {
    return what == kind::directory ? name + '/' : name;
  }
};

class walker {
public:
  walker(const std::string& path, const std::string& display, const walk_options& opts,
         const std::string& after, const file_opener& opener, work_control* control)
    : path_(path)
    , display_(display)
    , opts_(opts)
    , after_(after)
    , opener_(opener)
    , control_(control)
    , page_size_(opts.page_size == 0 ? default_page_size : opts.page_size) {
    if (!display_.empty() && !display_.ends_with('/'))
      display_ += '/';
  }

  result<walk_page> run() {
    auto at = opener_.open(path_, O_PATH, 0, "walk");
    if (!at) {
      auto why = std::move(at).error();
      why.path = strip_slash(display_);
      return why;
    }
    struct stat st {};
    if (::fstat(at->get(), &st) != 0) {
      int err = errno;
      return failure{err, "walk", strip_slash(display_), {}};
    }
    if (!S_ISDIR(st.st_mode)) {
      // Named by the caller: listed whatever it is, as the command line's files are.
      if (after_.empty())
        page_.files.push_back(strip_slash(display_));
      page_.done = true;
      return std::move(page_);
    }
    unique_fd dir{
      retry_eintr([&] { return ::openat(at->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); })};
    if (!dir) {
      int err = errno;
      return failure{err, "walk", strip_slash(display_), {}};
    }
    ancestors_.emplace_back(st.st_dev, st.st_ino);
    std::string rel;
    if (auto ok = walk_dir(dir.get(), rel); !ok)
      return std::move(ok).error();
    page_.done = !full_;
    if (full_)
      page_.next = page_.files.empty() ? after_ : last_;
    return std::move(page_);
  }

private:
  static std::string strip_slash(std::string p) {
    while (p.size() > 1 && p.ends_with('/'))
      p.pop_back();
    return p;
  }

  void fail(const std::string& rel, int code, std::string detail = {}) {
    page_.errors.push_back(failure{code, "walk", display_ + rel, std::move(detail)});
  }

  /// The path of `rel` for the opener: beneath the walked directory.
  std::string opener_path(const std::string& rel) const {
    return path_.ends_with('/') ? path_ + rel : path_ + '/' + rel;
  }

  /// Reads every name of `dir` (but "." and ".."), classified.
  result<std::vector<entry>> read_dir(int dir, const std::string& rel) {
    std::vector<entry> out;
    thread_local std::vector<char> buffer(dirent_buffer_size);
    for (;;) {
      auto n = retry_eintr([&] { return ::getdents64(dir, buffer.data(), buffer.size()); });
      if (n < 0) {
        int err = errno;
        return failure{err, "walk", display_ + rel, "getdents64"};
      }
      if (n == 0)
        break;
      for (ssize_t pos = 0; pos < n;) {
        auto* d = reinterpret_cast<const dirent64*>(buffer.data() + pos);
        pos += d->d_reclen;
        std::string name{d->d_name};
        if (name == "." || name == "..")
          continue;
        auto type = d->d_type;
        if (type == DT_UNKNOWN) {
          struct stat st {};
          if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            int err = errno;
            out.push_back(entry{std::move(name), entry::kind::failed, err, {}});
            continue;
          }
          type = S_ISDIR(st.st_mode)   ? DT_DIR
                 : S_ISREG(st.st_mode) ? DT_REG
                 : S_ISLNK(st.st_mode) ? DT_LNK
                                       : DT_FIFO; // anything else is skipped
        }
        if (type == DT_LNK) {
          if (!opts_.follow_symlinks)
            continue;
          classify_symlink(dir, rel, std::move(name), out);
          continue;
        }
        if (type == DT_DIR)
          out.push_back(entry{std::move(name), entry::kind::directory, 0, {}});
        else if (type == DT_REG)
          out.push_back(entry{std::move(name), entry::kind::file, 0, {}});
      }
    }
    return out;
  }

  /// What a symlink met in the walk leads to, when symlinks are followed. In a sandbox it is
  /// resolved beneath the root (one leading out is refused); otherwise by the kernel as is.
  void classify_symlink(int dir, const std::string& rel, std::string name,
                        std::vector<entry>& out) {
    struct stat st {};
    if (opener_.sandbox()) {
      auto fd = opener_.open(opener_path(rel + name), O_PATH, 0, "walk");
      if (!fd) {
        out.push_back(
          entry{std::move(name), entry::kind::failed, fd.error().code, fd.error().detail});
        return;
      }
      if (::fstat(fd->get(), &st) != 0) {
        int err = errno;
        out.push_back(entry{std::move(name), entry::kind::failed, err, {}});
        return;
      }
    } else if (::fstatat(dir, name.c_str(), &st, 0) != 0) {
      int err = errno;
      out.push_back(entry{std::move(name), entry::kind::failed, err, {}});
      return;
    }
    if (S_ISDIR(st.st_mode))
      out.push_back(entry{std::move(name), entry::kind::directory, 0, {}});
    else if (S_ISREG(st.st_mode))
      out.push_back(entry{std::move(name), entry::kind::file, 0, {}});
  }

  /// Opens the directory `name` of `dir` (`rel` is its path beneath the walked directory).
  result<unique_fd> open_dir(int dir, const std::string& name, const std::string& rel) {
    if (opts_.follow_symlinks && opener_.sandbox())
      // It may be a symlink: resolved beneath the root, as when it was classified.
      return opener_.open(opener_path(rel), O_RDONLY | O_DIRECTORY, 0, "walk");
    int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (opts_.follow_symlinks ? 0 : O_NOFOLLOW);
    unique_fd fd{retry_eintr([&] { return ::openat(dir, name.c_str(), flags); })};
    if (!fd) {
      int err = errno;
      return failure{err, "walk", display_ + rel, {}};
    }
    return fd;
  }

  /// Whether every path beneath the directory with key `key` (ending in '/') was listed before
  /// `after_`, i.e. sorts before it.
  bool all_before_cursor(const std::string& key) const {
    return !after_.empty() && after_ > key && !after_.starts_with(key);
  }

  /// Lists `dir`, whose path beneath the walked directory is `rel` ("" or ending in '/').
  status walk_dir(int dir, std::string& rel) {
    if (control_ && control_->cancelled())
      return work_control::cancelled_failure("walk", display_ + rel);
    auto entries = read_dir(dir, rel);
    if (!entries) {
      // An unreadable directory is one error of the page, not the end of the walk; the walked
      // directory itself failing fails the call.
      if (rel.empty())
        return std::move(entries).error();
      page_.errors.push_back(std::move(entries).error());
      return ok_status();
    }
    auto& list = *entries;
    std::sort(list.begin(), list.end(),
              [](const entry& a, const entry& b) { return a.key() < b.key(); });
    for (auto& e : list) {
      if (full_)
        return ok_status();
      auto here = rel + e.name;
      if (e.what != entry::kind::directory) {
        if (!after_.empty() && here <= after_)
          continue;
        if (e.what == entry::kind::failed) {
          fail(here, e.code, e.detail);
          continue;
        }
        if ((!opts_.include.empty() && !matches_any(opts_.include, e.name)) ||
            matches_any(opts_.exclude, e.name))
          continue;
        page_.files.push_back(display_ + here);
        last_ = here;
        if (control_)
          control_->item_done();
        if (page_.files.size() >= page_size_)
          full_ = true;
        continue;
      }
      auto key = here + '/';
      if (all_before_cursor(key) || matches_any(opts_.exclude_dir, e.name))
        continue;
      auto sub = open_dir(dir, e.name, here);
      if (!sub) {
        auto why = std::move(sub).error();
        why.path = display_ + here;
        page_.errors.push_back(std::move(why));
        continue;
      }
      struct stat st {};
      if (::fstat(sub->get(), &st) != 0) {
        int err = errno;
        fail(here, err);
        continue;
      }
      std::pair<dev_t, ino_t> id{st.st_dev, st.st_ino};
      if (std::find(ancestors_.begin(), ancestors_.end(), id) != ancestors_.end()) {
        fail(here, ELOOP, "recursive directory loop");
        continue;
      }
      ancestors_.push_back(id);
      auto done = walk_dir(sub->get(), key);
      ancestors_.pop_back();
      if (!done)
        return done;
    }
    return ok_status();
  }

  const std::string& path_;
  std::string display_;
  const walk_options& opts_;
  const std::string& after_;
  const file_opener& opener_;
  work_control* control_;
  std::size_t page_size_;
  std::vector<std::pair<dev_t, ino_t>> ancestors_;
  walk_page page_;
  std::string last_;
  bool full_ = false;
};

} // namespace

result<walk_page> walk_tree(const std::string& path, const std::string& display,
                            const walk_options& opts, const std::string& after,
                            const file_opener& opener, work_control* control) {
  return walker{path, display, opts, after, opener, control}.run();
}

} // namespace actorio::detail
