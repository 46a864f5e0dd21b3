#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "actorio/mmap_manager.hpp"
#include "actorio/result.hpp"
#include "cli/command.hpp"
#include "cli/interrupt.hpp"

namespace actorio::cli {

/// `-r`, `-R` and the globs, as grep has them, for the commands that take directories.
struct tree_options {
  /// `-r`: a directory is walked; symlinks met in the walk are skipped.
  bool recursive = false;
  /// `-R`: as -r, following every symlink (directory loops are errors).
  bool dereference = false;
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  std::vector<std::string> exclude_dir;
};

/// Adds -r, -R, --include, --exclude and --exclude-dir to `sub`.
void add_tree_options(CLI::App& sub, tree_options& t);

/// The names of a command line with -r/-R directories expanded as `expand_trees` lists them,
/// handed out a batch at a time: work on the first files starts before the walk ends, and memory
/// holds the pages of the walk not yet handed out (one ahead), never the whole tree. The next
/// page is asked for as soon as one arrives, so the walk runs while the caller works. What the
/// walk cannot list is reported on stderr as it comes. A Ctrl-C cancels the page in flight.
/// Not thread-safe: one thread calls `next`.
class path_stream {
public:
  path_stream(const mmap_manager& mgr, const global_options& g, const tree_options& t,
              std::vector<std::string> names, std::string node = {});
  path_stream(const path_stream&) = delete;
  path_stream& operator=(const path_stream&) = delete;

  /// Replaces `out` with up to `max` next paths (at least one unless none is left or the run
  /// was interrupted) and `walked` with whether the walk listed each (a regular file then).
  /// Returns whether `out` holds any.
  bool next(std::vector<std::string>& out, std::vector<bool>& walked, std::size_t max);

  /// False once anything was reported.
  bool clean() const noexcept {
    return clean_;
  }

private:
  std::string label(const std::string& path) const;
  void ask(std::string after);

  const mmap_manager& mgr_;
  const global_options& g_;
  const tree_options& t_;
  walk_options options_;
  std::string node_;
  std::vector<std::string> names_;
  std::size_t at_ = 0;
  /// The directory being walked, and its files received but not handed out yet.
  std::string dir_;
  std::deque<std::string> ready_;
  bool clean_ = true;
  std::mutex mutex_;
  std::optional<operation<walk_page>> pending_;
  cancel_scope scope_;
};

/// With -r or -R, `names` with each directory replaced by the regular files beneath it, in byte
/// order, as the manager's walk lists them (so `--remote` walks the server's tree, confined to its
/// root); other names stay. What the walk cannot list is reported on stderr as it comes, and
/// the walk goes on. Without -r or -R `names` is returned as is. Returns false when anything
/// was reported. With `walked`, sets walked[i] for each name the walk listed (a regular file when
/// listed), so that callers need not stat those again. With `node` set, what is reported names
/// the node first ("NODE: PATH").
bool expand_trees(const mmap_manager& mgr, const global_options& g, const tree_options& t,
                  std::vector<std::string>& names, std::vector<bool>* walked = nullptr,
                  const std::string& node = {});

/// The paths listed in `source` ("-": stdin), one per line, or NUL-separated with `nul` (for
/// names holding newlines, as `find -print0` writes them). Empty entries are skipped.
result<std::vector<std::string>> read_path_list(const std::string& source, bool nul);

/// `args` followed by the paths of `files_from` (if not empty); the first failure to read a list
/// is reported on stderr and returned.
result<std::vector<std::string>> collect_paths(std::vector<std::string> args,
                                               const std::string& files_from, bool nul);

/// Everything readable from `fd` up to EOF; failures carry `label` as their path.
result<std::string> read_all(int fd, const std::string& label);

/// The whole content of the file `source` ("-": stdin).
result<std::string> read_source(const std::string& source);

} // namespace actorio::cli
