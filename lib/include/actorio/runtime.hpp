#pragma once

#include <memory>

#include "actorio/config.hpp"
#include "actorio/mmap_manager.hpp"

namespace caf {
class actor_system;
} // namespace caf

namespace actorio {

namespace detail {
struct runtime_core;
} // namespace detail

/// actorio inside a CAF actor system: the io workers, the manager actor and the maps it
/// supervises. Several runtimes may live in one process.
///
/// Stopping (`shutdown()` or the destructor) closes every open map (unmapping it: what was written
/// is in the file), then stops every actor the runtime spawned, so an owned actor system can end
/// and a borrowed one is left as it was found. Handles that outlive the runtime fail with EBADF;
/// an owned actor system lives on until the last of them is gone.
///
/// Thread-safety: `manager()`, `system()` and `config()` may be called from any thread;
/// `shutdown()` and the destructor must not race other calls on the same runtime object.
class runtime {
public:
  /// Starts a runtime with an actor system of its own, configured from `cfg`.
  explicit runtime(runtime_config cfg = {});

  /// Starts a runtime inside `sys`, which must outlive every actorio handle. `sys`'s config
  /// should have seen `actorio::add_message_types` (needed for remote use). The `actorio.*`
  /// keys of its config fill in `cfg` when it is not given.
  explicit runtime(caf::actor_system& sys);
  runtime(caf::actor_system& sys, runtime_config cfg);

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Calls `shutdown()`, reporting a failure to close a map on stderr.
  ~runtime();

  /// The memory-mapped file manager.
  mmap_manager manager() const;

  /// The actor system the runtime runs in.
  caf::actor_system& system() const;

  /// The configuration in force (with `workers` and `root` filled in).
  const runtime_config& config() const;

  /// Closes every open map, then stops the runtime's actors. Idempotent. Throws `io_error` if a
  /// map could not be closed cleanly (the others are closed regardless).
  void shutdown();

private:
  std::shared_ptr<detail::runtime_core> core_;
};

} // namespace actorio
