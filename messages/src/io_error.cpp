#include "actorio/io_error.hpp"

#include <system_error>

namespace actorio {

io_error::io_error(failure why)
  : std::filesystem::filesystem_error(why.op, why.path,
                                      std::error_code(why.code, std::generic_category()))
  , why_(std::move(why))
  , message_("actorio: " + to_string(why_)) {}

} // namespace actorio
