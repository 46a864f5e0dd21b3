#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/native_socket.hpp>
#include <caf/io/network/stream_impl.hpp>
#include <caf/io/scribe.hpp>
#include <caf/openssl/session.hpp>

namespace actorio::detail {

class tls_scribe;

/// How a TLS connection's stream reads and writes: through its OpenSSL session, which also
/// drives the TLS handshake on the first reads and writes. Tells its scribe when the handshake
/// is over.
///
/// Every call starts with an empty OpenSSL error queue, as SSL_get_error requires: the queue is
/// per thread, and the multiplexer's thread serves every connection, so an error left by one
/// (a client that left without TLS's close_notify) made CAF's session take the next connection's
/// "would block" for a failure and drop it.
class tls_stream_policy {
public:
  tls_stream_policy(caf::openssl::session_ptr session, tls_scribe* owner);

  caf::io::network::rw_state read_some(std::size_t& result, caf::io::network::native_socket fd,
                                       void* buf, std::size_t len);
  caf::io::network::rw_state write_some(std::size_t& result, caf::io::network::native_socket fd,
                                        const void* buf, std::size_t len);
  bool must_read_more(caf::io::network::native_socket fd, std::size_t threshold);

private:
  caf::openssl::session_ptr session_;
  tls_scribe* owner_;
  bool handshaken_ = false;
};

/// A BASP connection over TLS, for a socket actorio accepted or connected itself.
///
/// caf::openssl keeps its own SSL scribe inside libcaf_openssl (it exports only
/// `caf::openssl::session` and `make_session`), so this is that scribe rebuilt on the exported
/// session: adapted from CAF 0.17.6, libcaf_openssl/src/openssl/middleman_actor.cpp
/// (class scribe_impl), Copyright 2011-2018 Dominik Charousset, BSD 3-Clause License.
///
/// Unlike CAF's, it holds what the broker writes until the TLS handshake is over: a session in
/// its handshake reports a write that made no progress as a success, so CAF's stream, with bytes
/// to send, polled the writable socket in a busy loop for as long as the peer kept silent.
class tls_scribe : public caf::io::scribe {
public:
  tls_scribe(caf::io::network::default_multiplexer& mx, caf::io::network::native_socket fd,
             caf::openssl::session_ptr session);

  void configure_read(caf::io::receive_policy::config config) override;
  void ack_writes(bool enable) override;
  std::vector<char>& wr_buf() override;
  std::vector<char>& rd_buf() override;
  void graceful_shutdown() override;
  void flush() override;
  std::string addr() const override;
  std::uint16_t port() const override;
  void add_to_loop() override;
  void remove_from_loop() override;

private:
  friend class tls_stream_policy;

  void launch();
  /// After a read while the handshake runs: lets the session write its part if it waits to.
  void handshake_continues();
  /// Sends what the broker wrote meanwhile.
  void handshake_done();

  bool launched_ = false;
  bool handshaken_ = false;
  bool flush_asked_ = false;
  /// What the broker writes before the handshake is over.
  std::vector<char> held_;
  caf::io::network::stream_impl<tls_stream_policy> stream_;
};

/// A TLS session for `fd` with the actor system's OpenSSL settings, its handshake started as the
/// accepting (`accepted`) or the connecting end; null when OpenSSL gives up at once or the
/// settings cannot be loaded.
caf::openssl::session_ptr start_tls_session(caf::actor_system& sys,
                                            caf::io::network::native_socket fd, bool accepted);

} // namespace actorio::detail
