#include "actorio/remote.hpp"

#include <cerrno>
#include <fstream>
#include <optional>
#include <set>

#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "actorio/actors.hpp"
#include "actorio/io_error.hpp"
#include "actorio/messages/error.hpp"
#include "actorio/runtime.hpp"
#include "actorio/system_config.hpp"
#include "actors/gate_actor.hpp"
#include "lib/src/facade_access.hpp"
#include "lib/src/facade_bridge_actor.hpp"
#include "lib/src/front_door.hpp"
#include "lib/src/node_connection.hpp"
#include "lib/src/node_copy.hpp"
#include "lib/src/runtime_core.hpp"

namespace actorio {

namespace {

std::string node_name(const std::string& host, std::uint16_t port) {
  return host + ":" + std::to_string(port);
}

/// Fails with EINVAL naming `what` unless `file` can be read.
void check_readable(const std::filesystem::path& file, const char* what, const std::string& op,
                    const std::string& node) {
  if (file.empty() || !std::ifstream{file})
    throw io_error(failure{EINVAL, op, node,
                           std::string{"TLS "} + what + " file cannot be read: " + file.string()});
}

/// OpenSSL's reasons for its latest failures, oldest first; clears them.
std::string openssl_reasons() {
  std::string why;
  while (auto code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    why += (why.empty() ? "" : "; ") + std::string{text};
  }
  return why.empty() ? "no reason given" : why;
}

/// Loads the TLS files as CAF's OpenSSL layer will when the first connection is made, where a
/// failure would end the process (server) or be printed to stdout (client); fails with EINVAL
/// naming the file and OpenSSL's reason instead. Empty names are skipped.
void check_tls_files(const std::string& cert, const std::string& key, const std::string& ca,
                     const std::string& passphrase, const std::string& op,
                     const std::string& node) {
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_method()), &SSL_CTX_free};
  auto fail = [&](const std::string& what) {
    throw io_error(failure{EINVAL, op, node, what + ": " + openssl_reasons()});
  };
  if (!ctx)
    fail("cannot make a TLS context");
  // As CAF does; without a passphrase an encrypted key fails here instead of prompting.
  SSL_CTX_set_default_passwd_cb_userdata(ctx.get(), const_cast<std::string*>(&passphrase));
  SSL_CTX_set_default_passwd_cb(ctx.get(), [](char* buf, int size, int, void* user) {
    const auto& pass = *static_cast<const std::string*>(user);
    if (pass.empty() || size <= 0)
      return 0;
    auto n = std::min(pass.size(), static_cast<std::size_t>(size - 1));
    pass.copy(buf, n);
    buf[n] = '\0';
    return static_cast<int>(n);
  });
  if (!cert.empty() && SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1)
    fail("TLS certificate " + cert + " cannot be used");
  if (!key.empty() && SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1)
    fail("TLS key " + key + " cannot be used with certificate " + cert);
  if (!cert.empty() && !key.empty() && SSL_CTX_check_private_key(ctx.get()) != 1)
    fail("TLS key " + key + " does not match certificate " + cert);
  if (!ca.empty() && SSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr) != 1)
    fail("TLS CA file " + ca + " cannot be used");
}

/// An actor system config with the middleman, and the TLS layer when `tls` is set.
std::unique_ptr<system_config> network_config(const tls_options& tls, const std::string& op,
                                              const std::string& node) {
  auto cfg = std::make_unique<system_config>();
  cfg->set("scheduler.policy", caf::atom("sharing"));
  cfg->load<caf::io::middleman>();
  if (tls.enabled()) {
    check_readable(tls.cert, "certificate", op, node);
    check_readable(tls.key, "key", op, node);
    check_readable(tls.ca, "CA", op, node);
    check_tls_files(tls.cert.string(), tls.key.string(), tls.ca.string(), {}, op, node);
    cfg->load<caf::openssl::manager>();
    cfg->openssl_certificate = tls.cert.string();
    cfg->openssl_key = tls.key.string();
    cfg->openssl_cafile = tls.ca.string();
  }
  return cfg;
}

