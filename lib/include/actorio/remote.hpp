#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actorio/config.hpp"
#include "actorio/mmap_manager.hpp"
#include "actorio/runtime.hpp"

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

/// Limits a served manager applies to each client node (one `connect`, or one remote actor
/// system). 0 turns a limit off. Local use of the manager (`server::manager()`) is not limited.
struct serve_limits {
  /// Largest total a `bulk_read` may return, in bytes; a larger one fails as a whole with EFBIG
  /// before anything is read (sized by stat, so a file growing meanwhile can exceed it). A reply
  /// is built in memory on the server, so this bounds what one request can make it hold.
  std::uint64_t max_bulk_read_bytes = std::uint64_t{64} << 20;
  /// Map handles one client may hold: each `open`, `create`, `create_sparse`, `open_files` entry
  /// and prefetched file counts until the client closes it (or its connection is lost). One more
  /// fails with EMFILE; a `prefetch_files` or `open_files` that would go over fails as a whole.
  std::size_t max_open_maps = 256;
  /// Bytes one client may have in flight: the data of its unfinished `bulk_write` and
  /// `create_sparse` calls and of its unfinished writes through map handles (`mapped_file`), plus
  /// the replies of its unfinished `bulk_read` calls and reads through map handles (a read counts
  /// the size asked for, or the rest of the map). A call that would go over fails as a whole
  /// with EAGAIN (retry once earlier calls are done); one that alone exceeds it fails with EFBIG.
  std::uint64_t max_bytes_in_flight = std::uint64_t{256} << 20;
  /// Client connections at once; one more is accepted and closed at once (its `connect` fails
  /// with ECONNREFUSED). 0: half the process's descriptor limit (RLIMIT_NOFILE) when `serve`
  /// starts, leaving the rest for the files clients open.
  std::size_t max_clients = 0;
  /// Bytes that connections which have not completed CAF's handshake may make the server set
  /// aside, all together: a message's size arrives ahead of it and its buffer is reserved at
  /// once. A connection whose message would go over is closed. 0: no limit.
  std::uint64_t max_handshake_bytes = std::uint64_t{64} << 20;
  /// Largest message a client may send once connected (the data of a `bulk_write` or
  /// `create_sparse`, plus its paths); announcing a larger one closes its connection. Keep it
  /// above `max_bytes_in_flight`. 0: no limit.
  std::uint64_t max_message_bytes = std::uint64_t{512} << 20;
  /// A connection that has not completed CAF's handshake (with TLS, the TLS handshake and then
  /// CAF's) by then is closed.
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};
};

/// How `serve` listens and what it serves.
struct serve_options {
  /// The address to listen on ("127.0.0.1", "0.0.0.0", ...).
  std::string address = "127.0.0.1";
  /// The TCP port; 0 lets the kernel pick a free one (see `server::port`).
  std::uint16_t port = 0;
  /// The directory served: clients' relative paths resolve against it and may not leave it.
  /// Serving a runtime: empty, or the runtime's root.
  std::filesystem::path root;
  /// Certificates; empty for plain TCP. Serving a runtime: any file set asks for TLS, and each
  /// file set must be the one its actor system's config names (`openssl.certificate`, ...).
  tls_options tls;
  /// Refuse every operation that changes a file (EROFS). Serving a runtime: the runtime must be
  /// read-only itself (`runtime_config::read_only`).
  bool read_only = false;
  serve_limits limits;
  /// Nodes ("HOST:PORT", as a client's tcp:// or tls:// address of them says) this server copies
  /// from itself when a client asks (`mmap_manager::pull`, which `copy_between` tries first when
  /// both ends are served): it connects to the node, with `tls`'s files when the address says
  /// tls://, and streams the file straight into its own root. Empty: it pulls from none (EPERM),
  /// and such copies pass through the client. At most `max_pulls` run at once; more wait.
  std::vector<std::string> pull_from;
  std::size_t max_pulls = 4;
  /// The served runtime's other settings (workers, timeouts, default digest); its `root`,
  /// `confine_to_root` and `read_only` are taken from the fields above. Not used when serving a
  /// runtime.
  runtime_config runtime;
  /// Called (on an actorio thread) with a description of each client node when it connects:
  /// `connect` introduces itself with a call as soon as the connection is made; another CAF
  /// client is seen at its first message. Must not block.
  std::function<void(const std::string&)> on_connect;
  /// Called (on an actorio thread) with the same description when the client's connection is
  /// lost (closed, reset, or the client process ended), or when the server stops. Must not block.
  std::function<void(const std::string&)> on_disconnect;
};

/// A manager served over CAF's middleman (BASP), optionally with TLS: the manager's typed
/// interface is published on `address:port` behind a gate that applies the limits and keeps,
/// per client node, the maps it holds; they are released when its connection is lost. Destroying
/// it (or `stop()`) unpublishes and releases every client's maps (flushed to the files); a server
/// that made its own runtime then closes every open map and ends its actor system.
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

private:
  friend server serve(runtime& rt, serve_options opts);
  friend server serve(serve_options opts);
  explicit server(std::unique_ptr<impl> x);

  std::unique_ptr<impl> impl_;
};

/// Serves `rt`'s manager in `rt`'s actor system, which must outlive the server. `rt` must be
/// confined to its root (`runtime_config::confine_to_root`): that root is what is served. The
/// actor system must have the middleman, and for TLS the OpenSSL manager, configured before it
/// was built, e.g.:
///
///     actorio::system_config cfg;          // or any caf::actor_system_config that called
///     cfg.load<caf::io::middleman>();      // actorio::add_message_types(cfg)
///     cfg.load<caf::openssl::manager>();   // only for TLS, after the middleman
///     cfg.openssl_certificate = "server.pem";
///     cfg.openssl_key = "server.key";
///     cfg.openssl_cafile = "ca.pem";
///     caf::actor_system sys{cfg};
///     actorio::runtime rt{sys, {.root = "/srv/data", .confine_to_root = true}};
///     auto srv = actorio::serve(rt, {.address = "0.0.0.0", .port = 4242,
///                                    .tls = {"server.pem", "server.key", "ca.pem"}});
///
/// Throws `io_error` with op "serve" and path "address:port": EINVAL when the middleman (or the
/// OpenSSL manager) is not loaded, when `rt` is not confined, or when `opts` asks for another
/// root, read-only mode on a writable runtime or TLS files other than the system's;
/// EADDRINUSE when the port is taken; EINVAL for an unusable address; EIO otherwise.
server serve(runtime& rt, serve_options opts);

/// Serves a new runtime rooted at `opts.root` (which must be a directory: ENOTDIR/ENOENT
/// otherwise) confined to it, in an actor system of its own with the middleman (and the OpenSSL
/// manager when `opts.tls` is set). Throws as `serve(runtime&, ...)`, and EINVAL for unusable TLS
/// files (unreadable, not PEM, a key that does not match its certificate), before listening.
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
/// reverse), EPROTO when the peer is not an actorio manager, EINVAL for unusable TLS files
/// (unreadable, not PEM, a key that does not match its certificate), before connecting;
/// ETIMEDOUT when the connection and handshake are not done within `opts.timeout`, after which
/// nothing of the attempt is left pending.
mmap_manager connect(const std::string& host, std::uint16_t port, const tls_options& tls = {},
                     const connect_options& opts = {});

} // namespace actorio
