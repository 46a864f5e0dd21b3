// `actorio copy`: cp for regular files, through the facade's bulk_copy (temp name + rename, an
// existing destination replaced atomically); between nodes through copy_between.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "actorio/cluster.hpp"
#include "actorio/io_error.hpp"
#include "actorio/remote.hpp"
#include "actorio/runtime.hpp"
#include "cli/command.hpp"
#include "cli/diagnostics.hpp"
#include "cli/interrupt.hpp"
#include "cli/progress_meter.hpp"
#include "cli/session.hpp"
#include "cli/slices.hpp"

namespace actorio::cli {

namespace {

namespace fs = std::filesystem;

struct copy_options {
  std::vector<std::string> args;
  bool flush = false;
  bool verify = false;
};

/// The runtime reports absolute paths; users should see the operand they typed, also for a file
/// the copy made inside a destination directory.
std::string shown_path(const std::string& src, const std::string& dst,
                       const std::string& reported) {
  auto reported_path = fs::path{reported}.lexically_normal();
  auto absolute = [](const std::string& operand) {
    std::error_code ec;
    auto abs = fs::absolute(operand, ec).lexically_normal();
    return ec ? fs::path{} : abs;
  };
  if (absolute(src) == reported_path)
    return src;
  auto dst_abs = absolute(dst);
  if (dst_abs == reported_path)
    return dst;
  if (!dst_abs.empty() && reported_path.parent_path() == dst_abs)
    return (fs::path{dst} / reported_path.filename()).string();
  return reported;
}

/// A copy operand that names a file on a node: "tls://HOST:PORT/PATH" or "tcp://HOST:PORT/PATH",
/// PATH relative to the served root. The scheme is required, so a local path can never be taken
/// for a node (a local file named so is written "./tls://..."); HOST:PORT ends at the first '/'
/// after it, so neither a colon in PATH nor one in an IPv6 HOST is ambiguous.
struct node_operand {
  endpoint where;
  std::string path;
};

bool names_a_node(const std::string& text) {
  return text.starts_with("tls://") || text.starts_with("tcp://");
}

/// The operand as a node and path; throws `io_error` (EINVAL) when malformed.
node_operand node_operand_of(const std::string& text, const global_options& g) {
  auto slash = text.find('/', 6);
  if (slash == std::string::npos || slash + 1 == text.size())
    throw io_error(
      failure{EINVAL, "copy", text, "expected tls://HOST:PORT/PATH or tcp://HOST:PORT/PATH"});
  return node_operand{parse_endpoint(text.substr(0, slash), g), text.substr(slash + 1)};
}

/// `actorio copy SRC DST` where either names a node: streamed between the two managers (see
/// copy_between), a local operand through a local runtime.
int run_node_copy(const copy_options& o, const global_options& g) {
  if (o.args.size() != 2) {
    report_message("copy: a copy that names a node (tls://, tcp://) takes one SRC and one DST");
    return 2;
  }
  if (!g.remote.empty()) {
    report_message("copy: --remote does not mix with operands that name a node (tls://, tcp://)");
    return 2;
  }
  std::unique_ptr<runtime> local;
  connect_options how;
  how.timeout = g.remote_timeout;
  std::vector<copy_end> ends;
  for (const auto& text : o.args) {
    if (!names_a_node(text)) {
      if (!local)
        local = std::make_unique<runtime>(make_runtime_config(g));
      ends.push_back(copy_end{local->manager(), text, "local"});
      continue;
    }
    auto n = node_operand_of(text, g);
    auto node = n.where.name();
    try {
      ends.push_back(copy_end{connect(n.where.host, n.where.port, n.where.tls, how), n.path, node});
    } catch (...) {
      report_unreachable(node, failure_of(std::current_exception()));
      return 2;
    }
  }
  node_copy_options opts;
  opts.verify = o.verify;
  opts.flush = o.flush;
  opts.step_timeout = g.remote_timeout;
  progress_meter meter{progress_meter::wanted(g), 0};
  auto op = copy_between(ends[0], ends[1], opts, meter.options_for_whole_job(0));
  while (op.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready)
    if (interrupted())
      op.cancel();
  try {
    op.get();
    meter.finish(0);
  } catch (...) {
    auto why = failure_of(std::current_exception());
    // The detail names the node that failed: the operand shown is that end's.
    const auto& shown =
      why.detail.find("node " + ends[1].node) != std::string::npos ? o.args[1] : o.args[0];
    auto text = shown + ": " + std::strerror(why.code);
    if (why.code == EIO && !why.detail.empty())
      text += " (" + why.detail + ")";
    report_message(text);
    return 1;
  }
  return 0;
}

int run_copy(const copy_options& o, const global_options& g) {
  if (std::any_of(o.args.begin(), o.args.end(), names_a_node))
    return run_node_copy(o, g);
  if (o.args.size() < 2) {
    report_message("copy: missing destination file operand after '" + o.args.front() + "'");
    return 2;
  }
  // Every check on the destination (does it exist, is it a directory, is it the source) is the
  // manager's, made where the files are: with --remote, on the server.
  const auto& dest = o.args.back();
  bool many = o.args.size() > 2;
  auto how =
    actorio::copy_options{.flush = o.flush,
                          .verify = o.verify,
                          .replace = true,
                          .target = many ? copy_target::directory : copy_target::file_or_directory};
  std::vector<std::string> sources(o.args.begin(), o.args.end() - 1);
  session rt{g};
  auto mgr = rt.manager();
  bool bar = progress_meter::wanted(g);
  // Sizes of local files say nothing about a server's.
  progress_meter meter{bar, bar ? total_size(g, sources) : 0};
  int status = 0;
  bool told_not_a_directory = false;
  for_each_slice(
    sources.size(), slicing{},
    [&](std::size_t first, std::size_t last) {
      std::vector<std::pair<fs::path, fs::path>> pairs;
      for (auto i = first; i < last; ++i)
        pairs.emplace_back(sources[i], dest);
      return mgr.bulk_copy(pairs, how, meter.options_for(first));
    },
    [&](std::size_t first, std::size_t last, auto& future) {
      std::vector<result<std::uint64_t>> copied;
      try {
        copied = future.get();
        meter.finish(first);
      } catch (...) {
        report_failure("", failure_of(std::current_exception()));
        status = 1;
        return;
      }
      for (auto i = first; i < last && i - first < copied.size(); ++i) {
        const auto& r = copied[i - first];
        if (r)
          continue;
        status = 1;
        const auto& why = r.error();
        auto shown = shown_path(sources[i], dest, why.path);
        // Said once, as cp does, rather than once per source.
        if (many && shown == dest && (why.code == ENOTDIR || why.code == ENOENT)) {
          if (!told_not_a_directory)
            report_message("target '" + dest + "' is not a directory");
          told_not_a_directory = true;
          continue;
        }
        report_failure(shown, why);
      }
    });
  return status;
}

} // namespace

command add_copy_command(CLI::App& app, const global_options& g) {
  auto o = std::make_shared<copy_options>();
  auto* sub = app.add_subcommand(
    "copy", "Copy SRC to DST, or SRC... into DIR (bytes, mode bits and holes kept); SRC or DST "
            "written tls://HOST:PORT/PATH or tcp://HOST:PORT/PATH is a file on that node "
            "(copied between nodes, or between a node and this machine)");
  sub->add_flag("--flush", o->flush, "fsync the copies (and their directory) before returning");
  sub->add_flag("--verify", o->verify,
                "compare a digest of each copy with its source before it gets its name "
                "(a mismatch is an error and leaves no copy)");
  sub->add_option("paths", o->args, "SRC DST, or SRC... DIR")->required()->type_name("PATH");
  return [o, &g] { return run_copy(*o, g); };
}

} // namespace actorio::cli