/// The errno that best says why CAF's networking failed.
int network_errno(const caf::error& err) {
  if (err == caf::sec::cannot_open_port)
    return EADDRINUSE;
  if (err == caf::sec::cannot_connect_to_node || err == caf::sec::disconnect_during_handshake ||
      err == caf::sec::no_actor_published_at_port)
    return ECONNREFUSED;
  if (err == caf::sec::unexpected_actor_messaging_interface)
    return EPROTO;
  if (err == caf::sec::request_timeout)
    return ETIMEDOUT;
  if (err == caf::sec::invalid_argument)
    return EINVAL;
  return EIO;
}

io_error network_error(const caf::actor_system& sys, const caf::error& err, std::string op,
                       std::string node) {
  return io_error(failure{network_errno(err), std::move(op), std::move(node), sys.render(err)});
}

/// The middleman (plain or TLS) that publishes and connects.
caf::io::middleman_actor middleman_of(caf::actor_system& sys, bool tls) {
  return tls ? sys.openssl_manager().actor_handle() : sys.middleman().actor_handle();
}

} // namespace

struct server::impl {
  // Owned only by the convenience form; declared first so they go last.
  std::unique_ptr<system_config> config;
  std::unique_ptr<caf::actor_system> owned_system;
  std::unique_ptr<runtime> owned_runtime;
  caf::actor_system* system = nullptr;
  runtime* rt = nullptr;
  std::shared_ptr<detail::io_worker_pool> gate_pool;
  /// The threads pulls run on (none without serve_options::pull_from).
  std::shared_ptr<detail::io_worker_pool> pull_pool;
  mmap_manager_actor gate;
  /// The listener and its connections' vetting, and the cleanup after client nodes.
  std::unique_ptr<detail::front_door> door;
  std::string address;
  std::uint16_t port = 0;
  bool tls = false;

  ~impl() {
    try {
      stop();
    } catch (const std::exception& e) {
      std::cerr << e.what() << '\n';
    }
  }

  void stop() {
    if (!system)
      return;
    if (gate) {
      caf::scoped_actor self{*system};
      self
        ->request(middleman_of(*system, tls), std::chrono::seconds(10), caf::unpublish_atom_v,
                  gate.address(), port)
        .receive([] {}, [](caf::error&) {});
      // Every client's maps are released (and so flushed, unless used locally too) first.
      self->request(gate, rt->config().request_timeout, shutdown_atom_v)
        .receive([] {}, [](caf::error&) {});
      caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
      gate = nullptr;
    }
    door.reset();
    for (auto* pool : {&gate_pool, &pull_pool}) {
      if (*pool)
        (*pool)->stop();
      pool->reset();
    }
    system = nullptr;
    std::optional<io_error> why;
    if (owned_runtime) {
      try {
        owned_runtime->shutdown();
      } catch (const io_error& e) {
        why = e;
      }
    }
    rt = nullptr;
    owned_runtime.reset();
    owned_system.reset();
    config.reset();
    if (why)
      throw *why;
  }
};

server::server(std::unique_ptr<impl> x)
  : impl_(std::move(x)) {}
server::server(server&&) noexcept = default;
server& server::operator=(server&&) noexcept = default;
server::~server() = default;

std::uint16_t server::port() const noexcept {
  return impl_->port;
}

const std::string& server::address() const noexcept {
  return impl_->address;
}

mmap_manager server::manager() const {
  return impl_->rt->manager();
}

void server::stop() {
  impl_->stop();
}

