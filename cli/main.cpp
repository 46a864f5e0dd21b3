// `actorio`: the library's main jobs from a shell. Parses with CLI11 and runs one subcommand;
// every file operation goes through actorio's facade (actorio::runtime / mmap_manager).
#include <charconv>
#include <chrono>
#include <cmath>
#include <exception>
#include <iostream>
#include <map>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/command.hpp"
#include "cli/diagnostics.hpp"
#include "cli/interrupt.hpp"
#include "cli/standard_output.hpp"

namespace actorio::cli {

namespace {

/// Most io worker threads `-j` accepts: more only costs memory and start-up time.
constexpr std::size_t max_workers = 1024;

/// Longest `--timeout` accepted, in seconds (a week): longer is a typo, not a wish.
constexpr double max_timeout_s = 7 * 24 * 3600;

/// `--timeout SECONDS` -> milliseconds, rounded up so that a tiny value still fires; nullopt
/// unless it is a finite number of seconds in (0, max_timeout_s].
std::optional<std::chrono::milliseconds> parse_timeout(const std::string& text) {
  double seconds = 0;
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(text.data(), last, seconds);
  if (ec != std::errc{} || end != last || !std::isfinite(seconds) || seconds <= 0 ||
      seconds > max_timeout_s)
    return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(seconds * 1000)));
}

/// Status of a command whose stdout failed: grep's "trouble" for `find`, 1 for the rest (as
/// sha256sum, cp and cat).
int write_error_status(const std::string& command_name) {
  return command_name == "find" ? 2 : 1;
}

} // namespace

runtime_config make_runtime_config(const global_options& g) {
  runtime_config cfg;
  cfg.workers = g.workers;
  cfg.request_timeout = std::chrono::hours(24 * 365);
  return cfg;
}

} // namespace actorio::cli

int main(int argc, char** argv) {
  using namespace actorio::cli;
  reserve_standard_descriptors();
  if (auto started = install_interrupt_handler(); !started) {
    report_failure("", started.error());
    return 2;
  }
  CLI::App app{"actorio: checksums, search, copies and sparse files through actorio's actors"};
  app.set_version_flag("--version", "actorio " ACTORIO_VERSION);
  app.require_subcommand(1);
  // Global options may also follow the subcommand name ("actorio sum -j 4 ...").
  app.fallthrough();
  global_options g;
  std::string timeout_text;
  std::string deadline_text;
  app
    .add_option("-j,--jobs", g.workers,
                "io worker threads, 1 to 1024 (default or 0: one per hardware thread)")
    ->check(CLI::Range(0, static_cast<int>(max_workers)));
  app.add_flag("-q", g.quiet, "No informational output; results and errors still print");
  app.add_flag("--no-progress", g.no_progress, "Never draw a progress bar");
  app
    .add_option("--remote", g.remote,
                "HOST:PORT of an 'actorio serve'; paths are relative to its root. Repeat it to "
                "run sum, find or compact on every node ('tls://' or 'tcp://' before HOST picks "
                "TLS or plain TCP for that node)")
    ->allow_extra_args(false);
  app.add_option("--tls-cert", g.tls_cert, "This end's TLS certificate (PEM)");
  app.add_option("--tls-key", g.tls_key, "The private key of --tls-cert (PEM)");
  app.add_option("--tls-ca", g.tls_ca, "The CA that must have signed the peer's certificate");
  app.add_option("--timeout", timeout_text,
                 "With --remote: longest a call waits, in seconds (default 30; bulk calls run as "
                 "long as the connection lives)");
  app.add_option("--deadline", deadline_text,
                 "With several --remote nodes: longest one node's part of a call may take, in "
                 "seconds (default 600); a node that misses it fails its items (ETIMEDOUT)");
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
  if (!timeout_text.empty()) {
    auto timeout = parse_timeout(timeout_text);
    if (!timeout) {
      report_message("--timeout: expected a number of seconds above 0 and at most " +
                     std::to_string(static_cast<long>(max_timeout_s)) + ", got '" + timeout_text +
                     "'");
      return 2;
    }
    g.remote_timeout = *timeout;
  }
  if (!deadline_text.empty()) {
    auto deadline = parse_timeout(deadline_text);
    if (!deadline) {
      report_message("--deadline: expected a number of seconds above 0 and at most " +
                     std::to_string(static_cast<long>(max_timeout_s)) + ", got '" + deadline_text +
                     "'");
      return 2;
    }
    g.node_deadline = *deadline;
  }
  for (auto* sub : app.get_subcommands()) {
    const auto& name = sub->get_name();
    int status = 2;
    try {
      status = commands.at(name)();
    } catch (...) {
      // What the facade threw: a runtime that could not start, a server out of reach.
      report_failure("", failure_of(std::current_exception()));
    }
    status = finish_output(status, write_error_status(name));
    // A server's way to stop is a signal: that is its normal end.
    if (name == "serve")
      return status;
    return interrupted() ? interrupted_status : status;
  }
  return 2;
}
