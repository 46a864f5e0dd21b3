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
#include "lib/src/fd_reactor.hpp"

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
  /// Sends every facade call (lib/src/request.hpp); set once at start.
  caf::actor bridge;
  /// Tickets of facade calls, for cancelling them through the bridge.
  std::atomic<std::uint64_t> next_ticket{1};
  /// "host:port" of the node a connected facade talks to (empty for a local runtime): failures
  /// that do not come from the node (lost connection, timeout) name it.
  std::string peer;
  std::atomic<bool> stopped{false};
  /// The one epoll thread that tells every couple of this runtime when its pipes are ready.
  std::shared_ptr<fd_reactor> reactor;
  /// The process's stdin/stdout couple, made on first use; dropped at shutdown (it points back
  /// here).
  std::mutex stdcoup_lock;
  std::shared_ptr<couple_shared> stdcoup;

  /// With an owned actor system, the bridge ends before the system does: once it has talked to
  /// a remote node, CAF's registry may hold the last reference to it, and an actor destroyed
  /// inside ~actor_system crashes.
  ~runtime_core() {
    if (!owned_system || !bridge)
      return;
    caf::scoped_actor self{*owned_system};
    self->monitor(bridge);
    self->send_exit(bridge, caf::exit_reason::user_shutdown);
    self->receive([](const caf::down_msg&) {});
  }

  caf::timespan timeout() const {
    return std::chrono::duration_cast<caf::timespan>(config.request_timeout);
  }
};

} // namespace actorio::detail
