// Single-file subcommands: compact, sparse, read, write.
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>

#include "actorio/io_error.hpp"
#include "actorio/runtime.hpp"
#include "cli/chunked_input.hpp"
#include "cli/command.hpp"
#include "cli/diagnostics.hpp"
#include "cli/interrupt.hpp"
#include "cli/path_list.hpp"
#include "cli/session.hpp"
#include "cli/slices.hpp"
#include "cli/standard_output.hpp"

namespace actorio::cli {

namespace {

namespace fs = std::filesystem;

/// Pieces of this size move between the file and stdin/stdout, so memory stays bounded.
constexpr std::int64_t io_step = std::int64_t{8} << 20;

/// "4096", "4K", "1M", "2G", "1T" (binary units) -> bytes; nullopt if malformed or negative.
std::optional<std::int64_t> parse_size(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || value < 0 || end == text.data())
    return std::nullopt;
  std::string_view unit{end, static_cast<std::size_t>(text.data() + text.size() - end)};
  int shift = 0;
  if (unit == "K" || unit == "k")
    shift = 10;
  else if (unit == "M")
    shift = 20;
  else if (unit == "G")
    shift = 30;
  else if (unit == "T")
    shift = 40;
  else if (!unit.empty())
    return std::nullopt;
  if (value > (std::numeric_limits<std::int64_t>::max() >> shift))
    return std::nullopt;
  return value << shift;
}

/// Runs `body`, turning a facade failure into "actorio: PATH: strerror" and status 1.
template <class F>
int guarded(const std::string& path, F body) {
  try {
    return body();
  } catch (...) {
    report_failure(path, failure_of(std::current_exception()));
    return 1;
  }
}

// -- compact ------------------------------------------------------------------------------------

struct compact_options {
  std::vector<std::string> files;
  std::string files_from;
  bool nul = false;
  tree_options tree;
};

/// `compact` with several --remote nodes: each node's lines in node order, prefixed with
/// "HOST:PORT: ". 2 when a node could not be reached, else 1 when an item failed.
int run_compact_on_nodes(const compact_options& o, const global_options& g,
                         const std::vector<std::string>& names) {
  auto c = make_cluster(g);
  bool clean = true;
  auto work = plan_nodes(c, g, o.tree, names, clean);
  auto sizes = run_in_slices<mmap_manager::per_path<size_change>>(
    g, work, [&](const auto& slice, const bulk_options& opts) {
      cluster::per_node<std::vector<fs::path>> lists;
      for (const auto& [node, names] : slice)
        lists[node] = std::vector<fs::path>(names.begin(), names.end());
      return c.compact_files(lists, opts);
    });
  if (!sizes)
    return 1;
  int status = clean ? 0 : 1;
  bool unreachable = false;
  for (const auto& w : work) {
    const auto& mine = (*sizes)[w.node];
    if (w.unreachable || unreachable_in(w.node, mine)) {
      unreachable = true;
      continue;
    }
    for (const auto& name : w.names) {
      auto it = mine.find(name);
      if (it == mine.end() || !it->second) {
        flush_output();
        report_failure(w.node + ": " + name, it == mine.end()
                                               ? failure{EIO, "compact", name, "no result"}
                                               : it->second.error());
        status = 1;
        continue;
      }
      if (!g.quiet)
        write_output(w.node + ": " + name + ": " + std::to_string(it->second->old_size) + " -> " +
                     std::to_string(it->second->new_size) + "\n");
    }
  }
  flush_output();
  return unreachable ? 2 : status;
}

int run_compact(const compact_options& o, const global_options& g) {
  auto names = collect_paths(o.files, o.files_from, o.nul);
  if (!names)
    return 1;
  if (several_nodes(g))
    return run_compact_on_nodes(o, g, *names);
  session rt{g};
  auto mgr = rt.manager();
  int status = expand_trees(mgr, g, o.tree, *names) ? 0 : 1;
  for_each_slice(
    names->size(), slicing{},
    [&](std::size_t first, std::size_t last) {
      std::vector<fs::path> paths(names->begin() + first, names->begin() + last);
      return mgr.compact_files(paths);
    },
    [&](std::size_t first, std::size_t last, auto& future) {
      mmap_manager::per_path<size_change> sizes;
      try {
        sizes = future.get();
      } catch (...) {
        report_failure("", failure_of(std::current_exception()));
        status = 1;
        return;
      }
      for (auto i = first; i < last; ++i) {
        const auto& name = (*names)[i];
        auto it = sizes.find(name);
        if (it == sizes.end() || !it->second) {
          report_failure(name, it == sizes.end() ? failure{EIO, "compact", name, "no result"}
                                                 : it->second.error());
          status = 1;
          continue;
        }
        if (!g.quiet) {
          // The manager's sizes: with --remote, the server's file, never a local namesake.
          auto line = name + ": " + std::to_string(it->second->old_size) + " -> " +
                      std::to_string(it->second->new_size) + "\n";
          write_output(line);
        }
      }
    });
  return status;
}

// -- sparse -------------------------------------------------------------------------------------

struct sparse_options {
  std::string path;
  std::string size;
  std::vector<std::string> chunks;
};

/// Status of a command line that names a bad value (as for CLI11's own parse errors).
constexpr int usage_status = 2;

int run_sparse(const sparse_options& o, const global_options& g) {
  auto size = parse_size(o.size);
  if (!size) {
    report_message("sparse: invalid size '" + o.size + "'");
    return usage_status;
  }
  std::vector<chunk> chunks;
  for (const auto& c : o.chunks) {
    auto eq = c.find('=');
    auto offset = eq == std::string::npos ? std::nullopt : parse_size(c.substr(0, eq));
    if (!offset) {
      report_message("sparse: expected OFFSET=TEXT, got '" + c + "'");
      return usage_status;
    }
    auto text_size = static_cast<std::int64_t>(c.size() - eq - 1);
    // SIZE is the file's size: a chunk may not make it longer (the library would grow it).
    if (*offset > *size - text_size) {
      report_message("sparse: chunk '" + c.substr(0, std::min<std::size_t>(eq + 1 + 16, c.size())) +
                     "' ends past SIZE " + o.size);
      return usage_status;
    }
    chunks.push_back(
      chunk{*offset, bytes(c.begin() + static_cast<std::ptrdiff_t>(eq) + 1, c.end())});
  }
  session rt{g};
  return guarded(o.path, [&] {
    auto file = rt.manager().create_sparse(o.path, *size, std::move(chunks)).get();
    file.close().get();
    return 0;
  });
}

// -- read ---------------------------------------------------------------------------------------

struct read_options {
  std::string path;
  std::int64_t offset = 0;
  std::int64_t length = -1;
};

int run_read(const read_options& o, const global_options& g) {
  session rt{g};
  return guarded(o.path, [&] {
    auto file = rt.manager().open(o.path, 0, open_mode::read_only).get();
    auto offset = o.offset;
    auto left = o.length;
    while (left != 0) {
      auto want = left < 0 ? io_step : std::min(left, io_step);
      auto data = file.read(offset, want).get();
      if (data.empty())
        break;
      write_output(std::string_view{data.data(), data.size()});
      if (!flush_output())
        return 1;
      offset += static_cast<std::int64_t>(data.size());
      if (left > 0)
        left -= static_cast<std::int64_t>(data.size());
    }
    file.close().get();
    return 0;
  });
}

// -- write --------------------------------------------------------------------------------------

struct write_options {
  std::string path;
  std::int64_t offset = 0;
};

int run_write(const write_options& o, const global_options& g) {
  session rt{g};
  auto mgr = rt.manager();
  return guarded(o.path, [&] {
    std::optional<mapped_file> file;
    try {
      file = mgr.open(o.path, 0, open_mode::read_write).get();
    } catch (const io_error& e) {
      if (e.code() != std::errc::no_such_file_or_directory)
        throw;
    }
    auto offset = o.offset;
    int err = read_in_pieces(0, static_cast<std::size_t>(io_step), [&](std::string_view piece) {
      if (offset > std::numeric_limits<std::int64_t>::max() - static_cast<std::int64_t>(io_step))
        throw io_error(failure{EFBIG, "write", o.path, ""});
      auto end = offset + static_cast<std::int64_t>(piece.size());
      // A missing file is created at its final size for this piece: the size is then the
      // kernel's to refuse (EFBIG), and a refused new file is removed, not left empty.
      if (!file)
        file = mgr.create(o.path, end, true).get();
      offset += static_cast<std::int64_t>(file->write(piece, offset).get());
    });
    if (err != 0) {
      report_error("standard input", err);
      return 1;
    }
    // Empty input still leaves the file existing, as `: >>PATH` would.
    if (!file)
      file = mgr.create(o.path, 0, true).get();
    file->close().get();
    return 0;
  });
}

} // namespace

