// `actorio find`: byte offsets of a pattern in files, grep-like exit status.
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "actorio/runtime.hpp"
#include "cli/chunked_input.hpp"
#include "cli/command.hpp"
#include "cli/diagnostics.hpp"
#include "cli/interrupt.hpp"
#include "cli/path_list.hpp"
#include "cli/progress_meter.hpp"
#include "cli/session.hpp"
#include "cli/slices.hpp"
#include "cli/standard_output.hpp"
#include "io/src/pattern_set.hpp"

namespace actorio::cli {

namespace {

struct find_options {
  std::string pattern;
  /// -e PATTERN, in order; -f FILE, one pattern a line.
  std::vector<std::string> patterns;
  std::vector<std::string> pattern_files;
  bool hex = false;
  std::uint64_t max_per_file = 0;
  bool overlapping = false;
  bool count = false;
  CLI::Option* pattern_option = nullptr;
  std::vector<std::string> from;
  std::string files_from;
  bool nul = false;
  std::vector<std::string> files;
  tree_options tree;
};

/// grep's statuses: something matched, nothing did, trouble.
constexpr int matched_status = 0;
constexpr int no_match_status = 1;
constexpr int error_status = 2;

/// "6e 65 65" or "6e6565" -> the bytes; nullopt for an odd count or a non-hex character.
std::optional<std::string> decode_hex(const std::string& text) {
  std::string digits;
  for (unsigned char c : text) {
    if (std::isspace(c))
      continue;
    if (!std::isxdigit(c))
      return std::nullopt;
    digits += static_cast<char>(c);
  }
  if (digits.size() % 2 != 0)
    return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < digits.size(); i += 2)
    out += static_cast<char>(std::stoi(digits.substr(i, 2), nullptr, 16));
  return out;
}

/// "PATH=OFFSET" -> (PATH, OFFSET); the last '=' splits, so paths may hold '='.
std::optional<std::pair<std::string, std::int64_t>> parse_from(const std::string& text) {
  auto eq = text.rfind('=');
  if (eq == std::string::npos || eq == 0)
    return std::nullopt;
  std::int64_t offset = 0;
  auto digits = std::string_view{text}.substr(eq + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), offset);
  if (ec != std::errc{} || end != digits.data() + digits.size() || offset < 0)
    return std::nullopt;
  return std::pair{text.substr(0, eq), offset};
}

