#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include "actorio/result.hpp"

namespace actorio {

/// Error codes of the `actorio` CAF error category. Every actorio `caf::error` carries the context
/// `(int32_t errno_value, std::string op, std::string path, std::string detail)`.
enum class errc : std::uint8_t {
  /// No error.
  none = 0,
  /// A system call failed; the context's errno says why.
  os_error,
  /// An argument was out of range or malformed (EINVAL): negative size, bad mode, unknown digest.
  invalid_argument,
  /// The handle or map was closed before or during the call (EBADF).
  closed,
};

std::string to_string(errc x);

/// The CAF error for `why`, keeping errno, operation and path.
caf::error make_error(const failure& why);

/// The failure inside an actorio error; for any other error (timeouts, dead receivers) a failure
/// with a fitting errno (ETIMEDOUT, EBADF, ...) labelled with `op` and `path`.
failure to_failure(const caf::error& err, std::string op, std::string path);

} // namespace actorio

CAF_ERROR_CODE_ENUM(actorio::errc, "actorio")