command add_compact_command(CLI::App& app, const global_options& g) {
  auto o = std::make_shared<compact_options>();
  auto* sub = app.add_subcommand("compact", "Strip trailing NUL bytes; prints PATH: OLD -> NEW");
  sub->add_option("--files-from", o->files_from,
                  "Also compact the paths listed in this file ('-': stdin), one per line");
  sub->add_flag("-0,--null", o->nul, "--files-from list is NUL-separated");
  add_tree_options(*sub, o->tree);
  sub->add_option("files", o->files, "Files to compact");
  return [o, &g] { return run_compact(*o, g); };
}

command add_sparse_command(CLI::App& app, const global_options& g) {
  auto o = std::make_shared<sparse_options>();
  auto* sub = app.add_subcommand(
    "sparse", "Create a new sparse file of SIZE bytes (K/M/G/T suffixes) holding only the TEXTs");
  sub->add_option("path", o->path, "The file to create (must not exist)")->required();
  sub->add_option("size", o->size, "Its size, e.g. 1G")->required();
  sub->add_option("chunks", o->chunks, "Data to place: OFFSET=TEXT")->type_name("OFFSET=TEXT");
  return [o, &g] { return run_sparse(*o, g); };
}

command add_read_command(CLI::App& app, const global_options& g) {
  auto o = std::make_shared<read_options>();
  auto* sub =
    app.add_subcommand("read", "Copy LENGTH bytes (default: to the end) at OFFSET to stdout");
  sub->add_option("path", o->path, "The file to read")->required();
  sub->add_option("offset", o->offset, "Byte offset (default 0)")->check(CLI::NonNegativeNumber);
  sub->add_option("length", o->length, "Bytes to read (default: to the end)")
    ->check(CLI::NonNegativeNumber);
  return [o, &g] { return run_read(*o, g); };
}

command add_write_command(CLI::App& app, const global_options& g) {
  auto o = std::make_shared<write_options>();
  auto* sub = app.add_subcommand(
    "write", "Write standard input into PATH at OFFSET (created if missing; the rest is kept)");
  sub->add_option("path", o->path, "The file to write")->required();
  sub->add_option("offset", o->offset, "Byte offset")->required()->check(CLI::NonNegativeNumber);
  return [o, &g] { return run_write(*o, g); };
}

} // namespace actorio::cli
