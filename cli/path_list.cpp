#include "cli/path_list.hpp"

#include <cerrno>
#include <mutex>

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "cli/chunked_input.hpp"
#include "cli/diagnostics.hpp"
#include "cli/interrupt.hpp"

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

void add_tree_options(CLI::App& sub, tree_options& t) {
  sub.add_flag("-r,--recursive", t.recursive,
               "Walk directories; symlinks met in the walk are skipped (those named are followed)");
  sub.add_flag("-R,--dereference-recursive", t.dereference,
               "Walk directories, following every symlink");
  sub.add_option("--include", t.include, "With -r/-R: only files whose base name matches GLOB")
    ->type_name("GLOB")
    ->allow_extra_args(false);
  sub.add_option("--exclude", t.exclude, "With -r/-R: skip files whose base name matches GLOB")
    ->type_name("GLOB")
    ->allow_extra_args(false);
  sub
    .add_option("--exclude-dir", t.exclude_dir,
                "With -r/-R: skip directories whose base name matches GLOB")
    ->type_name("GLOB")
    ->allow_extra_args(false);
}

namespace {

/// Whether `name` needs the manager's walk: with --remote every name does (only the server
/// knows what it names); locally only directories, saving a request per file.
bool may_be_directory(const global_options& g, const std::string& name) {
  if (name == "-")
    return false;
  if (!g.remote.empty())
    return true;
  struct stat st {};
  return ::stat(name.c_str(), &st) != 0 || S_ISDIR(st.st_mode);
}

/// Whether the directory argument `name` is one --exclude-dir skips: as in GNU grep 3.8, a
/// command-line directory whose last component matches a glob ("t/a" and "." can be skipped,
/// "t/a/" cannot). Locally only a directory is skipped so; with --remote, a name the server
/// would walk.
bool excluded_directory(const global_options& g, const tree_options& t, const std::string& name) {
  if (t.exclude_dir.empty())
    return false;
  auto slash = name.rfind('/');
  auto base = slash == std::string::npos ? name : name.substr(slash + 1);
  if (base.empty())
    return false;
  bool matched = false;
  for (const auto& glob : t.exclude_dir)
    matched = matched || ::fnmatch(glob.c_str(), base.c_str(), 0) == 0;
  if (!matched)
    return false;
  if (!g.remote.empty())
    return true;
  struct stat st {};
  return ::stat(name.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

} // namespace

path_stream::path_stream(const mmap_manager& mgr, const global_options& g, const tree_options& t,
                         std::vector<std::string> names, std::string node)
  : mgr_{mgr}
  , g_{g}
  , t_{t}
  , node_{std::move(node)}
  , names_{std::move(names)}
  , scope_{[this] {
    std::lock_guard<std::mutex> guard{mutex_};
    if (pending_)
      pending_->cancel();
  }} {
  options_.follow_symlinks = t.dereference;
  options_.include = t.include;
  options_.exclude = t.exclude;
  options_.exclude_dir = t.exclude_dir;
}

std::string path_stream::label(const std::string& path) const {
  return node_.empty() ? path : node_ + ": " + path;
}

void path_stream::ask(std::string after) {
  auto op = mgr_.walk(dir_, options_, std::move(after));
  std::lock_guard<std::mutex> guard{mutex_};
  pending_.emplace(std::move(op));
  // A Ctrl-C that came before the page was registered finds it here.
  if (interrupted())
    pending_->cancel();
}

bool path_stream::next(std::vector<std::string>& out, std::vector<bool>& walked, std::size_t max) {
  out.clear();
  walked.clear();
  const bool trees = t_.recursive || t_.dereference;
  while (out.size() < max && !interrupted()) {
    if (!ready_.empty()) {
      auto n = std::min(max - out.size(), ready_.size());
      for (std::size_t k = 0; k < n; ++k) {
        out.push_back(std::move(ready_.front()));
        ready_.pop_front();
      }
      walked.insert(walked.end(), n, true);
      continue;
    }
    if (pending_) {
      walk_page page;
      std::optional<failure> whole;
      try {
        page = pending_->get();
      } catch (...) {
        whole = failure_of(std::current_exception());
      }
      {
        std::lock_guard<std::mutex> guard{mutex_};
        pending_.reset();
      }
      if (whole) {
        report_failure(label(dir_), *whole);
        clean_ = false;
        continue;
      }
      for (const auto& why : page.errors) {
        report_failure(label(why.path), why);
        clean_ = false;
      }
      // The next page is walked while this one is worked on.
      if (!page.done)
        ask(std::move(page.next));
      ready_.insert(ready_.end(), std::make_move_iterator(page.files.begin()),
                    std::make_move_iterator(page.files.end()));
      continue;
    }
    if (at_ == names_.size())
      break;
    auto& name = names_[at_++];
    if (!trees || !may_be_directory(g_, name)) {
      out.push_back(std::move(name));
      walked.push_back(false);
      continue;
    }
    if (excluded_directory(g_, t_, name))
      continue;
    dir_ = std::move(name);
    ask({});
  }
  return !out.empty();
}

bool expand_trees(const mmap_manager& mgr, const global_options& g, const tree_options& t,
                  std::vector<std::string>& names, std::vector<bool>* walked,
                  const std::string& node) {
  if (walked)
    walked->assign(names.size(), false);
  if (!t.recursive && !t.dereference)
    return true;
  path_stream stream{mgr, g, t, std::move(names), node};
  names.clear();
  if (walked)
    walked->clear();
  std::vector<std::string> batch;
  std::vector<bool> listed;
  while (stream.next(batch, listed, std::size_t{1} << 16)) {
    names.insert(names.end(), std::make_move_iterator(batch.begin()),
                 std::make_move_iterator(batch.end()));
    if (walked)
      walked->insert(walked->end(), listed.begin(), listed.end());
  }
  return stream.clean();
}

} // namespace actorio::cli
