#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include "actorio/messages/interfaces.hpp"

namespace actorio::detail {

/// The bytes one client node may have in flight on a server (`gate_options::max_bytes_in_flight`),
/// shared by the gate (bulk calls) and the node's served maps (map calls), which run on any
/// scheduler thread: hence atomic. A limit of 0 means none.
class byte_allowance {
public:
  explicit byte_allowance(std::uint64_t limit)
    : limit_(limit) {}

  /// Takes `bytes`: EFBIG for a request larger than the whole allowance, EAGAIN while earlier
  /// requests hold too much of it.
  std::optional<caf::error> reserve(std::uint64_t bytes, const char* op);

  /// Gives back what a finished request took.
  void release(std::uint64_t bytes);

  std::uint64_t limit() const noexcept {
    return limit_;
  }

  std::uint64_t in_flight() const noexcept {
    return used_.load();
  }

private:
  const std::uint64_t limit_;
  std::atomic<std::uint64_t> used_{0};
};

/// A proxy as its gate holds it: the map's interface plus close, which only the gate may send to
/// end the proxy (see served_map_impl).
using served_map_actor = mapped_file_actor::extend<caf::replies_to<caf::close_atom>::with<void>>;

struct served_map_state {
  mapped_file_actor map;
  /// The only sender whose close ends the proxy; a client's close is passed to it.
  mmap_manager_actor gate;
  std::shared_ptr<byte_allowance> allowance;
  /// Requests sent to the map and not answered yet: a closed proxy lives until they are.
  std::size_t pending = 0;
  /// Set by the gate once the client's last reference is released.
  bool closed = false;
  /// Set by the gate's second close: the proxy quits once `pending` is 0.
  bool ending = false;
  static inline const char* name = "actorio.served_map";
};

/// What a remote client holds instead of a map: one proxy per (client node, map), spawned by the
/// gate when it first hands the map to the node and ended when the node's last reference to it
/// is released (by `close`, or by the node's disconnect). One per (node, map) rather than per
/// reference because the manager hands out the same map for every open of a (path, mode), so a
/// node that opens a file twice gets the same handle twice, as it would from a local manager.
///
/// Every mapped_file request is passed on to the map and its answer (value or error) passed
/// back, in arrival order. The proxy answers itself, never by `delegate`: a delegated reply
/// would carry the map as its sender and so hand the client the real map. Only requests that
/// carry or return data are named in the behavior: they reserve their bytes from the node's
/// `allowance` until answered (EFBIG/EAGAIN as the gate's bulk calls): payloads count their
/// size, reads their bound (the size asked for, or the rest of the map, which a read to the end
/// first asks the map for). Every other request passes through as it came, so a new map
/// operation that moves no data needs nothing here.
///
/// A `close` from the client (not in its typed interface, but a peer may send one untyped)
/// releases one of the node's references to the map through the gate, exactly as
/// `(close_atom, proxy)` sent to the gate does; the map itself is unmapped by the
/// manager when its last reference (of any client) goes. The first `close` from the gate closes
/// the proxy: every later request fails with EBADF naming the operation. The second (when the
/// gate stops keeping it, or the node is gone) ends it once the requests under way are answered.
served_map_actor::behavior_type
served_map_impl(served_map_actor::stateful_pointer<served_map_state> self, mapped_file_actor map,
                mmap_manager_actor gate, std::shared_ptr<byte_allowance> allowance);

} // namespace actorio::detail
