#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

namespace actorio::detail {

/// What the front door lets peers do.
struct front_door_limits {
  /// Connections at once; one more is accepted and closed at once.
  std::size_t max_clients = 1;
  /// Payload bytes that peers which have not completed CAF's handshake may have announced and
  /// not yet sent, all together (CAF reserves a message's whole size when its header arrives).
  /// 0: no limit.
  std::uint64_t max_handshake_bytes = std::uint64_t{64} << 20;
  /// Largest message a peer may announce before it has completed the handshake: CAF's own
  /// handshake message is well under a KiB, and one peer must not take the whole budget above.
  std::uint32_t max_handshake_message = 1u << 20;
  /// Messages up to this size do not count against `max_handshake_bytes`, so that peers that
  /// fill it cannot keep a real client from completing its handshake.
  std::uint32_t small_handshake_message = 64u << 10;
  /// Largest message a peer may announce once it has completed the handshake. 0: no limit.
  std::uint64_t max_message_bytes = 0;
  /// A connection that has not completed the handshake (with TLS: the TLS and then the BASP
  /// handshake) by then is closed.
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};
};

struct front_door_state;

/// Publishing (plain TCP or TLS) in front of CAF's BASP broker: actorio's own doorman accepts
/// (with a connection limit, and without spinning when descriptors run out) and its connections
/// vet every BASP header (with TLS, once decrypted) before CAF sees it, so no peer can make the
/// server reserve memory it announces but never sends beyond the limits. Plain connections are
/// otherwise CAF's own; TLS ones are actorio's `tls_scribe`. It also ends what CAF keeps of each
/// client node after it is gone.
///
/// Thread-safety: construct and destroy on one thread; publish from any.
class front_door {
public:
  front_door(caf::actor_system& sys, front_door_limits limits);
  front_door(const front_door&) = delete;
  front_door& operator=(const front_door&) = delete;
  /// Stops closing overdue handshakes; the listening socket goes with CAF's unpublish. Must
  /// happen before the actor system ends.
  ~front_door();

  /// Publishes `whom` (whose interface is `sigs`) on `address:port` as CAF's middleman (`tls`:
  /// caf::openssl's) would; with `tls` the actor system must have the OpenSSL manager. Returns
  /// the port, or the error CAF would return (sec::cannot_open_port, ...).
  caf::expected<std::uint16_t> publish(caf::strong_actor_ptr whom, std::set<std::string> sigs,
                                       std::uint16_t port, const std::string& address, bool tls);

private:
  caf::actor_system& system_;
  std::shared_ptr<front_door_state> state_;
  std::thread sweeper_;
};

/// The number of clients a server allows by default: half the descriptor limit, so that the
/// other half is left for the files they open.
std::size_t default_max_clients();

} // namespace actorio::detail
