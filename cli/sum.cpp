// `actorio sum`: digests in the exact output format of sha256sum & co. (or xxhsum), and `-c`.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "actorio/io_error.hpp"
#include "actorio/runtime.hpp"
#include "cli/checksum_list.hpp"
#include "cli/chunked_input.hpp"
#include "cli/command.hpp"
#include "cli/diagnostics.hpp"
#include "cli/interrupt.hpp"
#include "cli/path_list.hpp"
#include "cli/progress_meter.hpp"
#include "cli/session.hpp"
#include "cli/slices.hpp"
#include "cli/standard_output.hpp"
#include "io/src/digest.hpp"

namespace actorio::cli {

namespace {

struct sum_options {
  std::string algorithm = "sha256";
  bool check = false;
  bool tag = false;
  bool quiet = false;
  bool status = false;
  bool strict = false;
  bool warn = false;
  bool ignore_missing = false;
  std::string files_from;
  bool nul = false;
  std::vector<std::string> files;
  tree_options tree;
};

/// How results are printed: as coreutils' *sum, or as xxhsum for the xxHash family.
struct algorithm_info {
  std::string canonical;
  std::size_t hex_len = 0;
  enum class style { coreutils, xxhsum, xxhsum_tagged } format = style::coreutils;
};

/// Checks the name before any file is touched, so a typo is one message rather than one per file.
result<algorithm_info> describe_algorithm(const std::string& name) {
  auto h = detail::hasher::make(name);
  if (!h)
    return std::move(h).error();
  algorithm_info info;
  info.canonical = h->name();
  info.hex_len = h->finish_hex().size();
  if (info.canonical == "xxh64" || info.canonical == "xxh128")
    info.format = algorithm_info::style::xxhsum;
  else if (info.canonical == "xxh3")
    info.format = algorithm_info::style::xxhsum_tagged;
  return info;
}

/// Standard input cannot go through the facade (it takes paths and reads with pread, which a
/// pipe refuses), so it is hashed here with the same digest code the io workers use. Only the
/// first "-" sees the data; later ones hash what is left (nothing), as coreutils does.
result<std::string> digest_stdin(const std::string& algorithm) {
  auto h = detail::hasher::make(algorithm);
  if (!h)
    return std::move(h).error();
  int err = read_in_pieces(0, std::size_t{1} << 20,
                           [&](std::string_view piece) { h->update(piece.data(), piece.size()); });
  if (err != 0)
    return failure{err, "checksum", "-", ""};
  return h->finish_hex();
}

/// EMFILE/ENFILE are transient here: the other slice in flight (or another process) may hold the
/// descriptors for a moment. Such a file is retried alone (one request, one descriptor), with a
/// growing pause from the second attempt on.
result<std::string> retry_if_out_of_fds(const mmap_manager& mgr, const std::string& name,
                                        const std::string& algorithm, result<std::string> r) {
  constexpr int attempts = 8;
  for (int k = 0; k < attempts && !r && (r.error().code == EMFILE || r.error().code == ENFILE);
       ++k) {
    if (k > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(5 << k));
    try {
      r = mgr.checksum(name, algorithm).get();
    } catch (...) {
      r = failure_of(std::current_exception());
    }
  }
  return r;
}

/// Digests of `names` in order ("-" is standard input), handed to `out(index, result)` in order
/// as slices complete.
template <class Out>
void digest_all(const mmap_manager& mgr, const global_options& g,
                const std::vector<std::string>& names, const std::string& algorithm, Out out) {
  // Indices of the names that go through the facade; "-" is answered in place.
  std::vector<std::size_t> on_disk;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] != "-")
      on_disk.push_back(i);
  bool bar = progress_meter::wanted(g) && !on_disk.empty();
  progress_meter meter{bar, bar ? total_size(g, names) : 0};
  std::size_t printed = 0;
  auto flush_stdin_until = [&](std::size_t end) {
    for (; printed < end; ++printed)
      out(printed, digest_stdin(algorithm));
  };
  for_each_slice(
    on_disk.size(), slicing{},
    [&](std::size_t first, std::size_t last) {
      // A name given twice is hashed once; both lines print its result.
      std::vector<std::filesystem::path> paths;
      std::set<std::string_view> seen;
      for (auto k = first; k < last; ++k)
        if (seen.insert(names[on_disk[k]]).second)
          paths.emplace_back(names[on_disk[k]]);
      return mgr.bulk_checksum(paths, algorithm, meter.options_for(first));
    },
    [&](std::size_t first, std::size_t last, auto& future) {
      mmap_manager::per_path<std::string> sums;
      std::optional<failure> whole;
      try {
        sums = future.get();
      } catch (...) {
        whole = failure_of(std::current_exception());
      }
      meter.finish(first);
      for (auto k = first; k < last; ++k) {
        auto i = on_disk[k];
        flush_stdin_until(i);
        if (whole) {
          out(i, result<std::string>{*whole});
        } else if (auto it = sums.find(names[i]); it != sums.end()) {
          out(i, retry_if_out_of_fds(mgr, names[i], algorithm, it->second));
        } else {
          out(i, result<std::string>{failure{EIO, "checksum", names[i], "no result"}});
        }
        printed = i + 1;
      }
    });
  flush_stdin_until(names.size());
}