namespace {

/// EINVAL unless `asked` is empty or names the same file as `configured`.
void check_same_file(const std::filesystem::path& asked, const std::string& configured,
                     const char* what, const std::string& node) {
  std::error_code ec;
  if (!asked.empty() && (configured.empty() || !std::filesystem::equivalent(asked, configured, ec)))
    throw io_error(failure{EINVAL, "serve", node,
                           std::string{"the TLS "} + what + " asked for (" + asked.string() +
                             ") is not the one the actor system's config names (" + configured +
                             ")"});
}

/// Fills `x` (whose system and runtime are set) with a published gate.
void publish(server::impl& x, serve_options& opts) {
  auto& sys = *x.system;
  auto& rt = *x.rt;
  auto node = node_name(opts.address, opts.port);
  auto invalid = [&](const std::string& why) {
    return io_error(failure{EINVAL, "serve", node, why});
  };
  if (!sys.has_middleman())
    throw invalid("the actor system has no middleman: call load<caf::io::middleman>() on its "
                  "config before building it");
  x.tls = opts.tls.enabled();
  if (x.tls) {
    if (!sys.has_openssl_manager())
      throw invalid("TLS asked for, but the actor system has no OpenSSL manager: call "
                    "load<caf::openssl::manager>() on its config (after the middleman)");
    const auto& cfg = sys.config();
    check_same_file(opts.tls.cert, cfg.openssl_certificate, "certificate", node);
    check_same_file(opts.tls.key, cfg.openssl_key, "key", node);
    check_same_file(opts.tls.ca, cfg.openssl_cafile, "CA", node);
    check_tls_files(cfg.openssl_certificate, cfg.openssl_key, cfg.openssl_cafile,
                    cfg.openssl_passphrase, "serve", node);
  }
  const auto& rcfg = rt.config();
  if (!rcfg.confine_to_root)
    throw invalid("the runtime is not confined to its root (runtime_config::confine_to_root): "
                  "it would serve every file the process can reach");
  std::error_code ec;
  if (!opts.root.empty() && !std::filesystem::equivalent(opts.root, rcfg.root, ec))
    throw invalid("the root asked for (" + opts.root.string() + ") is not the runtime's (" +
                  rcfg.root.string() + ")");
  if (opts.read_only && !rcfg.read_only)
    throw invalid("read-only asked for, but the runtime is writable (runtime_config::read_only)");
  x.address = opts.address;
  x.gate_pool = std::make_shared<detail::io_worker_pool>(sys, 1);
  detail::gate_options gopts;
  gopts.root = rcfg.root.string();
  gopts.max_bulk_read_bytes = opts.limits.max_bulk_read_bytes;
  gopts.max_open_maps = opts.limits.max_open_maps;
  gopts.max_bytes_in_flight = opts.limits.max_bytes_in_flight;
  gopts.on_connect = std::move(opts.on_connect);
  gopts.on_disconnect = std::move(opts.on_disconnect);
  if (!opts.pull_from.empty()) {
    x.pull_pool =
      std::make_shared<detail::io_worker_pool>(sys, std::max<std::size_t>(opts.max_pulls, 1));
    gopts.pull = detail::make_pull_runner(rt, opts.pull_from, opts.tls);
    gopts.pull_workers = x.pull_pool;
  }
  x.gate = sys.spawn(detail::gate_impl, actor_of(rt.manager()), x.gate_pool, std::move(gopts));
  const auto& lim = opts.limits;
  detail::front_door_limits door_limits;
  door_limits.max_clients = lim.max_clients != 0 ? lim.max_clients : detail::default_max_clients();
  door_limits.max_handshake_bytes = lim.max_handshake_bytes;
  door_limits.max_message_bytes = lim.max_message_bytes;
  door_limits.handshake_timeout = lim.handshake_timeout;
  x.door = std::make_unique<detail::front_door>(sys, door_limits);
  auto published =
    x.door->publish(caf::actor_cast<caf::strong_actor_ptr>(x.gate),
                    sys.message_types<mmap_manager_actor>(), opts.port, opts.address, x.tls);
  if (!published) {
    auto err = network_error(sys, published.error(), "serve", node);
    caf::anon_send_exit(x.gate, caf::exit_reason::user_shutdown);
    x.gate = nullptr;
    x.door.reset();
    throw err;
  }
  x.port = *published;
}

} // namespace

