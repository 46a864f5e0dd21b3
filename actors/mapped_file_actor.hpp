#pragma once

#include <memory>
#include <string>

#include "actorio/messages/interfaces.hpp"
#include "actors/io_worker_actor.hpp"
#include "lib/src/mapped_region.hpp"

namespace actorio::detail {

/// State of one mapped file: the region and the pool its blocking work runs on.
struct mapped_file_state {
  /// Shared with the worker running the current operation; the actor awaits each operation, so
  /// only one thread touches the region at a time.
  std::shared_ptr<mapped_region> region;
  std::shared_ptr<io_worker_pool> pool;
  /// Algorithm for a digest request that names none.
  std::string default_digest;
  static inline const char* name = "actorio.mapped_file";
};

/// Serves one open map. Every operation runs on an io worker while the actor awaits it, so
/// operations are applied one at a time in arrival order. After close the actor quits.
mapped_file_actor::behavior_type
mapped_file_impl(mapped_file_actor::stateful_pointer<mapped_file_state> self,
                 std::shared_ptr<mapped_region> region, std::shared_ptr<io_worker_pool> pool,
                 std::string default_digest);

} // namespace actorio::detail
