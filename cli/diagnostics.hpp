#pragma once

#include <exception>
#include <string_view>

#include "actorio/result.hpp"

namespace actorio::cli {

// Messages on stderr in the coreutils shape: "actorio: PATH: No such file or directory".

/// "actorio: PATH: strerror(code)".
void report_error(std::string_view path, int code);

/// A failure from the facade: "actorio: PATH: strerror" or, when it carries a detail that says
/// more (e.g. an unknown algorithm), "actorio: PATH: DETAIL".
void report_failure(std::string_view path, const failure& why);

/// "actorio: TEXT".
void report_message(std::string_view text);

/// The failure held by the exception a facade future threw (an io_error or anything else).
failure failure_of(std::exception_ptr e);

} // namespace actorio::cli