std::string format_line(const algorithm_info& alg, const sum_options& o, const std::string& hex,
                        const std::string& name) {
  switch (alg.format) {
  case algorithm_info::style::xxhsum:
    if (o.tag)
      return bsd_tag(alg.canonical) + " (" + (name == "-" ? "stdin" : name) + ") = " + hex + "\n";
    return xxhsum_line(hex, name == "-" ? "stdin" : name);
  case algorithm_info::style::xxhsum_tagged:
    return bsd_tag(alg.canonical) + " (" + (name == "-" ? "stdin" : name) + ") = " + hex + "\n";
  case algorithm_info::style::coreutils:
    break;
  }
  return o.tag ? tagged_line(bsd_tag(alg.canonical), hex, name) : sum_line(hex, name);
}

int run_sum_on_nodes(const sum_options& o, const global_options& g, const algorithm_info& alg,
                     const std::vector<std::string>& names);

int run_sum(const sum_options& o, const global_options& g, const algorithm_info& alg,
            std::vector<std::string> names) {
  if (several_nodes(g))
    return run_sum_on_nodes(o, g, alg, names);
  if (names.empty())
    names.emplace_back("-");
  session rt{g};
  int status = expand_trees(rt.manager(), g, o.tree, names) ? 0 : 1;
  digest_all(rt.manager(), g, names, alg.canonical,
             [&](std::size_t i, const result<std::string>& r) {
               if (r) {
                 write_output(format_line(alg, o, *r, names[i]));
               } else {
                 flush_output();
                 report_failure(names[i], r.error());
                 status = 1;
               }
             });
  flush_output();
  return status;
}

/// Names given twice are asked for once.
std::vector<std::filesystem::path> unique_paths(const std::vector<std::string>& names) {
  std::set<std::string> seen(names.begin(), names.end());
  return {seen.begin(), seen.end()};
}

/// `sum` with several --remote nodes: each node's lines in node order, each line prefixed with
/// "HOST:PORT: ". 2 when a node could not be reached, else 1 when an item failed.
/// Each node's digests of its names (see `run_in_slices`).
auto checksums_on_nodes(const cluster& c, const global_options& g,
                        const std::vector<node_work>& work, const algorithm_info& alg) {
  return run_in_slices<mmap_manager::per_path<std::string>>(
    g, work, [&](const auto& slice, const bulk_options& opts) {
      cluster::per_node<std::vector<std::filesystem::path>> lists;
      for (const auto& [node, names] : slice)
        lists[node] = unique_paths(names);
      return c.bulk_checksum(lists, alg.canonical, opts);
    });
}

