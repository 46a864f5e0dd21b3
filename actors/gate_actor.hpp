#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "actorio/messages/interfaces.hpp"
#include "actors/io_worker_actor.hpp"

namespace actorio::detail {

/// What a gate checks and reports.
struct gate_options {
  /// Base of the relative paths that bulk_read sizes.
  std::string root;
  /// Largest total a bulk_read may return; larger ones fail with EFBIG.
  std::uint64_t max_bulk_read_bytes = 0;
  /// Told about each client node on its first request.
  std::function<void(const std::string&)> on_client;
};

struct gate_state {
  mmap_manager_actor manager;
  /// Sizes the files of a bulk_read (stat is a blocking syscall).
  std::shared_ptr<io_worker_pool> pool;
  gate_options options;
  std::set<caf::node_id> clients;
  static inline const char* name = "actorio.gate";
};

/// The face of a manager that remote clients see: it forwards every request to the manager with
/// `delegate` (so replies, progress reports and the manager's watch on the requester all concern
/// the remote caller), refusing first what a served manager must not do for one client: a
/// bulk_read whose reply would exceed the limit.
mmap_manager_actor::behavior_type gate_impl(mmap_manager_actor::stateful_pointer<gate_state> self,
                                            mmap_manager_actor manager,
                                            std::shared_ptr<io_worker_pool> pool,
                                            gate_options options);

} // namespace actorio::detail