server serve(runtime& rt, serve_options opts) {
  auto x = std::make_unique<server::impl>();
  x->system = &rt.system();
  x->rt = &rt;
  publish(*x, opts);
  return server{std::move(x)};
}

server serve(serve_options opts) {
  auto node = node_name(opts.address, opts.port);
  std::error_code ec;
  auto st = std::filesystem::status(opts.root, ec);
  if (ec || !std::filesystem::is_directory(st))
    throw io_error(failure{ec ? ec.value() : ENOTDIR, "serve", opts.root.string(),
                           "the served root must be a directory"});
  auto x = std::make_unique<server::impl>();
  x->config = network_config(opts.tls, "serve", node);
  if (opts.runtime.scheduler_threads > 0)
    x->config->set("scheduler.max-threads",
                   static_cast<std::int64_t>(opts.runtime.scheduler_threads));
  x->owned_system = std::make_unique<caf::actor_system>(*x->config);
  auto cfg = opts.runtime;
  cfg.root = std::filesystem::canonical(opts.root);
  cfg.confine_to_root = true;
  cfg.read_only = opts.read_only;
  x->owned_runtime = std::make_unique<runtime>(*x->owned_system, cfg);
  x->system = x->owned_system.get();
  x->rt = x->owned_runtime.get();
  publish(*x, opts);
  return server{std::move(x)};
}

namespace {

/// The server's manager, reached within `timeout`. Its own scope: the scoped actor it uses must
/// be gone before anything that may end the actor system (a failed first call in `connect` drops
/// the last reference to it), or `~actor_system` waits forever for that actor.
caf::strong_actor_ptr find_manager(caf::actor_system& sys, const std::string& host,
                                   std::uint16_t port, bool tls, caf::timespan timeout,
                                   const std::string& node) {
  // Not CAF's remote_actor nor its middleman: those wait without a deadline for a peer that
  // accepts and then says nothing, and for a listener that never accepts.
  auto found = detail::connect_node(sys, host, port, tls, timeout);
  if (found.err != 0)
    throw io_error(failure{found.err, "connect", node, {}});
  auto why = found.why;
  if (!why && !found.actor)
    why = caf::make_error(caf::sec::no_actor_published_at_port);
  else if (!why && found.interface != sys.message_types<mmap_manager_actor>())
    why = caf::make_error(caf::sec::unexpected_actor_messaging_interface);
  if (why)
    throw network_error(sys, why, "connect", node);
  return std::move(found.actor);
}

} // namespace

mmap_manager connect(const std::string& host, std::uint16_t port, const tls_options& tls,
                     const connect_options& opts) {
  auto node = node_name(host, port);
  auto core = std::make_shared<detail::runtime_core>();
  core->config.request_timeout = opts.timeout;
  core->owned_config = network_config(tls, "connect", node);
  core->owned_system = std::make_unique<caf::actor_system>(*core->owned_config);
  core->system = core->owned_system.get();
  auto& sys = *core->system;
  core->manager = caf::actor_cast<mmap_manager_actor>(
    find_manager(sys, host, port, tls.enabled(), core->timeout(), node));
  core->bridge = detail::facade_bridge::make(sys);
  core->peer = node;
  core->peer_tls = tls.enabled();
  auto m = detail::facade_access::manager(std::move(core));
  // Introduces this client at once (the server logs connections as it first hears from a node;
  // CAF 0.17 reports no BASP handshake to the application) and proves the peer answers.
  try {
    m.currently_open().get();
  } catch (const io_error& e) {
    throw io_error(failure{e.code().value(), "connect", node, e.what()});
  }
  return m;
}

} // namespace actorio
