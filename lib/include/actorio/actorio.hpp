#pragma once

/// The public API of actorio as futures that can also call back (`pending::then`): the runtime and
/// its facade, handles, results and errors.
/// It includes no CAF header. `<actorio/remote.hpp>` and `<actorio/cluster.hpp>` add serving and
/// reaching managers on other nodes; code that talks to actorio's actors directly includes
/// `<actorio/actors.hpp>` for the message vocabulary and the actor behind each handle.

#include "actorio/config.hpp"
#include "actorio/couple.hpp"
#include "actorio/io_error.hpp"
#include "actorio/mapped_file.hpp"
#include "actorio/messages/types.hpp"
#include "actorio/mmap_manager.hpp"
#include "actorio/operation.hpp"
#include "actorio/pending.hpp"
#include "actorio/result.hpp"
#include "actorio/runtime.hpp"