int run_sum_on_nodes(const sum_options& o, const global_options& g, const algorithm_info& alg,
                     const std::vector<std::string>& names) {
  if (names.empty() || std::find(names.begin(), names.end(), "-") != names.end()) {
    report_message("standard input cannot be summed on several --remote nodes");
    return 2;
  }
  auto c = make_cluster(g);
  bool clean = true;
  auto work = plan_nodes(c, g, o.tree, names, clean);
  auto sums = checksums_on_nodes(c, g, work, alg);
  if (!sums)
    return 1;
  int status = clean ? 0 : 1;
  bool unreachable = false;
  for (const auto& w : work) {
    const auto& mine = (*sums)[w.node];
    if (w.unreachable || unreachable_in(w.node, mine)) {
      unreachable = true;
      continue;
    }
    for (const auto& name : w.names) {
      auto it = mine.find(name);
      if (it != mine.end() && it->second) {
        write_output(w.node + ": " + format_line(alg, o, *it->second, name));
        continue;
      }
      flush_output();
      report_failure(w.node + ": " + name, it == mine.end()
                                             ? failure{EIO, "checksum", name, "no result"}
                                             : it->second.error());
      status = 1;
    }
  }
  flush_output();
  return unreachable ? 2 : status;
}

/// One line of a list: its entry, or that it is to be skipped or is malformed.
struct list_line {
  checksum_list_parser::kind kind;
  checksum_entry entry;
  std::size_t number = 0;
};

/// Verifies one checksum list; returns false on any failure.
bool check_list(const mmap_manager& mgr, const sum_options& o, const global_options& g,
                const algorithm_info& alg, checksum_list_parser& parser,
                const std::string& list_name) {
  auto read = read_source(list_name);
  if (!read) {
    report_error(list_name, read.error().code);
    return false;
  }
  const std::string& text = *read;
  std::vector<list_line> lines;
  std::vector<std::string> names;
  std::vector<std::size_t> malformed;
  check_counts counts;
  std::size_t start = 0;
  std::size_t number = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    end = end == std::string::npos ? text.size() : end + 1;
    ++number;
    list_line l;
    l.number = number;
    l.kind = parser.parse(std::string_view{text}.substr(start, end - start), l.entry);
    start = end;
    // A list read from stdin cannot name stdin as well.
    if (l.kind == checksum_list_parser::kind::entry && list_name == "-" && l.entry.name == "-")
      l.kind = checksum_list_parser::kind::malformed;
    if (l.kind == checksum_list_parser::kind::malformed) {
      ++counts.misformatted;
      malformed.push_back(number);
      continue;
    }
    if (l.kind == checksum_list_parser::kind::entry) {
      names.push_back(l.entry.name);
      lines.push_back(std::move(l));
    }
  }
  bool quiet = o.quiet || g.quiet;
  // -w warnings come in line order among the per-file messages, as coreutils goes line by line.
  std::size_t warned = 0;
  auto warn_until = [&](std::size_t number) {
    for (; warned < malformed.size() && malformed[warned] < number; ++warned)
      if (o.warn)
        report_message(list_name + ": " + std::to_string(malformed[warned]) +
                       ": improperly formatted " + bsd_tag(alg.canonical) + " checksum line");
  };
  digest_all(mgr, g, names, alg.canonical, [&](std::size_t i, const result<std::string>& r) {
    const auto& entry = lines[i].entry;
    warn_until(lines[i].number);
    if (!r) {
      if (o.ignore_missing && r.error().code == ENOENT)
        return;
      ++counts.properly_formatted;
      ++counts.unreadable;
      flush_output();
      report_failure(entry.name, r.error());
      if (!o.status)
        write_output(check_line(entry.name, "FAILED open or read"));
      return;
    }
    ++counts.properly_formatted;
    bool match = *r == entry.hex;
    if (!match)
      ++counts.mismatched;
    if (!o.status && (!match || !quiet))
      write_output(check_line(entry.name, match ? "OK" : "FAILED"));
  });
  warn_until(static_cast<std::size_t>(-1));
  flush_output();
  if (o.ignore_missing && counts.properly_formatted == 0 && !names.empty()) {
    // Every listed file was missing: coreutils says so rather than "no properly formatted".
    if (!o.status)
      report_message(list_name + ": no file was verified");
    return false;
  }
  if (counts.properly_formatted == 0 || !o.status)
    std::cerr << check_warnings("actorio", list_name, counts) << std::flush;
  return counts.properly_formatted > 0 && counts.mismatched == 0 && counts.unreadable == 0 &&
         !(o.strict && counts.misformatted > 0);
}

