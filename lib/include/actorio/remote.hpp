#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "actorio/config.hpp"
#include "actorio/mmap_manager.hpp"

namespace actorio {

/// TLS files (PEM). All empty means plain TCP. With a certificate, CAF's OpenSSL layer demands a
/// certificate from the peer too and checks it against `ca`: both ends need all three, and a
/// peer whose certificate `ca` did not sign is refused during the handshake (mutual TLS).
struct tls_options {
  /// This end's certificate (chain).
  std::filesystem::path cert;
  /// The private key of `cert`.
  std::filesystem::path key;
  /// The certificate authority that must have signed the peer's certificate.
  std::filesystem::path ca;

  /// True when any of the files is set.
  bool enabled() const noexcept {
    return !cert.empty() || !key.empty() || !ca.empty();
  }
};

/// Limits a served manager applies to each request.
struct serve_limits {
  /// Largest total a `bulk_read` may return, in bytes; a larger one fails as a whole with EFBIG
  /// before anything is read (sized by stat, so a file growing meanwhile can exceed it). A reply
  /// is built in memory on the server, so this bounds what one client can make it hold.
  std::uint64_t max_bulk_read_bytes = std::uint64_t{64} << 20;
};

/// How `serve` listens and what it serves.
struct serve_options {
  /// The address to listen on ("127.0.0.1", "0.0.0.0", ...).
  std::string address = "127.0.0.1";
  /// The TCP port; 0 lets the kernel pick a free one (see `server::port`).
  std::uint16_t port = 0;
  /// The directory served: clients' relative paths resolve against it and may not leave it.
  std::filesystem::path root;
  /// Certificates; empty for plain TCP.
  tls_options tls;
  /// Refuse every operation that changes a file (EROFS).
  bool read_only = false;
  serve_limits limits;
  /// The served runtime's other settings (workers, timeouts, default digest); its `root`,
  /// `confine_to_root` and `read_only` are taken from the fields above.
  runtime_config runtime;
  /// Called (on an actorio thread) with a description of each client node the first time it
  /// sends a request. Must not block.
  std::function<void(const std::string&)> on_client;
};

/// A manager served over CAF's middleman (BASP), optionally with TLS: its own actor system and
/// runtime, with the manager's typed interface published on `address:port`. Destroying it (or
/// `stop()`) unpublishes, closes every open map (flushed to the files) and ends the system.
///
/// Thread-safety: `port()`, `address()` and `manager()` may be called from any thread; `stop()`
/// and the destructor must not race other calls.
class server {
public:
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  server(server&&) noexcept;
  server& operator=(server&&) noexcept;
  ~server();

  /// The port listened on (the chosen one when 0 was asked for).
  std::uint16_t port() const noexcept;

  /// The address listened on.
  const std::string& address() const noexcept;

  /// The served manager, for local use in the serving process (no limits apply).
  mmap_manager manager() const;

  /// Stops accepting requests, closes every open map and ends the actor system. Idempotent.
  /// Throws `io_error` if a map could not be closed cleanly.
  void stop();

  struct impl;
  explicit server(std::unique_ptr<impl> x);

private:
  std::unique_ptr<impl> impl_;
};

/// Serves a new runtime rooted at `opts.root` (which must be a directory: ENOTDIR/ENOENT
/// otherwise) confined to it. Throws `io_error` with op "serve" and path "address:port":
/// EADDRINUSE when the port is taken, EINVAL for unusable TLS files or address, EIO otherwise.
server serve(serve_options opts);

/// How `connect` talks to a server.
struct connect_options {
  /// Longest any single non-bulk call waits for its reply (the facade's request timeout), and so
  /// the longest such a call can take to fail when the node dies or the connection is cut without
  /// the kernel noticing. Once the connection is known to be lost, calls fail at once with
  /// ECONNRESET.
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
};

/// Connects to the manager served at `host:port` and returns a facade for it, with its own actor
/// system (the connection ends when the last handle made from it goes). Paths are relative to
/// the server's root. Every method behaves as on a local manager, with these additions: calls in
/// flight when the connection is known to be lost, and later calls, fail at once with
/// ECONNRESET; a call whose node goes silent without the connection breaking fails with
/// ETIMEDOUT after `opts.timeout` (bulk calls wait). A lost connection is not re-established:
/// connect again.
///
/// Throws `io_error` with op "connect" and path "host:port": ECONNREFUSED when nothing listens
/// or the server refused the TLS handshake (also for plain TCP against a TLS server and the
/// reverse), EPROTO when the peer is not an actorio manager, EINVAL for unusable TLS files.
mmap_manager connect(const std::string& host, std::uint16_t port, const tls_options& tls = {},
                     const connect_options& opts = {});

} // namespace actorio
