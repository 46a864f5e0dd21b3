#include "actorio/config.hpp"

#include <caf/actor_system_config.hpp>

namespace actorio {

namespace {

/// A text option; CAF's INI syntax reads 'quoted' text as an atom, so accept atoms too.
std::string text_or(const caf::actor_system_config& cfg, caf::string_view key,
                    std::string fallback) {
  if (auto atom = caf::get_if<caf::atom_value>(&cfg, key))
    return caf::to_string(*atom);
  return caf::get_or(cfg, key, fallback);
}

} // namespace

runtime_config runtime_config::from_caf(const caf::actor_system_config& cfg, runtime_config base) {
  base.workers = caf::get_or(cfg, "actorio.workers", base.workers);
  auto timeout = caf::get_or(cfg, "actorio.request-timeout",
                             std::chrono::duration_cast<caf::timespan>(base.request_timeout));
  base.request_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  auto policy = text_or(cfg, "actorio.scheduler-policy",
                        base.scheduler == scheduler_policy::sharing ? "sharing" : "stealing");
  base.scheduler = policy == "stealing" ? scheduler_policy::stealing : scheduler_policy::sharing;
  base.scheduler_threads = caf::get_or(cfg, "actorio.scheduler-threads", base.scheduler_threads);
  base.default_checksum = text_or(cfg, "actorio.default-checksum", base.default_checksum);
  base.minimize_writes = caf::get_or(cfg, "actorio.minimize-writes", base.minimize_writes);
  base.root = text_or(cfg, "actorio.root", base.root.string());
  base.confine_to_root = caf::get_or(cfg, "actorio.confine-to-root", base.confine_to_root);
  base.read_only = caf::get_or(cfg, "actorio.read-only", base.read_only);
  return base;
}

runtime_config runtime_config::from_caf(const caf::actor_system_config& cfg) {
  return from_caf(cfg, runtime_config{});
}

} // namespace actorio
