#pragma once

#include <memory>
#include <optional>

#include "actorio/mmap_manager.hpp"
#include "actorio/runtime.hpp"
#include "cli/command.hpp"

namespace actorio::cli {

/// The manager a command works with: a local runtime's, or with `--remote`, a server's (paths
/// are then relative to the served root). Throws `io_error` when the server cannot be reached.
class session {
public:
  explicit session(const global_options& g);

  mmap_manager manager() const;

private:
  std::unique_ptr<runtime> local_;
  std::optional<mmap_manager> remote_;
};

/// Splits "HOST:PORT" (the last colon separates); throws `io_error` (EINVAL) when malformed.
std::pair<std::string, std::uint16_t> split_host_port(const std::string& text);

} // namespace actorio::cli