/// One entry of a list checked on several nodes.
struct node_entry {
  std::string node;
  checksum_entry entry;
  std::size_t number = 0;
};

/// The node a line of a several-node list starts with ("HOST:PORT: "), among `nodes`; empty if
/// none.
std::string node_of_line(std::string_view line, const std::vector<std::string>& nodes) {
  for (const auto& n : nodes)
    if (line.size() > n.size() + 2 && line.starts_with(n) && line.substr(n.size(), 2) == ": ")
      return n;
  return {};
}

/// `sum -c` of a list that `sum` made with several --remote nodes: each line is checked on its
/// node. Returns false on any failure; sets `unreachable` when a node could not be reached.
bool check_list_on_nodes(const cluster& c, const sum_options& o, const global_options& g,
                         const algorithm_info& alg, checksum_list_parser& parser,
                         const std::string& list_name, bool& unreachable) {
  auto read = read_source(list_name);
  if (!read) {
    report_error(list_name, read.error().code);
    return false;
  }
  const std::string& text = *read;
  std::vector<node_entry> entries;
  std::vector<std::size_t> malformed;
  check_counts counts;
  cluster::per_node<std::vector<std::string>> lists;
  std::size_t start = 0;
  std::size_t number = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    end = end == std::string::npos ? text.size() : end + 1;
    ++number;
    auto line = std::string_view{text}.substr(start, end - start);
    start = end;
    node_entry e;
    e.number = number;
    e.node = node_of_line(line, c.nodes());
    auto kind = checksum_list_parser::kind::malformed;
    if (!e.node.empty())
      kind = parser.parse(line.substr(e.node.size() + 2), e.entry);
    else if (line.find_first_not_of("\r\n") == std::string_view::npos || line.starts_with("#"))
      kind = checksum_list_parser::kind::skip;
    if (kind == checksum_list_parser::kind::malformed) {
      ++counts.misformatted;
      malformed.push_back(number);
      continue;
    }
    if (kind == checksum_list_parser::kind::entry) {
      lists[e.node].emplace_back(e.entry.name);
      entries.push_back(std::move(e));
    }
  }
  if (o.warn)
    for (auto n : malformed)
      report_message(list_name + ": " + std::to_string(n) + ": improperly formatted " +
                     bsd_tag(alg.canonical) + " checksum line");
  std::vector<node_work> work;
  for (auto& [node, names] : lists)
    work.push_back(node_work{node, std::move(names), std::nullopt});
  auto sums = checksums_on_nodes(c, g, work, alg);
  if (!sums)
    return false;
  std::set<std::string> down;
  for (const auto& [node, results] : *sums)
    if (unreachable_in(node, results))
      down.insert(node);
  unreachable = unreachable || !down.empty();
  for (const auto& e : entries) {
    const auto& mine = (*sums)[e.node];
    auto it = mine.find(e.entry.name);
    auto label = e.node + ": " + e.entry.name;
    if (it == mine.end() || !it->second) {
      if (o.ignore_missing && it != mine.end() && it->second.error().code == ENOENT)
        continue;
      ++counts.properly_formatted;
      ++counts.unreadable;
      flush_output();
      if (!down.count(e.node))
        report_failure(label, it == mine.end() ? failure{EIO, "checksum", e.entry.name, "no result"}
                                               : it->second.error());
      if (!o.status)
        write_output(e.node + ": " + check_line(e.entry.name, "FAILED open or read"));
      continue;
    }
    ++counts.properly_formatted;
    bool match = *it->second == e.entry.hex;
    if (!match)
      ++counts.mismatched;
    if (!o.status && (!match || !o.quiet))
      write_output(e.node + ": " + check_line(e.entry.name, match ? "OK" : "FAILED"));
  }
  flush_output();
  if (counts.properly_formatted == 0 || !o.status)
    std::cerr << check_warnings("actorio", list_name, counts) << std::flush;
  return counts.properly_formatted > 0 && counts.mismatched == 0 && counts.unreadable == 0 &&
         !(o.strict && counts.misformatted > 0);
}

