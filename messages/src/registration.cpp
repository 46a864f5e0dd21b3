#include "actorio/messages/error.hpp"
#include "actorio/messages/interfaces.hpp"

namespace actorio {

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::actorio>();
  cfg.add_message_type<mapped_file_actor>("actorio::mapped_file_actor");
  cfg.add_message_type<mmap_manager_actor>("actorio::mmap_manager_actor");
  cfg.add_message_type<couple_actor>("actorio::couple_actor");
  cfg.add_message_type<open_file>("actorio::open_file");
  cfg.add_message_type<std::vector<result<mapped_file_actor>>>(
    "std::vector<actorio::result<actorio::mapped_file_actor>>");
  cfg.add_error_category(
    caf::atom("actorio"), [](std::uint8_t code, caf::atom_value, const caf::message& ctx) {
      return "actorio::" + to_string(static_cast<errc>(code)) + " " + caf::deep_to_string(ctx);
    });
}

} // namespace actorio
