// `actorio`: the library's main jobs from a shell. Parses with CLI11 and runs one subcommand;
// every file operation goes through actorio's facade (actorio::runtime / mmap_manager).
#include <chrono>
#include <exception>
#include <iostream>
#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/command.hpp"
#include "cli/diagnostics.hpp"
#include "cli/interrupt.hpp"

namespace actorio::cli {

runtime_config make_runtime_config(const global_options& g) {
  runtime_config cfg;
  cfg.workers = g.workers;
  cfg.request_timeout = std::chrono::hours(24 * 365);
  return cfg;
}

} // namespace actorio::cli

int main(int argc, char** argv) {
  using namespace actorio::cli;
  install_interrupt_handler();
  CLI::App app{"actorio: checksums, search, copies and sparse files through actorio's actors"};
  app.set_version_flag("--version", "actorio " ACTORIO_VERSION);
  app.require_subcommand(1);
  // Global options may also follow the subcommand name ("actorio sum -j 4 ...").
  app.fallthrough();
  global_options g;
  double timeout_s = 0;
  app.add_option("-j,--jobs", g.workers, "io worker threads (default: one per hardware thread)");
  app.add_flag("-q", g.quiet, "No informational output; results and errors still print");
  app.add_flag("--no-progress", g.no_progress, "Never draw a progress bar");
  app.add_option("--remote", g.remote,
                 "HOST:PORT of an 'actorio serve'; paths are relative to its root");
  app.add_option("--tls-cert", g.tls_cert, "This end's TLS certificate (PEM)");
  app.add_option("--tls-key", g.tls_key, "The private key of --tls-cert (PEM)");
  app.add_option("--tls-ca", g.tls_ca, "The CA that must have signed the peer's certificate");
  app.add_option("--timeout", timeout_s, "With --remote: longest a call waits, in seconds");
  std::map<std::string, command> commands{
    {"sum", add_sum_command(app, g)},       {"find", add_find_command(app, g)},
    {"copy", add_copy_command(app, g)},     {"compact", add_compact_command(app, g)},
    {"sparse", add_sparse_command(app, g)}, {"read", add_read_command(app, g)},
    {"write", add_write_command(app, g)},   {"serve", add_serve_command(app, g)},
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    auto rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (timeout_s > 0)
    g.remote_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(timeout_s * 1000));
  for (auto* sub : app.get_subcommands()) {
    try {
      auto status = commands.at(sub->get_name())();
      // A server's way to stop is a signal: that is its normal end.
      if (sub->get_name() == "serve")
        return status;
      return interrupted() ? interrupted_status : status;
    } catch (const std::exception& e) {
      report_message(e.what());
      return interrupted() ? interrupted_status : 2;
    }
  }
  return 2;
}
