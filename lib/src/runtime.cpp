#include "actorio/runtime.hpp"

#include <iostream>
#include <thread>

#include "actorio/io_error.hpp"
#include "actorio/messages/error.hpp"
#include "actorio/system_config.hpp"
#include "actors/facade_bridge_actor.hpp"
#include "actors/mmap_manager_actor.hpp"
#include "lib/src/couple_shared.hpp"
#include "lib/src/digest.hpp"
#include "lib/src/path_sandbox.hpp"
#include "lib/src/runtime_core.hpp"

namespace actorio {

namespace {

/// Fills in the defaults that depend on the machine and the process.
runtime_config complete(runtime_config cfg) {
  if (cfg.workers == 0)
    cfg.workers = std::max(1u, std::thread::hardware_concurrency());
  if (cfg.root.empty())
    cfg.root = std::filesystem::current_path();
  return cfg;
}

/// Plain opens, or opens beneath the root when the manager is confined to it. Throws io_error
/// when the root cannot be opened: a confined manager without its root could serve nothing.
detail::file_opener make_opener(const runtime_config& cfg) {
  if (!cfg.confine_to_root)
    return {};
  auto box = detail::path_sandbox::open(cfg.root.string());
  if (!box)
    throw io_error(std::move(box).error());
  return detail::file_opener{std::make_shared<const detail::path_sandbox>(std::move(box).value())};
}

void start(detail::runtime_core& core) {
  auto opener = make_opener(core.config);
  detail::initialize_digests();
  auto& sys = *core.system;
  core.pool = std::make_shared<detail::io_worker_pool>(sys, core.config.workers);
  core.reactor = std::make_shared<detail::fd_reactor>();
  detail::mmap_manager_options options{core.config.root.string(), core.config.default_checksum,
                                       core.config.minimize_writes, std::move(opener),
                                       core.config.read_only};
  core.manager = sys.spawn<caf::hidden>(detail::mmap_manager_impl, core.pool, std::move(options));
  core.bridge = detail::facade_bridge::make(sys);
}

} // namespace

runtime::runtime(runtime_config cfg)
  : core_(std::make_shared<detail::runtime_core>()) {
  core_->config = complete(std::move(cfg));
  core_->owned_config = std::make_unique<system_config>();
  auto& sys_cfg = *core_->owned_config;
  sys_cfg.set("scheduler.policy", core_->config.scheduler == scheduler_policy::sharing
                                    ? caf::atom("sharing")
                                    : caf::atom("stealing"));
  if (core_->config.scheduler_threads > 0)
    sys_cfg.set("scheduler.max-threads",
                static_cast<std::int64_t>(core_->config.scheduler_threads));
  core_->owned_system = std::make_unique<caf::actor_system>(sys_cfg);
  core_->system = core_->owned_system.get();
  start(*core_);
}

runtime::runtime(caf::actor_system& sys)
  : runtime(sys, runtime_config::from_caf(sys.config())) {}

runtime::runtime(caf::actor_system& sys, runtime_config cfg)
  : core_(std::make_shared<detail::runtime_core>()) {
  core_->config = complete(std::move(cfg));
  core_->system = &sys;
  start(*core_);
}

runtime::~runtime() {
  try {
    shutdown();
  } catch (const std::exception& e) {
    std::cerr << e.what() << '\n';
  }
}

mmap_manager runtime::manager() const {
  return mmap_manager{core_};
}

caf::actor_system& runtime::system() const {
  return *core_->system;
}

const runtime_config& runtime::config() const {
  return core_->config;
}

void runtime::shutdown() {
  if (core_->stopped.exchange(true))
    return;
  std::optional<failure> why;
  {
    caf::scoped_actor self{*core_->system};
    self->request(core_->manager, core_->timeout(), shutdown_atom_v)
      .receive([] {}, [&](caf::error& err) { why = to_failure(err, "shutdown", ""); });
  }
  // Mapped-file actors opened after the shutdown request go with the manager.
  caf::anon_send_exit(core_->manager, caf::exit_reason::user_shutdown);
  core_->pool->stop();
  {
    std::lock_guard<std::mutex> guard{core_->stdcoup_lock};
    core_->stdcoup.reset();
  }
  // Couples watch the manager and close when it goes; the reactor then drops what they armed.
  core_->reactor->stop();
  // Calls still waiting fail with ECANCELED, later ones with EBADF.
  detail::facade_bridge::of(core_->bridge).close();
  if (why)
    throw io_error(std::move(*why));
}

} // namespace actorio
