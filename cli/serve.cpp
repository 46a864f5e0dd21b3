// `actorio serve`: a manager served over CAF's middleman until SIGINT or SIGTERM.
#include <sys/resource.h>

#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "actorio/remote.hpp"
#include "cli/command.hpp"
#include "cli/interrupt.hpp"
#include "cli/session.hpp"

namespace actorio::cli {

namespace {

struct serve_cli_options {
  std::string listen = "127.0.0.1:0";
  std::string root;
  bool read_only = false;
  std::uint64_t max_read = serve_limits{}.max_bulk_read_bytes;
  std::size_t max_maps = serve_limits{}.max_open_maps;
  std::uint64_t max_in_flight = serve_limits{}.max_bytes_in_flight;
  std::size_t max_clients = serve_limits{}.max_clients;
  std::uint64_t max_message = serve_limits{}.max_message_bytes;
  double handshake_timeout_s = 10;
  std::vector<std::string> pull_from;
};

/// Lifts the soft descriptor limit to the hard one: clients and the files they open each take
/// one, and the default client limit is sized from it.
void raise_descriptor_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

int run_serve(const serve_cli_options& o, const global_options& g) {
  auto [host, port] = split_host_port(o.listen);
  serve_options opts;
  opts.address = host;
  opts.port = port;
  opts.root = o.root;
  opts.tls = tls_options{g.tls_cert, g.tls_key, g.tls_ca};
  opts.read_only = o.read_only;
  opts.limits.max_bulk_read_bytes = o.max_read;
  opts.limits.max_open_maps = o.max_maps;
  opts.limits.max_bytes_in_flight = o.max_in_flight;
  opts.limits.max_clients = o.max_clients;
  opts.limits.max_message_bytes = o.max_message;
  opts.limits.handshake_timeout =
    std::chrono::milliseconds(static_cast<std::int64_t>(o.handshake_timeout_s * 1000));
  opts.pull_from = o.pull_from;
  opts.runtime = make_runtime_config(g);
  opts.on_connect = [](const std::string& node) {
    std::cerr << "actorio serve: client " + node + " connected\n" << std::flush;
  };
  opts.on_disconnect = [](const std::string& node) {
    std::cerr << "actorio serve: client " + node + " disconnected\n" << std::flush;
  };
  raise_descriptor_limit();
  auto srv = serve(std::move(opts));
  // Tests listen on port 0 and read the chosen port from this line.
  std::cout << "listening on " << srv.address() << ':' << srv.port()
            << (g.tls_cert.empty() ? "" : " (TLS)") << (o.read_only ? " (read-only)" : "")
            << std::endl;
  std::mutex m;
  std::condition_variable cv;
  bool stop = false;
  {
    cancel_scope on_signal{[&] {
      std::lock_guard<std::mutex> guard{m};
      stop = true;
      cv.notify_all();
    }};
    std::unique_lock<std::mutex> lock{m};
    cv.wait(lock, [&] { return stop; });
  }
  srv.stop();
  std::cerr << "actorio serve: stopped\n";
  return 0;
}

} // namespace

command add_serve_command(CLI::App& app, const global_options& g) {
  auto o = std::make_shared<serve_cli_options>();
  auto* sub = app.add_subcommand("serve", "Serve a directory to remote actorio clients");
  sub->add_option("--listen", o->listen, "HOST:PORT to listen on (port 0: pick a free one)")
    ->capture_default_str();
  sub->add_option("--root", o->root, "The directory served")->required();
  sub->add_flag("--read-only", o->read_only, "Refuse every change with EROFS");
  // Each limit is checked as a number: CLI11 would read "-1" as the largest unsigned value.
  sub->add_option("--max-read", o->max_read, "Largest bulk read reply in bytes (0: no limit)")
    ->check(CLI::NonNegativeNumber)
    ->capture_default_str();
  sub->add_option("--max-maps", o->max_maps, "Map handles one client may hold (0: no limit)")
    ->check(CLI::NonNegativeNumber)
    ->capture_default_str();
  sub
    ->add_option("--max-in-flight", o->max_in_flight,
                 "Bytes of one client's unfinished bulk reads and writes (0: no limit)")
    ->check(CLI::NonNegativeNumber)
    ->capture_default_str();
  sub
    ->add_option("--max-clients", o->max_clients,
                 "Client connections at once (0: half the descriptor limit)")
    ->check(CLI::NonNegativeNumber)
    ->capture_default_str();
  sub
    ->add_option("--max-message", o->max_message,
                 "Largest message a client may send in bytes (0: no limit)")
    ->check(CLI::NonNegativeNumber)
    ->capture_default_str();
  sub
    ->add_option("--handshake-timeout", o->handshake_timeout_s,
                 "Seconds a connection may take to complete its handshake")
    ->check(CLI::Range(0.001, 86400.0))
    ->capture_default_str();
  sub->add_option("--pull-from", o->pull_from,
                  "HOST:PORT of a node this server may copy from itself when a client copies "
                  "between the two (repeatable); with the global TLS files for a tls:// node");
  return [o, &g] { return run_serve(*o, g); };
}

} // namespace actorio::cli
