#pragma once

/// The whole public API of actorio: the runtime and its facade, handles, results and errors, and
/// the message vocabulary for code that talks to actorio's actors directly.

#include "actorio/config.hpp"
#include "actorio/couple.hpp"
#include "actorio/io_error.hpp"
#include "actorio/mapped_file.hpp"
#include "actorio/messages/error.hpp"
#include "actorio/messages/interfaces.hpp"
#include "actorio/messages/type_ids.hpp"
#include "actorio/messages/types.hpp"
#include "actorio/mmap_manager.hpp"
#include "actorio/operation.hpp"
#include "actorio/result.hpp"
#include "actorio/runtime.hpp"
#include "actorio/system_config.hpp"
