#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actorio/cluster.hpp"
#include "actorio/mmap_manager.hpp"
#include "actorio/runtime.hpp"
#include "cli/command.hpp"
#include "cli/diagnostics.hpp"
#include "cli/path_list.hpp"
#include "cli/progress_meter.hpp"
#include "cli/slices.hpp"

namespace actorio::cli {

/// The manager a command works with: a local runtime's, or with `--remote`, a server's (paths
/// are then relative to the served root). Throws `io_error` when the server cannot be reached,
/// and EINVAL when `--remote` was given more than once (only the commands that run on every
/// node take several).
class session {
public:
  explicit session(const global_options& g);

  mmap_manager manager() const;

private:
  std::unique_ptr<runtime> local_;
  std::optional<mmap_manager> remote_;
};

/// Splits "HOST:PORT" (the last colon separates); throws `io_error` (EINVAL) when malformed.
std::pair<std::string, std::uint16_t> split_host_port(const std::string& text);

/// One `--remote` value as an endpoint: "[tls://|tcp://]HOST:PORT"; the TLS files are --tls-*'s
/// for a "tls://" node, or for an unprefixed one when --tls-cert is given. Throws EINVAL.
endpoint parse_endpoint(const std::string& text, const global_options& g);

/// True when `--remote` was given more than once: the command runs on every node.
bool several_nodes(const global_options& g);

/// The cluster of every `--remote` node, in the order given.
cluster make_cluster(const global_options& g);

/// What one node of a several-node command works on.
struct node_work {
  /// "HOST:PORT", as lines are prefixed with it.
  std::string node;
  /// The names to ask the node about (trees expanded on that node with -r).
  std::vector<std::string> names;
  /// Why the node could not be reached at all, when it could not.
  std::optional<failure> unreachable;
};

/// Whether a failure that came back for a node's item means the node could not be reached at
/// all (its connection was never made).
bool is_unreachable(const failure& why);

/// Reports on stderr, once, that `node` could not be reached: "actorio: NODE: strerror".
void report_unreachable(const std::string& node, const failure& why);

/// Per node in `--remote` order, the names to work on there: `names` with -r trees expanded on
/// that node (each walk's reports name the node). A node that cannot be reached for its walk is
/// reported and marked. Sets `clean` to false when a walk reported anything.
std::vector<node_work> plan_nodes(const cluster& c, const global_options& g, const tree_options& t,
                                  const std::vector<std::string>& names, bool& clean);

/// Runs `call(lists, options)`, a cluster bulk call taking a list per node, on slices of every
/// reachable node's names (names [first, last) of each node per call, as `for_each_slice` bounds
/// them), so that no node is asked for everything at once; every node works on each slice at once.
/// Returns each node's results merged, or nullopt when a call failed as a whole (reported) or the
/// run was interrupted. `options` draw the progress bar (bytes summed over the nodes) when one is
/// wanted.
template <class PerPath, class Call>
std::optional<cluster::per_node<PerPath>>
run_in_slices(const global_options& g, const std::vector<node_work>& work, Call call) {
  std::size_t n = 0;
  for (const auto& w : work)
    if (!w.unreachable)
      n = std::max(n, w.names.size());
  cluster::per_node<PerPath> merged;
  for (const auto& w : work)
    if (!w.unreachable)
      merged[w.node];
  // Nodes found out of reach are not asked again: their later names get the same failure.
  std::map<std::string, failure> down;
  bool failed = false;
  progress_meter meter{progress_meter::wanted(g), 0};
  for_each_slice(
    n, slicing{},
    [&](std::size_t first, std::size_t last) {
      cluster::per_node<std::vector<std::string>> lists;
      for (const auto& w : work)
        if (!w.unreachable && !down.count(w.node) && first < w.names.size())
          lists[w.node].assign(w.names.begin() + static_cast<std::ptrdiff_t>(first),
                               w.names.begin() +
                                 static_cast<std::ptrdiff_t>(std::min(last, w.names.size())));
      return call(lists, meter.options_for(first));
    },
    [&](std::size_t first, std::size_t last, auto& future) {
      try {
        for (auto& [node, results] : future.get()) {
          if (!results.empty() && !results.begin()->second.ok() &&
              is_unreachable(results.begin()->second.error()))
            down.emplace(node, results.begin()->second.error());
          merged[node].merge(results);
        }
      } catch (...) {
        if (!failed)
          report_failure("", failure_of(std::current_exception()));
        failed = true;
      }
      meter.finish(first);
      for (const auto& w : work)
        if (auto d = down.find(w.node); d != down.end())
          for (auto i = first; i < std::min(last, w.names.size()); ++i)
            merged[w.node].try_emplace(
              w.names[i], failure{d->second.code, d->second.op, w.names[i], d->second.detail});
    });
  if (failed || interrupted())
    return std::nullopt;
  return merged;
}

/// True (after reporting it once) when `results`, a node's per-path results, say that the node
/// could not be reached: every item then carries the same failure of its connect.
template <class PerPath>
bool unreachable_in(const std::string& node, const PerPath& results) {
  if (results.empty() || results.begin()->second.ok())
    return false;
  const auto& why = results.begin()->second.error();
  if (!is_unreachable(why))
    return false;
  report_unreachable(node, why);
  return true;
}

} // namespace actorio::cli
