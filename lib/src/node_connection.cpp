#include "lib/src/node_connection.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <optional>

#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/scoped_actor.hpp>

#include "lib/src/tls_scribe.hpp"

namespace actorio::detail {

namespace {

namespace net = caf::io::network;
using clock = std::chrono::steady_clock;

/// A non-blocking TCP socket connected to `host:port` by `deadline`, or -errno.
int connected_socket(const std::string& host, std::uint16_t port, clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  auto service = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0)
    return rc == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses{found, &::freeaddrinfo};
  int err = ECONNREFUSED;
  for (auto* a = found; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    err = rc == 0 ? 0 : errno;
    while (err == EINPROGRESS || err == EINTR) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
      if (left.count() <= 0) {
        err = ETIMEDOUT;
        break;
      }
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1 << 30)));
      if (rc < 0) {
        err = errno;
        continue;
      }
      if (rc == 0)
        continue;
      socklen_t len = sizeof err;
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    }
    if (err == 0) {
      int on = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      return fd;
    }
    ::close(fd);
    if (err == ETIMEDOUT)
      break;
  }
  return -err;
}

/// Closes `conn` as if its peer had hung up, unless CAF has closed it already: the broker then
/// fails the pending handshake and forgets the connection. In the multiplexer's thread, which is
/// the broker's.
void abandon(caf::actor_system& sys, caf::io::scribe_ptr conn) {
  auto& mx = sys.middleman().backend();
  mx.post([&mx, conn = std::move(conn)] {
    if (!conn->detached())
      conn->io_failure(&mx, net::operation::read);
  });
}

} // namespace

node_connection connect_node(caf::actor_system& sys, const std::string& host, std::uint16_t port,
                             bool tls, std::chrono::nanoseconds timeout) {
  node_connection result;
  auto deadline = clock::now() + timeout;
  int fd = connected_socket(host, port, deadline);
  if (fd < 0) {
    result.err = -fd;
    return result;
  }
  auto* mx = dynamic_cast<net::default_multiplexer*>(&sys.middleman().backend());
  if (!mx) {
    ::close(fd);
    result.err = EINVAL;
    return result;
  }
  // What CAF's middleman actor does with a connection it made: the BASP broker adopts it and
  // answers once the server's handshake is in.
  caf::io::scribe_ptr conn;
  if (tls) {
    auto session = start_tls_session(sys, fd, false);
    if (!session) {
      ::close(fd);
      result.err = ECONNREFUSED;
      return result;
    }
    conn = caf::make_counted<tls_scribe>(*mx, fd, std::move(session));
  } else {
    conn = mx->new_scribe(fd);
  }
  auto broker = sys.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  auto left = std::max(clock::duration{1}, deadline - clock::now());
  {
    caf::scoped_actor self{sys};
    self->request(broker, left, caf::connect_atom_v, conn, port)
      .receive(
        [&](const caf::node_id&, caf::strong_actor_ptr& ptr, std::set<std::string>& ifs) {
          result.actor = std::move(ptr);
          result.interface = std::move(ifs);
        },
        [&](caf::error& err) { result.why = std::move(err); });
  }
  if (result.why)
    abandon(sys, std::move(conn));
  return result;
}

} // namespace actorio::detail
