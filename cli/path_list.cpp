#include "cli/path_list.hpp"

#include <cerrno>

#include <fcntl.h>
#include <unistd.h>

#include "cli/chunked_input.hpp"
#include "cli/diagnostics.hpp"

namespace actorio::cli {

result<std::string> read_all(int fd, const std::string& label) {
  std::string out;
  int err = read_in_pieces(fd, std::size_t{1} << 16, [&](std::string_view piece) { out += piece; });
  if (err != 0)
    return failure{err, "read", label, ""};
  return out;
}

result<std::string> read_source(const std::string& source) {
  int fd = 0;
  if (source != "-") {
    do {
      fd = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
      int err = errno;
      return failure{err, "open", source, ""};
    }
  }
  auto text = read_all(fd, source);
  if (fd != 0)
    ::close(fd);
  return text;
}

result<std::vector<std::string>> read_path_list(const std::string& source, bool nul) {
  auto text = read_source(source);
  if (!text)
    return std::move(text).error();
  std::vector<std::string> paths;
  char sep = nul ? '\0' : '\n';
  std::size_t start = 0;
  while (start < text->size()) {
    auto end = text->find(sep, start);
    if (end == std::string::npos)
      end = text->size();
    if (end > start)
      paths.emplace_back(text->substr(start, end - start));
    start = end + 1;
  }
  return paths;
}

result<std::vector<std::string>> collect_paths(std::vector<std::string> args,
                                               const std::string& files_from, bool nul) {
  if (files_from.empty())
    return args;
  auto listed = read_path_list(files_from, nul);
  if (!listed) {
    report_error(files_from, listed.error().code);
    return std::move(listed).error();
  }
  args.insert(args.end(), std::make_move_iterator(listed->begin()),
              std::make_move_iterator(listed->end()));
  return args;
}

} // namespace actorio::cli
