#pragma once

// The facade's handles keep their actor references private, so that their headers need no CAF;
// the facade's own sources and actors.hpp's `actor_of` reach them through this one friend.

#include <filesystem>
#include <memory>
#include <string>

#include "actorio/couple.hpp"
#include "actorio/mapped_file.hpp"
#include "actorio/messages/interfaces.hpp"
#include "actorio/mmap_manager.hpp"

namespace actorio::detail {

struct runtime_core;

struct facade_access {
  /// A handle around a map reference the manager handed out; it releases that reference when its
  /// last copy goes.
  static mapped_file adopt(std::shared_ptr<runtime_core> core, mapped_file_actor file,
                           std::filesystem::path path, open_mode mode);

  static mmap_manager manager(std::shared_ptr<runtime_core> core) {
    return mmap_manager{std::move(core)};
  }

  static mapped_file_actor actor(const mapped_file& file);
  static mmap_manager_actor actor(const mmap_manager& manager);
  static couple_actor actor(const couple& c);

  /// "tcp://HOST:PORT" or "tls://HOST:PORT" of the node a connected manager talks to; empty for
  /// a local one.
  static std::string node_url(const mmap_manager& manager);
};

} // namespace actorio::detail