int run_check(const sum_options& o, const global_options& g, const algorithm_info& alg,
              std::vector<std::string> lists) {
  if (lists.empty())
    lists.emplace_back("-");
  if (several_nodes(g)) {
    auto c = make_cluster(g);
    checksum_list_parser parser{alg.hex_len, bsd_tag(alg.canonical)};
    bool ok = true;
    bool unreachable = false;
    for (const auto& list : lists)
      ok = check_list_on_nodes(c, o, g, alg, parser, list, unreachable) && ok;
    return unreachable ? 2 : ok ? 0 : 1;
  }
  session rt{g};
  // One parser for all lists: coreutils keeps the "bsd reversed" choice across them too.
  checksum_list_parser parser{alg.hex_len, bsd_tag(alg.canonical)};
  bool ok = true;
  for (const auto& list : lists)
    ok = check_list(rt.manager(), o, g, alg, parser, list) && ok;
  return ok ? 0 : 1;
}

} // namespace

command add_sum_command(CLI::App& app, const global_options& g) {
  auto o = std::make_shared<sum_options>();
  auto* sub = app.add_subcommand("sum", "Print or check checksums (output as sha256sum, md5sum, "
                                        "sha1sum, sha512sum, xxhsum -H1/-H2)");
  sub
    ->add_option("-a,--algorithm", o->algorithm,
                 "Digest: sha256 (default), md5, sha1, sha512, blake2b512, sha3-256, ... "
                 "(any openssl dgst name, hashlib names), xxh64, xxh3, xxh128")
    ->capture_default_str();
  sub->add_flag("-c,--check", o->check, "Read checksums from the FILEs and check them");
  sub->add_flag("--tag", o->tag, "Print BSD-style lines: ALG (NAME) = HEX");
  sub->add_flag("--quiet", o->quiet, "With -c: do not print OK for each verified file");
  sub->add_flag("--status", o->status, "With -c: print nothing, the exit status tells");
  sub->add_flag("--strict", o->strict, "With -c: exit 1 for improperly formatted lines");
  sub->add_flag("-w,--warn", o->warn, "With -c: warn about improperly formatted lines");
  sub->add_flag("--ignore-missing", o->ignore_missing, "With -c: skip files that do not exist");
  sub->add_option("--files-from", o->files_from,
                  "Also process the paths listed in this file ('-': stdin), one per line");
  sub->add_flag("-0,--null", o->nul, "--files-from list is NUL-separated");
  add_tree_options(*sub, o->tree);
  sub->add_option("files", o->files, "Files ('-' or none: standard input)");
  return [o, &g]() -> int {
    auto alg = describe_algorithm(o->algorithm);
    if (!alg) {
      // A name no digest has is a usage error, like an unknown option.
      report_message(alg.error().detail);
      return 2;
    }
    auto names = collect_paths(o->files, o->files_from, o->nul);
    if (!names)
      return 1;
    return o->check ? run_check(*o, g, *alg, std::move(*names))
                    : run_sum(*o, g, *alg, std::move(*names));
  };
}

} // namespace actorio::cli
