#pragma once

#include <string>
#include <vector>

#include "actorio/mmap_manager.hpp"
#include "actorio/result.hpp"
#include "cli/command.hpp"

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
