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

/// One end of `copy_between`: a manager (local, or connected to a node), a path as that manager
/// resolves it, and the name failures give the node ("host:port", or "local").
struct copy_end {
  mmap_manager manager;
  std::filesystem::path path;
  std::string node;
};

/// Copies the regular file `from.path` on `from`'s manager to `to.path` on `to`'s, returning the
/// bytes copied. The bytes are read in chunks from the source and written to a staged file
/// (`mmap_manager::stage`) on the destination, at most `opts.window` chunks in flight each way;
/// the staged file is renamed over `to.path` (replacing an existing file atomically; fsynced
/// first with `flush`) only when complete and, with `verify`, when the digests match. When both
/// ends are served nodes, the destination is first asked to make the copy itself
/// (`mmap_manager::pull`), so that the bytes cross one connection instead of two and this
/// process: a destination whose server does not pull from the source (`serve_options::pull_from`)
/// or cannot reach it leaves the copy to this process, which streams it through. A pull that
/// reports no progress for twice `step_timeout` fails with ETIMEDOUT. On any failure
/// (the source unreadable, either node gone or silent mid-way, a cancel) the staged file is
/// dropped: the destination is left as it was and no temporary stays behind, also when the
/// destination's process dies (the staged file has no name until the commit).
///
/// Failures are `io_error`s with op "copy" (or the step's: "connect", "stage",
/// "commit_staged"), the errno, the path on the node concerned and that node in the detail:
/// ENOENT/EISDIR for the source, EIO when the source shrank while being read or the digests
/// differ, EROFS for a read-only destination, EACCES for a path that leaves a served root,
/// ECONNRESET/ETIMEDOUT for a node lost or silent, ECANCELED after `cancel()`. Progress: bytes
/// written of the source's size (one item), the first report (0 bytes done) as soon as the size
/// is known. Runs on a thread of its own.
operation<std::uint64_t> copy_between(copy_end from, copy_end to,
                                      const node_copy_options& opts = {},
                                      const bulk_options& progress = {});

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

  /// `copy_between` from `path_a` on node `node_a` to `path_b` on node `node_b` (the same node
  /// is allowed), each connected as the bulk calls connect them; a node whose connection was
  /// found lost is connected again on the next call. EINVAL for a name not in the cluster.
  operation<std::uint64_t> copy(const std::string& node_a, const std::filesystem::path& path_a,
                                const std::string& node_b, const std::filesystem::path& path_b,
                                const node_copy_options& opts = {},
                                const bulk_options& progress = {}) const;

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace actorio
