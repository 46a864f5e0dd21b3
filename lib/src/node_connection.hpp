#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>

namespace actorio::detail {

/// What a connect to a node gave: the actor published there and its interface, or why not.
/// `err` is an errno (ETIMEDOUT, ECONNREFUSED, ...) when the socket could not be connected;
/// otherwise `why` is CAF's error from the BASP handshake, if it failed.
struct node_connection {
  caf::strong_actor_ptr actor;
  std::set<std::string> interface;
  int err = 0;
  caf::error why;
};

/// Connects to the node at `host:port` (with `tls`, through caf::openssl's session, which the
/// actor system must have loaded) and completes CAF's BASP handshake, all within `timeout`.
///
/// CAF's middleman connects with a blocking connect(2) in its own actor and waits for the
/// handshake without a deadline, so a client that gave up could not end its actor system while
/// either was pending. Here the socket is connected (non-blocking, with the deadline) before CAF
/// sees it, and a connection still in the handshake at the deadline is closed, so a failed
/// connect leaves nothing pending.
node_connection connect_node(caf::actor_system& sys, const std::string& host, std::uint16_t port,
                             bool tls, std::chrono::nanoseconds timeout);

} // namespace actorio::detail
