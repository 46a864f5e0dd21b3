#include "actorio/config.hpp"

#include <caf/actor_system_config.hpp>

namespace actorio {

runtime_config runtime_config::from_caf(const caf::actor_system_config& cfg, runtime_config base) {
  base.workers = caf::get_or(cfg, "actorio.workers", base.workers);
  auto timeout = caf::get_or(cfg, "actorio.request-timeout",
                             std::chrono::duration_cast<caf::timespan>(base.request_timeout));
  base.request_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  auto policy = caf::get_or(cfg, "actorio.scheduler-policy",
                            base.scheduler == scheduler_policy::sharing ? "sharing" : "stealing");
  base.scheduler = policy == "stealing" ? scheduler_policy::stealing : scheduler_policy::sharing;
  base.scheduler_threads = caf::get_or(cfg, "actorio.scheduler-threads", base.scheduler_threads);
  base.default_checksum = caf::get_or(cfg, "actorio.default-checksum", base.default_checksum);
  base.minimize_writes = caf::get_or(cfg, "actorio.minimize-writes", base.minimize_writes);
  base.root = caf::get_or(cfg, "actorio.root", base.root.string());
  return base;
}

runtime_config runtime_config::from_caf(const caf::actor_system_config& cfg) {
  return from_caf(cfg, runtime_config{});
}

} // namespace actorio
