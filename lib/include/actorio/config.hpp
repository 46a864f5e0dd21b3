#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>

namespace caf {
class actor_system_config;
} // namespace caf

namespace actorio {

/// CAF's scheduler policies. `sharing` wakes an idle thread by condition variable as soon as work
/// arrives; `stealing` polls with growing sleeps between polls, so a lone request waits for the
/// next poll. Sharing answers single requests sooner, so it is the default.
enum class scheduler_policy { sharing, stealing };

/// Settings of an actorio runtime. Each field can also come from a CAF config (see `from_caf` and
/// `actorio::system_config`, which declares the `actorio.*` options).
struct runtime_config {
  /// Threads for blocking file work (open, msync, fsync, hashing, copying); 0 means one per
  /// hardware thread. CAF key: `actorio.workers`.
  std::size_t workers = 0;
  /// Longest a facade call waits for its reply before failing with ETIMEDOUT.
  /// CAF key: `actorio.request-timeout` (e.g. "30s").
  std::chrono::milliseconds request_timeout{std::chrono::seconds(60)};
  /// Scheduler policy of an actor system the runtime owns; ignored when attaching to one.
  /// CAF key: `actorio.scheduler-policy` (the atom 'sharing' or 'stealing', as CAF spells its own).
  scheduler_policy scheduler = scheduler_policy::sharing;
  /// Scheduler threads of an owned actor system; 0 keeps CAF's default.
  /// CAF key: `actorio.scheduler-threads`.
  std::size_t scheduler_threads = 0;
  /// Digest used when a checksum call names none: any name `checksum` accepts.
  /// CAF key: `actorio.default-checksum`.
  std::string default_checksum = "blake2b512";
  /// When true, a write whose bytes already match the file does not store to (and so does not
  /// dirty) those pages. CAF key: `actorio.minimize-writes`.
  bool minimize_writes = true;
  /// Directory that relative paths resolve against; empty means the working directory at the
  /// time the runtime starts. CAF key: `actorio.root`.
  std::filesystem::path root;
  /// When true, the manager opens every file beneath `root` and nowhere else: absolute paths,
  /// `..` that climbs above it and symlinks that lead out of it fail with EACCES, symlink loops
  /// with ELOOP (see README, "Confining a manager to a directory"). Paths are then relative to
  /// `root` and results and errors name them so. A runtime whose root cannot be opened throws
  /// io_error from its constructor. CAF key: `actorio.confine-to-root`.
  bool confine_to_root = false;
  /// When true, the manager refuses every change (write, resize, create, copy destination,
  /// compact, and every mutating call on a map) with EROFS and opens maps read-only; reads,
  /// checksums and searches still work. CAF key: `actorio.read-only`.
  bool read_only = false;

  /// `base` with every `actorio.*` key present in `cfg` applied.
  static runtime_config from_caf(const caf::actor_system_config& cfg, runtime_config base);

  /// The defaults with every `actorio.*` key present in `cfg` applied.
  static runtime_config from_caf(const caf::actor_system_config& cfg);
};

} // namespace actorio