/// Whether `name` (on this machine) is something to read as a stream rather than to map: a
/// character device (/dev/null), a FIFO or a socket. The facade maps regular files only; grep
/// reads these, so `find` does too.
bool is_stream(const std::string& name) {
  struct stat st {};
  return ::stat(name.c_str(), &st) == 0 &&
         (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

/// The offsets of `patterns` in the stream `name`, from byte `start` on, as find_in_files reports
/// them for a file (`max` 0: all). Memory stays at one piece plus the longest pattern.
result<std::vector<std::uint64_t>> find_in_stream(const std::string& name,
                                                  const detail::pattern_set& patterns,
                                                  std::int64_t start, std::uint64_t max,
                                                  bool overlapping) {
  int fd = -1;
  do {
    fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    int err = errno;
    return failure{err, "find", name, ""};
  }
  std::vector<std::uint64_t> hits;
  std::string window;
  std::uint64_t base = 0;                        // offset of window[0]
  auto next = static_cast<std::uint64_t>(start); // where the next hit may begin
  auto keep = patterns.longest() - 1;            // bytes a hit may straddle
  int search_error = 0;
  // Starts in the last `keep` bytes wait for the next piece (a longer pattern may start there),
  // unless the stream has ended.
  auto scan = [&](bool last) {
    if ((max != 0 && hits.size() >= max) || search_error != 0)
      return;
    std::size_t from = next > base ? std::min<std::uint64_t>(next - base, window.size()) : 0;
    std::size_t decide = last ? window.size() : (window.size() > keep ? window.size() - keep : 0);
    auto to = from < decide ? patterns.search(window.data(), window.size(), from, decide,
                                              overlapping, search_error,
                                              [&](std::size_t at, std::size_t) {
                                                hits.push_back(base + at);
                                                return max == 0 || hits.size() < max;
                                              })
                            : from;
    next = base + to;
    auto drop = std::min(window.size(), std::max(to, decide));
    window.erase(0, drop);
    base += drop;
  };
  int err = read_in_pieces(fd, std::size_t{1} << 16, [&](std::string_view piece) {
    window += piece;
    scan(false);
  });
  if (err == 0)
    scan(true);
  ::close(fd);
  if (err == 0)
    err = search_error;
  if (err != 0)
    return failure{err, "find", name, ""};
  return hits;
}

/// The lines of the file `name` ("-": standard input) as patterns, each without its '\n'.
std::optional<std::vector<std::string>> read_pattern_file(const std::string& name) {
  int fd = 0;
  if (name != "-") {
    do {
      fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
      int err = errno;
      report_failure(name, failure{err, "read patterns", name, ""});
      return std::nullopt;
    }
  }
  std::string text;
  int err =
    read_in_pieces(fd, std::size_t{1} << 16, [&](std::string_view piece) { text += piece; });
  if (fd != 0)
    ::close(fd);
  if (err != 0) {
    report_failure(name, failure{err, "read patterns", name, ""});
    return std::nullopt;
  }
  std::vector<std::string> lines;
  std::size_t at = 0;
  while (at < text.size()) {
    auto nl = text.find('\n', at);
    if (nl == std::string::npos)
      nl = text.size();
    lines.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  return lines;
}

/// Where each named file's search begins (--from); files not named start at 0.
using start_offsets = std::map<std::string, std::int64_t>;

/// Appends one "LABEL:OFFSET" line per hit to `out`, or "LABEL:COUNT" with --count.
void append_hits(std::string& out, const std::string& label, const std::vector<std::uint64_t>& hits,
                 bool count) {
  if (count) {
    out += label + ":" + std::to_string(hits.size()) + "\n";
  } else {
    for (auto offset : hits)
      out += label + ":" + std::to_string(offset) + "\n";
  }
}

/// grep's exit status from what the whole run saw.
int exit_status(bool any_error, bool any_match) {
  if (any_error)
    return error_status;
  return any_match ? matched_status : no_match_status;
}

/// `find` with several --remote nodes: each node's lines in node order, prefixed with
/// "HOST:PORT: ". grep's statuses; a node that could not be reached is trouble (2).
int run_find_on_nodes(const find_options& o, const global_options& g,
                      const std::vector<std::string>& patterns, const start_offsets& starts,
                      const std::vector<std::string>& names) {
  auto c = make_cluster(g);
  bool clean = true;
  auto work = plan_nodes(c, g, o.tree, names, clean);
  auto hits = run_in_slices<mmap_manager::per_path<std::vector<std::uint64_t>>>(
    g, work, [&](const auto& slice, const bulk_options& opts) {
      cluster::per_node<std::map<std::filesystem::path, std::int64_t>> each;
      for (const auto& [node, names] : slice) {
        auto& mine = each[node];
        for (const auto& name : names) {
          auto it = starts.find(name);
          mine[name] = it == starts.end() ? 0 : it->second;
        }
      }
      return c.find_in_files(patterns, each, o.max_per_file, o.overlapping, opts);
    });
  if (!hits)
    return error_status;
  bool any_error = !clean;
  bool any_match = false;
  std::string out;
  for (const auto& w : work) {
    const auto& mine = (*hits)[w.node];
    if (w.unreachable || unreachable_in(w.node, mine)) {
      any_error = true;
      continue;
    }
    for (const auto& name : w.names) {
      auto it = mine.find(name);
      if (it == mine.end())
        continue;
      if (!it->second) {
        flush_output();
        report_failure(w.node + ": " + name, it->second.error());
        any_error = true;
        continue;
      }
      any_match = true;
      out.clear();
      append_hits(out, w.node + ": " + name, *it->second, o.count);
      write_output(out);
    }
  }
  flush_output();
  return exit_status(any_error, any_match);
}

/// The pattern texts from PATTERN, -e and -f. As grep: with -e or -f, PATTERN is no pattern but
/// the first file, so it moves to the front of `files`. nullopt: the problem is reported.
std::optional<std::vector<std::string>> pattern_texts(const find_options& o,
                                                      std::vector<std::string>& files) {
  std::vector<std::string> texts = o.patterns;
  const bool listed = !o.patterns.empty() || !o.pattern_files.empty();
  if (listed) {
    if (o.pattern_option->count() > 0)
      files.insert(files.begin(), o.pattern);
  } else {
    if (o.pattern_option->count() == 0) {
      report_message("find: no pattern given (PATTERN, -e or -f)");
      return std::nullopt;
    }
    texts.push_back(o.pattern);
  }
  for (const auto& name : o.pattern_files) {
    auto lines = read_pattern_file(name);
    if (!lines)
      return std::nullopt;
    texts.insert(texts.end(), lines->begin(), lines->end());
  }
  return texts;
}

/// The byte patterns to search for (--hex decoded); nullopt: the problem is reported.
std::optional<std::vector<std::string>> decode_patterns(const find_options& o,
                                                        const std::vector<std::string>& texts) {
  std::vector<std::string> patterns;
  for (const auto& text : texts) {
    auto pattern = text;
    if (o.hex) {
      auto bytes = decode_hex(text);
      if (!bytes) {
        report_message("--hex: '" + text + "' is not an even number of hex digits");
        return std::nullopt;
      }
      pattern = std::move(*bytes);
    }
    // As grep -o: an empty pattern among others adds no hit.
    if (!pattern.empty())
      patterns.push_back(std::move(pattern));
  }
  if (patterns.empty()) {
    report_message("the pattern is empty");
    return std::nullopt;
  }
  return patterns;
}

/// The --from offsets; nullopt: a malformed one is reported.
std::optional<start_offsets> parse_starts(const std::vector<std::string>& from) {
  start_offsets starts;
  for (const auto& f : from) {
    auto parsed = parse_from(f);
    if (!parsed) {
      report_message("--from '" + f + "': expected PATH=OFFSET with a decimal OFFSET >= 0");
      return std::nullopt;
    }
    starts[parsed->first] = parsed->second;
  }
  return starts;
}

/// One slice of the local search. It lives until printed: the hits come back by position, so
/// the names are needed to label them.
struct find_batch {
  std::size_t first = 0;
  std::vector<std::string> names;
  std::vector<bool> walked;
  std::vector<bool> streams;
};

/// The manager's jobs for `b`. Streams are left out and marked in `b.streams`: the manager maps
/// regular files only, so they are read here, in order with the rest, when the slice is printed.
std::vector<find_job> batch_jobs(find_batch& b, const start_offsets& starts, bool local) {
  std::vector<find_job> slice;
  slice.reserve(b.names.size());
  b.streams.assign(b.names.size(), false);
  for (std::size_t k = 0; k < b.names.size(); ++k) {
    const auto& name = b.names[k];
    // The walk lists regular files only: no stat for those.
    if (local && !b.walked[k] && is_stream(name)) {
      b.streams[k] = true;
      continue;
    }
    auto it = starts.empty() ? starts.end() : starts.find(name);
    slice.push_back(find_job{name, it == starts.end() ? 0 : it->second});
  }
  return slice;
}

/// What the local search has seen so far, for the exit status; `out` is reused across files.
struct find_tally {
  bool any_error = false;
  bool any_match = false;
  std::string out;
};

/// Prints the slice's files in order: the manager's `hits` for files, a search of their own for
/// the streams among them.
void print_batch(const find_options& o, const detail::pattern_set& compiled,
                 const start_offsets& starts, const find_batch& b,
                 std::vector<result<std::vector<std::uint64_t>>>& hits, find_tally& tally) {
  std::size_t next = 0;
  for (std::size_t k = 0; k < b.names.size(); ++k) {
    const auto& name = b.names[k];
    result<std::vector<std::uint64_t>> found = std::vector<std::uint64_t>{};
    if (b.streams[k]) {
      auto start = starts.find(name);
      found = find_in_stream(name, compiled, start == starts.end() ? 0 : start->second,
                             o.max_per_file, o.overlapping);
    } else if (next < hits.size()) {
      found = std::move(hits[next++]);
    }
    if (!found) {
      flush_output();
      report_failure(name, found.error());
      tally.any_error = true;
      continue;
    }
    if (found->empty())
      continue;
    tally.any_match = true;
    tally.out.clear();
    append_hits(tally.out, name, *found, o.count);
    write_output(tally.out);
  }
}

/// `find` through one manager (local or a single --remote): the files are searched a slice at a
/// time as the walk lists them, so a huge tree never sits in memory at once.
int run_find_here(const find_options& o, const global_options& g,
                  const std::vector<std::string>& patterns, const detail::pattern_set& compiled,
                  const start_offsets& starts, std::vector<std::string> names) {
  session rt{g};
  auto mgr = rt.manager();
  const bool trees = o.tree.recursive || o.tree.dereference;
  bool bar = progress_meter::wanted(g);
  // A walked tree's size is not known before the walk ends: the bar then counts bytes only.
  progress_meter meter{bar, bar && !trees ? total_size(g, names) : 0};
  path_stream paths{mgr, g, o.tree, std::move(names)};
  std::size_t handed_out = 0;
  find_tally tally;
  for_each_streamed_slice<find_batch>(
    slicing{},
    [&](find_batch& b, std::size_t max) {
      b.first = handed_out;
      bool any = paths.next(b.names, b.walked, max);
      handed_out += b.names.size();
      return any;
    },
    [&](find_batch& b) {
      return mgr.find_in_file_list(patterns, batch_jobs(b, starts, g.remote.empty()),
                                   o.max_per_file, o.overlapping, meter.options_for(b.first));
    },
    [&](find_batch& b, auto& future) {
      std::vector<result<std::vector<std::uint64_t>>> hits;
      try {
        hits = future.get();
        meter.finish(b.first);
      } catch (...) {
        auto why = failure_of(std::current_exception());
        report_failure("", why);
        tally.any_error = true;
        return;
      }
      print_batch(o, compiled, starts, b, hits, tally);
    });
  tally.any_error = tally.any_error || !paths.clean();
  flush_output();
  return exit_status(tally.any_error, tally.any_match);
}

int run_find(const find_options& o, const global_options& g) {
  std::vector<std::string> files = o.files;
  auto texts = pattern_texts(o, files);
  if (!texts)
    return error_status;
  auto patterns = decode_patterns(o, *texts);
  if (!patterns)
    return error_status;
  auto compiled = detail::pattern_set::make(*patterns);
  if (!compiled) {
    report_failure("", compiled.error());
    return error_status;
  }
  auto starts = parse_starts(o.from);
  if (!starts)
    return error_status;
  auto names = collect_paths(files, o.files_from, o.nul);
  if (!names)
    return error_status;
  if (names->empty()) {
    report_message("find: no files given");
    return error_status;
  }
  if (several_nodes(g))
    return run_find_on_nodes(o, g, *patterns, *starts, *names);
  return run_find_here(o, g, *patterns, *compiled, *starts, std::move(*names));
}

} // namespace

command add_find_command(CLI::App& app, const global_options& g) {
  auto o = std::make_shared<find_options>();
  auto* sub = app.add_subcommand(
    "find", "Print PATH:OFFSET for each occurrence of PATTERN (exit 0: found, 1: none, 2: error)");
  // CLI11 would read "-1" as the largest unsigned value, i.e. "all" in disguise.
  sub->add_option("--max-per-file", o->max_per_file, "At most N hits per file (0: all)")
    ->check(CLI::NonNegativeNumber);
  sub->add_flag("--overlapping", o->overlapping,
                "Report overlapping hits (\"aa\" in \"aaa\": 2); with several patterns, every "
                "offset where one starts");
  sub->add_flag("-c,--count", o->count, "Print PATH:COUNT for each file with a hit");
  sub->add_option("--from", o->from, "Start searching PATH at byte OFFSET (repeatable)")
    ->allow_extra_args(false)
    ->type_name("PATH=OFFSET");
  sub->add_flag("--hex", o->hex, "Patterns are hex bytes (\"00ff\", \"de ad\")");
  sub
    ->add_option("-e,--regexp", o->patterns,
                 "A pattern (repeatable); then every positional argument is a file. At each "
                 "offset the longest pattern starting there is reported, as grep -F -o -b")
    ->allow_extra_args(false)
    ->type_name("PATTERN");
  sub
    ->add_option("-f,--file", o->pattern_files,
                 "Patterns from this file, one a line ('-': stdin; repeatable)")
    ->allow_extra_args(false)
    ->type_name("FILE");
  sub->add_option("--files-from", o->files_from,
                  "Also search the paths listed in this file ('-': stdin), one per line");
  sub->add_flag("-0,--null", o->nul, "--files-from list is NUL-separated");
  add_tree_options(*sub, o->tree);
  o->pattern_option =
    sub->add_option("pattern", o->pattern, "The bytes to look for (when no -e or -f is given)");
  sub->add_option("files", o->files, "Files to search");
  return [o, &g] { return run_find(*o, g); };
}

} // namespace actorio::cli
