#include "cli/session.hpp"

#include <cerrno>
#include <charconv>

#include "actorio/io_error.hpp"
#include "actorio/remote.hpp"

namespace actorio::cli {

std::pair<std::string, std::uint16_t> split_host_port(const std::string& text) {
  auto colon = text.rfind(':');
  unsigned port = 0;
  if (colon != std::string::npos && colon > 0) {
    const char* first = text.data() + colon + 1;
    const char* last = text.data() + text.size();
    auto [end, ec] = std::from_chars(first, last, port);
    if (ec == std::errc{} && end == last && first != last && port <= 65535)
      return {text.substr(0, colon), static_cast<std::uint16_t>(port)};
  }
  throw io_error(failure{EINVAL, "address", text, "expected HOST:PORT"});
}

session::session(const global_options& g) {
  if (g.remote.empty()) {
    local_ = std::make_unique<runtime>(make_runtime_config(g));
    return;
  }
  auto [host, port] = split_host_port(g.remote);
  connect_options opts;
  opts.timeout = g.remote_timeout;
  remote_ = connect(host, port, tls_options{g.tls_cert, g.tls_key, g.tls_ca}, opts);
}

mmap_manager session::manager() const {
  return local_ ? local_->manager() : *remote_;
}

} // namespace actorio::cli
