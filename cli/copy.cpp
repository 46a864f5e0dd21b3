// `actorio copy`: cp for regular files, through the facade's copy_file (temp name + rename).
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>

#include "actorio/runtime.hpp"
#include "cli/command.hpp"
#include "cli/diagnostics.hpp"
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

/// One source and where it goes. The facade never overwrites (a failed copy must leave no
/// destination), so an existing destination is replaced like cp does, but atomically: the copy
/// goes to `staged` next to it and is renamed over it once complete.
struct copy_item {
  std::string src;
  std::string dst;
  std::string staged;
};

std::string staged_name(const fs::path& dst, std::size_t k) {
  auto name = "." + dst.filename().string() + ".actorio-cli-" + std::to_string(::getpid()) + "-" +
              std::to_string(k);
  return (dst.parent_path() / name).string();
}

/// The runtime reports absolute paths; users should see the operand they typed (and never the
/// staging name).
std::string shown_path(const copy_item& item, const std::string& reported) {
  auto same = [&](const std::string& operand) {
    std::error_code ec;
    auto abs = fs::absolute(operand, ec).lexically_normal();
    return !ec && abs == fs::path{reported}.lexically_normal();
  };
  if (same(item.src))
    return item.src;
  if (same(item.dst) || (!item.staged.empty() && same(item.staged)))
    return item.dst;
  return reported;
}

int run_copy(const copy_options& o, const global_options& g) {
  if (o.args.size() < 2) {
    report_message("copy: missing destination file operand after '" + o.args.front() + "'");
    return 2;
  }
  fs::path dest = o.args.back();
  std::error_code ec;
  bool dest_is_dir = fs::is_directory(dest, ec);
  if (o.args.size() > 2 && !dest_is_dir) {
    report_message("target '" + dest.string() + "' is not a directory");
    return 1;
  }
  int status = 0;
  std::vector<copy_item> items;
  for (std::size_t k = 0; k + 1 < o.args.size(); ++k) {
    const auto& src = o.args[k];
    fs::path dst = dest_is_dir ? dest / fs::path{src}.filename() : dest;
    copy_item item{src, dst.string(), {}};
    if (fs::exists(fs::symlink_status(dst, ec))) {
      if (fs::equivalent(src, dst, ec)) {
        report_message("'" + src + "' and '" + dst.string() + "' are the same file");
        status = 1;
        continue;
      }
      item.staged = staged_name(dst, k);
    }
    items.push_back(std::move(item));
  }
  session rt{g};
  auto mgr = rt.manager();
  bool bar = progress_meter::wanted(g) && !items.empty();
  std::vector<std::string> sources;
  for (const auto& item : items)
    sources.push_back(item.src);
  progress_meter meter{bar, bar ? total_size(sources) : 0};
  for_each_slice(
    items.size(), slicing{},
    [&](std::size_t first, std::size_t last) {
      std::vector<std::pair<fs::path, fs::path>> pairs;
      for (auto i = first; i < last; ++i)
        pairs.emplace_back(items[i].src, items[i].staged.empty() ? items[i].dst : items[i].staged);
      return mgr.bulk_copy(pairs, actorio::copy_options{.flush = o.flush, .verify = o.verify},
                           meter.options_for(first));
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
        const auto& item = items[i];
        const auto& r = copied[i - first];
        if (!r) {
          report_failure(shown_path(item, r.error().path), r.error());
          status = 1;
          continue;
        }
        if (!item.staged.empty()) {
          fs::rename(item.staged, item.dst, ec);
          if (ec) {
            report_error(item.dst, ec.value());
            fs::remove(item.staged, ec);
            status = 1;
          }
        }
      }
    });
  return status;
}

} // namespace

command add_copy_command(CLI::App& app, const global_options& g) {
  auto o = std::make_shared<copy_options>();
  auto* sub = app.add_subcommand(
    "copy", "Copy SRC to DST, or SRC... into DIR (bytes, mode bits and holes kept)");
  sub->add_flag("--flush", o->flush, "fsync the copies (and their directory) before returning");
  sub->add_flag("--verify", o->verify,
                "compare a digest of each copy with its source before it gets its name "
                "(a mismatch is an error and leaves no copy)");
  sub->add_option("paths", o->args, "SRC DST, or SRC... DIR")->required()->type_name("PATH");
  return [o, &g] { return run_copy(*o, g); };
}

} // namespace actorio::cli
