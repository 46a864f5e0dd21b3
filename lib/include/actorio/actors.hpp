#pragma once

/// actorio for code that talks to its actors by message: the message vocabulary (atoms, typed
/// interfaces, value types and their CAF type ids, error codes), the configuration class that
/// registers them, and the actor behind each facade handle. Includes CAF; `<actorio/actorio.hpp>`
/// alone does not.

#include "actorio/actorio.hpp"
#include "actorio/messages/error.hpp"
#include "actorio/messages/interfaces.hpp"
#include "actorio/system_config.hpp"

namespace actorio {

/// The manager's actor, for code that talks to it by message. Invalid for a default-constructed
/// manager.
mmap_manager_actor actor_of(const mmap_manager& manager);

/// The map's actor (invalid for an empty handle). Messages sent to it act on the map as the
/// handle's calls do; the reference the handle holds is still released only by the handle.
mapped_file_actor actor_of(const mapped_file& file);

/// The actor that serves the couple (invalid for an empty handle).
couple_actor actor_of(const couple& c);

} // namespace actorio
