#pragma once

#include <caf/actor_system_config.hpp>

namespace actorio {

/// A CAF actor system config that knows actorio: its message types and error category are
/// registered, and its `actorio.*` options (see runtime_config) are declared, so `set()`, INI
/// files (`[actorio]` section) and `--actorio.workers=4`-style arguments accept them.
///
/// An embedding server can use it as is or derive its own config from it. A server with a config
/// class of its own can instead call `add_message_types` and put values straight into
/// `cfg.content` (e.g. `caf::put(cfg.content, "actorio.workers", 4)`).
class system_config : public caf::actor_system_config {
public:
  system_config();
};

} // namespace actorio
