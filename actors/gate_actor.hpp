#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "actorio/messages/interfaces.hpp"
#include "actors/io_worker_actor.hpp"
#include "actors/served_map_actor.hpp"
#include "io/src/path_sandbox.hpp"

namespace actorio::detail {

/// A copy a client asked this node to pull from another (see pull_atom).
struct pull_request {
  /// "tcp://HOST:PORT" or "tls://HOST:PORT".
  std::string source;
  /// The file there, relative to that node's root.
  std::string src;
  /// Where it goes here.
  std::string dst;
  node_copy_options options;
};

/// Makes the copy `request` describes and returns the bytes copied, blocking the calling thread
/// until it is done. It ends with ECANCELED soon after `cancelled` is set, and calls `report`
/// (unless empty) with its progress at most once per `every`.
using pull_runner = std::function<result<std::uint64_t>(
  const pull_request& request, const std::atomic<bool>& cancelled, std::chrono::milliseconds every,
  const std::function<void(const progress&)>& report)>;

/// What a gate checks and reports. A limit of 0 means none.
struct gate_options {
  /// Base of the relative paths that bulk_read sizes.
  std::string root;
  /// Largest total a bulk_read may return; larger ones fail with EFBIG.
  std::uint64_t max_bulk_read_bytes = 0;
  /// Map handles one client node may hold (each open counts until closed); EMFILE beyond.
  std::size_t max_open_maps = 0;
  /// Payload and reply bytes of one client node's unfinished bulk_read, bulk_write and sparse
  /// requests; EAGAIN beyond, EFBIG for one request larger than the whole allowance.
  std::uint64_t max_bytes_in_flight = 0;
  /// Told about each client node when it is first seen and when it is gone.
  std::function<void(const std::string&)> on_connect;
  std::function<void(const std::string&)> on_disconnect;
  /// Runs the pulls clients ask for, each on a worker of `pull_workers` for as long as it takes
  /// (copies beyond the workers wait for one). Either null: this node pulls from no one (EPERM).
  pull_runner pull;
  std::shared_ptr<io_worker_pool> pull_workers;
};

struct gate_state {
  /// What one client node holds on the server.
  struct client {
    std::string name;
    /// The node's actors that sent requests, each monitored: their proxies die with the
    /// connection.
    std::set<caf::actor_addr> actors;
    /// A map the node holds: the proxy the node was given for it (see served_map_actor) and
    /// the references the node holds (a map opened twice is held twice).
    struct held {
      mapped_file_actor map;
      served_map_actor proxy;
      std::size_t refs = 0;
    };
    /// Keyed by the map's address.
    std::map<caf::actor_addr, held> maps;
    /// The node's staged files (ids at the manager); each counts in `refs` as a map does.
    std::set<std::uint64_t> staged;
    /// References held plus opens under way: what `max_open_maps` bounds.
    std::size_t refs = 0;
    /// Shared with the node's proxies, whose map calls count too.
    std::shared_ptr<byte_allowance> allowance;
    /// Proxies of maps the node released, oldest first: each answers EBADF while kept.
    std::deque<served_map_actor> closed;
    static constexpr std::size_t closed_kept = 64;
  };
  /// A request the gate made to the manager on a client's behalf (keyed by the gate's request
  /// id): its progress reports go to the client under the client's own request id.
  struct relay {
    caf::actor requester;
    std::uint64_t request = 0;
    caf::node_id node;
  };

  /// A pull under way: who asked (its progress and cancel use the requester's own request id)
  /// and the flag that stops it.
  struct pull_run {
    relay who;
    std::shared_ptr<std::atomic<bool>> cancelled;
  };

  mmap_manager_actor manager;
  /// Sizes the files of a bulk_read (stat is a blocking syscall).
  std::shared_ptr<io_worker_pool> pool;
  gate_options options;
  /// The served root, which bulk_read's files are sized beneath; null if it could not be opened
  /// (every file then counts 0 and the manager reports the error).
  std::shared_ptr<const path_sandbox> root;
  std::map<caf::node_id, client> clients;
  std::map<std::uint64_t, relay> relays;
  /// Pulls under way, by a key of the gate's.
  std::map<std::uint64_t, pull_run> pulls;
  std::uint64_t pull_counter = 0;
  /// Set by the server's shutdown: every client request is refused from then on.
  bool stopping = false;
  static inline const char* name = "actorio.gate";
};

/// The face of a manager that remote clients see. It keeps per client node what the node holds
/// (map references, bytes in flight), refuses what would go over the limits, forwards the rest
/// to the manager and releases everything a node held once its connection is lost (cancelling
/// the bulk work it started). A client's requests are made as the gate's own and answered by the
/// gate: an answer delegated to the manager would name the manager as its sender, a handle with
/// which the client could bypass the gate. Local requests are delegated. A remote client never gets
/// a map itself: every handle handed to it is a proxy (served_map_actor) that counts its bytes and
/// cannot close the map for others. Progress reports are passed on only when they come from the
/// manager. A local `shutdown` (the server's) releases every client's maps; a remote one is refused
/// with EPERM.
mmap_manager_actor::behavior_type gate_impl(mmap_manager_actor::stateful_pointer<gate_state> self,
                                            mmap_manager_actor manager,
                                            std::shared_ptr<io_worker_pool> pool,
                                            gate_options options);

} // namespace actorio::detail
