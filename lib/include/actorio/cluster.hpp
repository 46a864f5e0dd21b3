#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "actorio/mmap_manager.hpp"
#include "actorio/operation.hpp"
#include "actorio/remote.hpp"

namespace actorio {

/// One node of a cluster: where its `actorio serve` listens and how to talk to it (plain TCP, or
/// TLS with these files), as `connect` takes them.
struct endpoint {
  std::string host;
  std::uint16_t port = 0;
  tls_options tls;

  /// "host:port": the node's name in every result.
  std::string name() const;
};

/// How a cluster talks to its nodes.
struct cluster_options {
  /// How each node is connected: the connect timeout, and that of each single non-bulk call.
  connect_options connect;
  /// Longest one node's part of a bulk call may take, from when the call starts (its connect
  /// included). A node that has not answered by then (stopped, swapped out, its network gone
  /// quiet without a reset) fails its own items with ETIMEDOUT, its part is cancelled and its
  /// connection dropped (made again on the next call); the other nodes' results still arrive.
  /// Set it above the longest part expected (hashing a large file takes seconds per GiB).
  /// 0: no deadline.
  std::chrono::milliseconds deadline{std::chrono::minutes(10)};
};

/// Several served managers used as one: each bulk call sends one request to every node at once
/// (all in flight together) and gathers the replies, keyed by node name ("host:port") and path.
///
/// A node that cannot be used fails its own items and no one else's: ECONNREFUSED when nothing
/// listens there or it refused the TLS handshake (such failures have op "connect"), ECONNRESET
/// when its connection is lost before it answered (the server died mid-call), ETIMEDOUT when it
/// accepted but did not answer the first call within `connect_options::timeout`, or did not finish
/// its part within `cluster_options::deadline` (the detail names the node). Connections are
/// made on first use and kept; a node whose call failed that way is connected again on the next
/// call. Nodes are connected in parallel, each with an actor system of its own.
///
/// Progress (`bulk_options::on_progress`) is the sum over the nodes: totals grow as each node's
/// first report arrives. `cancel()` stops every node's part, as `operation` describes.
///
/// Thread-safety: every method may be called from any thread at the same time.
class cluster {
public:
  /// Per node name, what that node gave.
  template <class T>
  using per_node = std::map<std::string, T>;
  template <class T>
  using per_path = mmap_manager::per_path<T>;

  /// Connects nowhere yet: each node is connected on its first call. EINVAL (as `io_error`, op
  /// "cluster") for no nodes, or a node given twice.
  explicit cluster(std::vector<endpoint> nodes, cluster_options opts = {});
  /// As above with the default deadline.
  cluster(std::vector<endpoint> nodes, connect_options opts);
  cluster(cluster&&) noexcept;
  cluster& operator=(cluster&&) noexcept;
  ~cluster();

  /// The nodes' names, in the order given.
  const std::vector<std::string>& nodes() const noexcept;

  /// The manager of the node `name`, connected now if it is not: for the calls this class does
  /// not spread. Throws `io_error` as `connect` does, and EINVAL for a name not in the cluster.
  mmap_manager node(const std::string& name) const;

  /// On every node, `mmap_manager::bulk_checksum` of `paths`.
  operation<per_node<per_path<std::string>>>
  bulk_checksum(const std::vector<std::filesystem::path>& paths, std::string algorithm = {},
                const bulk_options& opts = {}) const;

  /// As above with a list of paths per node; nodes left out get no request and no entry. EINVAL
  /// for the whole call when it names a node not in the cluster.
  operation<per_node<per_path<std::string>>>
  bulk_checksum(const per_node<std::vector<std::filesystem::path>>& paths,
                std::string algorithm = {}, const bulk_options& opts = {}) const;

  /// On every node, `mmap_manager::find_in_files`. A node that fails has every path of `starts`
  /// with its failure.
  operation<per_node<per_path<std::vector<std::uint64_t>>>>
  find_in_files(std::string_view pattern,
                const std::map<std::filesystem::path, std::int64_t>& starts,
                std::uint64_t max_per_file = 0, bool allow_overlapping = false,
                const bulk_options& opts = {}) const;

  /// As above with several patterns (as `mmap_manager::find_in_files` takes them) and the files
  /// (and start offsets) per node; nodes left out get no request.
  operation<per_node<per_path<std::vector<std::uint64_t>>>>
  find_in_files(const std::vector<std::string>& patterns,
                const per_node<std::map<std::filesystem::path, std::int64_t>>& starts,
                std::uint64_t max_per_file = 0, bool allow_overlapping = false,
                const bulk_options& opts = {}) const;

  /// On every node, `mmap_manager::bulk_read`; each node's server limits what one call reads.
  operation<per_node<per_path<byte_pieces>>>
  bulk_read(const std::map<std::filesystem::path, std::optional<std::vector<byte_range>>>& files,
            const bulk_options& opts = {}) const;

  /// On every node, `mmap_manager::compact_files`.
  operation<per_node<per_path<size_change>>>
  compact_files(const std::vector<std::filesystem::path>& paths,
                const bulk_options& opts = {}) const;

  /// As above with a list of paths per node; nodes left out get no request.
  operation<per_node<per_path<size_change>>>
  compact_files(const per_node<std::vector<std::filesystem::path>>& paths,
                const bulk_options& opts = {}) const;

  /// On every node, `mmap_manager::prefetch_files`; a node that fails has each path with its
  /// failure. The maps stay open while the result (its `prefetched` values) lives.
  operation<per_node<mmap_manager::prefetched>>
  prefetch_files(const std::vector<std::filesystem::path>& paths, std::int64_t init_size = 0,
                 const bulk_options& opts = {}) const;

  /// On every node, the whole `mmap_manager::walk` of `root`: its pages one after the other,
  /// gathered into one page (`done` set, `next` empty), or the failure of the node or of `root`.
  operation<per_node<result<walk_page>>> walk(const std::filesystem::path& root,
                                              const walk_options& options = {},
                                              const bulk_options& opts = {}) const;

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace actorio
