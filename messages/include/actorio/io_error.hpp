#pragma once

#include <filesystem>
#include <string>

#include "actorio/result.hpp"

namespace actorio {

/// The exception a facade future holds when an operation fails. `code()` is the errno value in
/// `std::generic_category()`, `path1()` the path concerned and `what()` reads
/// "actorio: OP PATH: DETAIL (strerror)". Timeouts are ETIMEDOUT; calls on a closed handle or a
/// stopped runtime are EBADF.
class io_error : public std::filesystem::filesystem_error {
public:
  explicit io_error(failure why);

  const char* what() const noexcept override {
    return message_.c_str();
  }

  /// The operation that failed ("open", "read", "checksum", ...).
  const std::string& op() const noexcept {
    return why_.op;
  }

  /// Everything the error carries, as it crossed the actor system.
  const failure& why() const noexcept {
    return why_;
  }

private:
  failure why_;
  std::string message_;
};

} // namespace actorio
