#include "cli/session.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <string_view>
#include <thread>

#include "actorio/io_error.hpp"
#include "actorio/remote.hpp"
#include "cli/diagnostics.hpp"

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

endpoint parse_endpoint(const std::string& text, const global_options& g) {
  std::string_view rest{text};
  std::optional<bool> tls;
  if (rest.starts_with("tls://")) {
    tls = true;
    rest.remove_prefix(6);
  } else if (rest.starts_with("tcp://")) {
    tls = false;
    rest.remove_prefix(6);
  }
  auto [host, port] = split_host_port(std::string{rest});
  endpoint e{std::move(host), port, {}};
  if (tls.value_or(!g.tls_cert.empty()))
    e.tls = tls_options{g.tls_cert, g.tls_key, g.tls_ca};
  return e;
}

bool several_nodes(const global_options& g) {
  return g.remote.size() > 1;
}

cluster make_cluster(const global_options& g) {
  std::vector<endpoint> nodes;
  for (const auto& r : g.remote)
    nodes.push_back(parse_endpoint(r, g));
  cluster_options opts;
  opts.connect.timeout = g.remote_timeout;
  opts.deadline = g.node_deadline;
  return cluster{std::move(nodes), opts};
}

bool is_unreachable(const failure& why) {
  return why.op == "connect";
}

void report_unreachable(const std::string& node, const failure& why) {
  report_failure(node, failure{why.code, why.op, node, ""});
}

std::vector<node_work> plan_nodes(const cluster& c, const global_options& g, const tree_options& t,
                                  const std::vector<std::string>& names, bool& clean) {
  std::vector<node_work> work;
  for (const auto& node : c.nodes()) {
    node_work w{node, names, std::nullopt};
    if (t.recursive || t.dereference) {
      try {
        clean = expand_trees(c.node(node), g, t, w.names, nullptr, node) && clean;
      } catch (...) {
        w.unreachable = failure_of(std::current_exception());
        report_unreachable(node, *w.unreachable);
        w.names.clear();
      }
    }
    work.push_back(std::move(w));
  }
  return work;
}

session::session(const global_options& g) {
  if (g.remote.empty()) {
    auto cfg = make_runtime_config(g);
    // One command's actors only pass messages (the files are read on the io workers): CAF's
    // default of at least 4 scheduler threads would only add to the start-up.
    cfg.scheduler_threads = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 2);
    local_ = std::make_unique<runtime>(std::move(cfg));
    return;
  }
  if (several_nodes(g))
    throw io_error(
      failure{EINVAL, "remote", "", "only sum, find and compact run on several --remote nodes"});
  auto e = parse_endpoint(g.remote.front(), g);
  connect_options opts;
  opts.timeout = g.remote_timeout;
  remote_ = connect(e.host, e.port, e.tls, opts);
}

mmap_manager session::manager() const {
  return local_ ? local_->manager() : *remote_;
}

} // namespace actorio::cli
