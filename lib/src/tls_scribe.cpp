#include "lib/src/tls_scribe.hpp"

#include <exception>

#include <openssl/err.h>

#include <caf/io/network/native_socket.hpp>

namespace actorio::detail {

namespace net = caf::io::network;

tls_stream_policy::tls_stream_policy(caf::openssl::session_ptr session, tls_scribe* owner)
  : session_(std::move(session))
  , owner_(owner) {}

net::rw_state tls_stream_policy::read_some(std::size_t& result, net::native_socket fd, void* buf,
                                           std::size_t len) {
  ERR_clear_error();
  auto state = session_->read_some(result, fd, buf, len);
  if (handshaken_ || state == net::rw_state::failure)
    return state;
  // An empty read says where the handshake is without reading data: "indeterminate" once it
  // is over, "success" while it goes on.
  std::size_t none = 0;
  ERR_clear_error();
  auto probe = session_->read_some(none, fd, nullptr, 0);
  if (probe == net::rw_state::failure)
    return probe;
  if (probe == net::rw_state::indeterminate) {
    handshaken_ = true;
    owner_->handshake_done();
  } else {
    owner_->handshake_continues();
  }
  return state;
}

net::rw_state tls_stream_policy::write_some(std::size_t& result, net::native_socket fd,
                                            const void* buf, std::size_t len) {
  ERR_clear_error();
  return session_->write_some(result, fd, buf, len);
}

bool tls_stream_policy::must_read_more(net::native_socket fd, std::size_t threshold) {
  return session_->must_read_more(fd, threshold);
}

tls_scribe::tls_scribe(net::default_multiplexer& mx, net::native_socket fd,
                       caf::openssl::session_ptr session)
  : caf::io::scribe(net::conn_hdl_from_socket(fd))
  , stream_(mx, fd, std::move(session), this) {}

void tls_scribe::configure_read(caf::io::receive_policy::config config) {
  stream_.configure_read(config);
  if (!launched_)
    launch();
}

void tls_scribe::ack_writes(bool enable) {
  stream_.ack_writes(enable);
}

std::vector<char>& tls_scribe::wr_buf() {
  return handshaken_ ? stream_.wr_buf() : held_;
}

std::vector<char>& tls_scribe::rd_buf() {
  return stream_.rd_buf();
}

void tls_scribe::graceful_shutdown() {
  stream_.graceful_shutdown();
  detach(&stream_.backend(), false);
}

void tls_scribe::flush() {
  if (handshaken_)
    stream_.flush(this);
  else
    flush_asked_ = true;
}

void tls_scribe::handshake_continues() {
  // With nothing held in the stream, this write ends at once unless the session waits to write.
  stream_.force_empty_write(this);
}

void tls_scribe::handshake_done() {
  handshaken_ = true;
  auto& out = stream_.wr_buf();
  out.insert(out.end(), held_.begin(), held_.end());
  held_.clear();
  held_.shrink_to_fit();
  if (flush_asked_)
    stream_.flush(this);
}

std::string tls_scribe::addr() const {
  auto x = net::remote_addr_of_fd(stream_.fd());
  return x ? std::move(*x) : std::string{};
}

std::uint16_t tls_scribe::port() const {
  auto x = net::remote_port_of_fd(stream_.fd());
  return x ? *x : 0;
}

void tls_scribe::launch() {
  launched_ = true;
  stream_.start(this);
  // An empty write gets the TLS handshake going when it waits for this end to write; otherwise
  // the multiplexer drops the socket from its write set after it.
  stream_.force_empty_write(this);
}

void tls_scribe::add_to_loop() {
  stream_.activate(this);
}

void tls_scribe::remove_from_loop() {
  stream_.passivate();
}

caf::openssl::session_ptr start_tls_session(caf::actor_system& sys, net::native_socket fd,
                                            bool accepted) {
  try {
    ERR_clear_error();
    return caf::openssl::make_session(sys, fd, accepted);
  } catch (const std::exception&) {
    // CAF throws when the certificate or key cannot be loaded; both were checked at start, so
    // only a file changed since can get here. The connection is refused, the process goes on.
    return nullptr;
  }
}

} // namespace actorio::detail
