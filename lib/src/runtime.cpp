#include "actorio/runtime.hpp"

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "actorio/io_error.hpp"
#include "actorio/messages/error.hpp"
#include "actorio/system_config.hpp"
#include "actors/mmap_manager_actor.hpp"
#include "io/src/digest.hpp"
#include "io/src/path_sandbox.hpp"
#include "lib/src/couple_shared.hpp"
#include "lib/src/facade_access.hpp"
#include "lib/src/facade_bridge_actor.hpp"
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

/// Threads an owned actor system starts besides the io workers: its scheduler's, CAF's clock
/// thread, CAF's printer (a detached actor) and actorio's fd reactor.
std::size_t system_threads(const runtime_config& cfg) {
  // CAF's default for scheduler.max-threads (caf/defaults.cpp).
  auto scheduler = cfg.scheduler_threads > 0
                     ? cfg.scheduler_threads
                     : std::max<std::size_t>(std::thread::hardware_concurrency(), 4);
  return scheduler + 3;
}

/// Starts `n` threads that wait until all exist, then lets them end. CAF's actor_system starts
/// its scheduler threads in its constructor and, when one cannot start, destroys the ones it
/// started while they are still joinable: std::terminate. Finding out here, before CAF starts
/// anything, turns a process limit (RLIMIT_NPROC, or RLIMIT_AS with many workers) into an error.
/// Each thread allocates once, so the malloc arenas the real threads will use exist (and count
/// against RLIMIT_AS) already.
status try_threads(std::size_t n) {
  std::mutex m;
  std::condition_variable cv;
  bool go = false;
  std::vector<std::thread> threads;
  threads.reserve(n);
  int err = 0;
  for (std::size_t i = 0; i < n; ++i) {
    try {
      threads.emplace_back([&] {
        std::free(std::malloc(64));
        std::unique_lock<std::mutex> lock{m};
        cv.wait(lock, [&] { return go; });
      });
    } catch (const std::system_error& e) {
      err = e.code().value();
      break;
    }
  }
  {
    std::lock_guard<std::mutex> guard{m};
    go = true;
  }
  cv.notify_all();
  for (auto& t : threads)
    t.join();
  if (err != 0)
    return failure{err, "start", "",
                   "cannot start the runtime's " + std::to_string(n) + " threads (" +
                     std::to_string(threads.size()) + " started)"};
  return ok_status();
}

void start(detail::runtime_core& core) {
  auto opener = make_opener(core.config);
  detail::initialize_digests();
  auto& sys = *core.system;
  core.pool = std::make_shared<detail::io_worker_pool>(sys, core.config.workers);
  // The reactor needs two descriptors. A process short of them (ulimit -n) may be out only for
  // a moment, while other threads hold a file open, so EMFILE/ENFILE is retried for ~100 ms.
  for (int attempt = 0; !core.reactor; ++attempt) {
    try {
      core.reactor = std::make_shared<detail::fd_reactor>();
    } catch (const std::system_error& e) {
      auto code = e.code().value();
      if ((code == EMFILE || code == ENFILE) && attempt < 100) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      core.pool->stop();
      throw io_error(failure{code, "start", "", "cannot start the fd reactor"});
    }
  }
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
  if (auto st = try_threads(system_threads(core_->config) + core_->config.workers); !st)
    throw io_error(std::move(st).error());
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
  return detail::facade_access::manager(core_);
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
