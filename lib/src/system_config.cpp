#include "actorio/system_config.hpp"

#include <string>

#include "actorio/messages/interfaces.hpp"

namespace actorio {

system_config::system_config() {
  actorio::add_message_types(*this);
  opt_group{custom_options_, "actorio"}
    .add<std::size_t>("workers", "threads for blocking file work (0: one per hardware thread)")
    .add<caf::timespan>("request-timeout", "longest a facade call waits for its reply")
    .add<caf::atom_value>("scheduler-policy", "'sharing' or 'stealing' for an owned system")
    .add<std::size_t>("scheduler-threads", "scheduler threads of an owned system (0: default)")
    .add<std::string>("default-checksum", "digest used when a checksum call names none")
    .add<bool>("minimize-writes", "skip stores of bytes that already match")
    .add<std::string>("root", "directory that relative paths resolve against")
    .add<bool>("confine-to-root", "open files beneath root only (no absolute paths, no escapes)")
    .add<bool>("read-only", "refuse every change with EROFS");
}

} // namespace actorio
