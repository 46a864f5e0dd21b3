#pragma once

#include <map>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actorio/messages/inspect.hpp"
#include "actorio/messages/types.hpp"

/// actorio's plain message types. Atoms, which need no type ID in CAF 0.17, are declared with the
/// interfaces that use them (interfaces.hpp); actor handle types are registered by name in
/// `actorio::add_message_types`.
// clang-format off
CAF_BEGIN_TYPE_ID_BLOCK(actorio, caf::first_custom_type_id + 100)

  CAF_ADD_TYPE_ID(actorio, (actorio::failure))
  CAF_ADD_TYPE_ID(actorio, (actorio::chunk))
  CAF_ADD_TYPE_ID(actorio, (actorio::map_info))
  CAF_ADD_TYPE_ID(actorio, (std::vector<char>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::chunk>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::map_info>))
  CAF_ADD_TYPE_ID(actorio, (actorio::open_mode))
  CAF_ADD_TYPE_ID(actorio, (actorio::utf8_errors))
  CAF_ADD_TYPE_ID(actorio, (actorio::map_advice))
  CAF_ADD_TYPE_ID(actorio, (std::map<std::string, actorio::open_mode>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<std::vector<char>>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<std::uint64_t>))
  CAF_ADD_TYPE_ID(actorio, (actorio::byte_range))
  CAF_ADD_TYPE_ID(actorio, (actorio::read_job))
  CAF_ADD_TYPE_ID(actorio, (actorio::write_job))
  CAF_ADD_TYPE_ID(actorio, (actorio::resize_job))
  CAF_ADD_TYPE_ID(actorio, (actorio::copy_job))
  CAF_ADD_TYPE_ID(actorio, (actorio::find_job))
  CAF_ADD_TYPE_ID(actorio, (std::vector<std::string>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::read_job>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::write_job>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::resize_job>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::copy_job>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::find_job>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::result<std::uint64_t>>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::result<std::string>>))
  CAF_ADD_TYPE_ID(actorio, (actorio::byte_pieces))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::result<actorio::byte_pieces>>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::result<std::vector<std::uint64_t>>>))
  CAF_ADD_TYPE_ID(actorio, (actorio::progress))
  CAF_ADD_TYPE_ID(actorio, (actorio::report_progress))
  CAF_ADD_TYPE_ID(actorio, (actorio::copy_options))
  CAF_ADD_TYPE_ID(actorio, (actorio::size_change))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::result<actorio::size_change>>))
  CAF_ADD_TYPE_ID(actorio, (actorio::walk_options))
  CAF_ADD_TYPE_ID(actorio, (actorio::walk_page))
  CAF_ADD_TYPE_ID(actorio, (actorio::node_copy_options))

CAF_END_TYPE_ID_BLOCK(actorio)
// clang-format on
