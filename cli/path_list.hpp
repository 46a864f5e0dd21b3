#pragma once

#include <string>
#include <vector>

#include "actorio/result.hpp"

namespace actorio::cli {

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
