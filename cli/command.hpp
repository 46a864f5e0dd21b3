#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "actorio/config.hpp"

namespace CLI {
class App;
} // namespace CLI

namespace actorio::cli {

/// Options that apply to every subcommand.
struct global_options {
  /// `-j N`: io worker threads (runtime_config::workers), 1 to 1024; 0 means one per hardware
  /// thread.
  std::size_t workers = 0;
  /// `-q`: no informational output (reports, OK lines, progress); results and errors still print.
  bool quiet = false;
  /// `--no-progress`: never draw a progress bar.
  bool no_progress = false;
  /// `--remote HOST:PORT`: run against a served manager instead of a local runtime; given several
  /// times, `sum`, `find` and `compact` run on every node. A `tls://` or `tcp://` prefix says how
  /// to talk to that node; without one, TLS is used when --tls-cert is given.
  std::vector<std::string> remote;
  /// `--tls-cert`, `--tls-key`, `--tls-ca`: this end's certificate, its key and the CA that
  /// signed the peer's (for `--remote` and `serve`).
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  /// `--timeout`: longest a remote call waits for its reply (bulk calls wait as long as the
  /// connection lives). A person waits about this long before deciding a server is gone.
  std::chrono::milliseconds remote_timeout{std::chrono::seconds(30)};
  /// `--deadline`: with several `--remote` nodes, longest one node's part of a call may take
  /// (cluster_options::deadline); a node that misses it fails its items with ETIMEDOUT.
  std::chrono::milliseconds node_deadline{std::chrono::minutes(10)};
};

/// A parsed subcommand, ready to run; returns the process exit status.
using command = std::function<int()>;

/// The runtime settings for a command-line run: `-j`, and no request timeout worth the name
/// (a checksum of a huge file may take hours; Ctrl-C is the way to stop early).
runtime_config make_runtime_config(const global_options& g);

// Each adds its subcommand to `app` and returns what runs it once parsing chose it. The options
// it parses live inside the returned command.
command add_sum_command(CLI::App& app, const global_options& g);
command add_find_command(CLI::App& app, const global_options& g);
command add_copy_command(CLI::App& app, const global_options& g);
command add_compact_command(CLI::App& app, const global_options& g);
command add_sparse_command(CLI::App& app, const global_options& g);
command add_read_command(CLI::App& app, const global_options& g);
command add_write_command(CLI::App& app, const global_options& g);
command add_serve_command(CLI::App& app, const global_options& g);

} // namespace actorio::cli
