#pragma once

#include <cstdint>
#include <set>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

namespace actorio::detail {

/// Publishes `whom` (with the interface `sigs`) on plain TCP at `address` (empty: every address)
/// and `port` (0: one the kernel picks) like `caf::io::middleman::publish`, except that accepted
/// connections get descriptor numbers in rotation instead of the lowest free one -> the port.
///
/// Why: CAF 0.17.6's BASP broker names a connection by its descriptor number and, when the peer
/// closes it, forgets that number's node only when a cleanup message it sends through its BASP
/// message queue comes back. A connection accepted before that under the same number is taken
/// for the departed node: its handshake does not register, its requests arrive in the departed
/// node's name (anonymously once the cleanup ran) and their replies are lost. With rotation a
/// number comes back only once the cursor has gone round to it again, unless no number above the
/// cursor is free (near the descriptor limit).
caf::expected<std::uint16_t> publish_rotating(caf::actor_system& sys, caf::strong_actor_ptr whom,
                                              std::set<std::string> sigs, std::uint16_t port,
                                              const std::string& address, bool reuse);

} // namespace actorio::detail
