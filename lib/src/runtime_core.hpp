#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include <caf/all.hpp>

#include "actorio/config.hpp"
#include "actorio/messages/interfaces.hpp"
#include "actorio/system_config.hpp"
#include "actors/io_worker_actor.hpp"
#include "io/src/fd_reactor.hpp"
#include "lib/src/facade_bridge_actor.hpp"

namespace actorio::detail {

struct couple_shared;

/// What a runtime and every facade handle made from it share. The members are destroyed in
/// reverse order: actor handles go before an owned actor system, which goes before its config.
struct runtime_core {
  runtime_config config;
  std::unique_ptr<system_config> owned_config;
  std::unique_ptr<caf::actor_system> owned_system;
  caf::actor_system* system = nullptr;
  std::shared_ptr<io_worker_pool> pool;
  /// Set once at start and never reassigned, so facade threads may read it without locking; after
  /// shutdown it names a dead actor and requests to it fail with EBADF.
  mmap_manager_actor manager;
  /// The sender of every facade request and receiver of its reply (lib/src/facade_bridge_actor.hpp,
  /// lib/src/request.hpp); set once at start.
  caf::strong_actor_ptr bridge;
  /// Ids of the requests facade calls send in the bridge's name.
  std::atomic<std::uint64_t> next_request{1};
  /// "host:port" of the node a connected facade talks to (empty for a local runtime): failures
  /// that do not come from the node (lost connection, timeout) name it.
  std::string peer;
  /// Whether that connection is TLS.
  bool peer_tls = false;
  std::atomic<bool> stopped{false};
  /// The one epoll thread that tells every couple of this runtime when its pipes are ready.
  std::shared_ptr<fd_reactor> reactor;
  /// The process's stdin/stdout couple, made on first use; dropped at shutdown (it points back
  /// here).
  std::mutex stdcoup_lock;
  std::shared_ptr<couple_shared> stdcoup;

  /// Calls still waiting fail, and the bridge ends before an owned actor system does: once it has
  /// talked to a remote node, CAF's registry may hold the last reference to it.
  ~runtime_core() {
    if (bridge)
      facade_bridge::of(bridge).close();
  }

  caf::timespan timeout() const {
    return std::chrono::duration_cast<caf::timespan>(config.request_timeout);
  }
};

} // namespace actorio::detail
