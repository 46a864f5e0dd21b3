#include "actorio/messages/error.hpp"

#include <cerrno>

#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>

namespace actorio {

std::string to_string(errc x) {
  switch (x) {
  case errc::none:
    return "none";
  case errc::os_error:
    return "os_error";
  case errc::invalid_argument:
    return "invalid_argument";
  case errc::closed:
    return "closed";
  }
  return "unknown";
}

caf::error make_error(const failure& why) {
  auto code = errc::os_error;
  if (why.code == EINVAL)
    code = errc::invalid_argument;
  else if (why.code == EBADF)
    code = errc::closed;
  return caf::make_error(code, why.code, why.op, why.path, why.detail);
}

failure to_failure(const caf::error& err, std::string op, std::string path) {
  if (err.category() == caf::atom("actorio") &&
      err.context().match_elements<std::int32_t, std::string, std::string, std::string>()) {
    const auto& ctx = err.context();
    return failure{ctx.get_as<std::int32_t>(0), ctx.get_as<std::string>(1),
                   ctx.get_as<std::string>(2), ctx.get_as<std::string>(3)};
  }
  if (err == caf::sec::request_timeout)
    return failure{ETIMEDOUT, std::move(op), std::move(path), "no reply within the timeout"};
  // A remote node's proxies end with this when the connection to the node is lost.
  if (err == caf::exit_reason::remote_link_unreachable)
    return failure{ECONNRESET, std::move(op), std::move(path),
                   "the connection to the node was lost"};
  if (err == caf::sec::request_receiver_down)
    return failure{EBADF, std::move(op), std::move(path), "the actor serving it is gone"};
  // The reason of a down message: the actor serving the call ended (killed, shut down, failed).
  if (err.category() == caf::atom("exit"))
    return failure{EBADF, std::move(op), std::move(path),
                   "the actor serving it is gone (" + caf::to_string(err) + ")"};
  return failure{EIO, std::move(op), std::move(path), caf::to_string(err)};
}

} // namespace actorio
