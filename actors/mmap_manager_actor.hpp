#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "actorio/messages/interfaces.hpp"
#include "actors/io_worker_actor.hpp"
#include "actors/mapped_file_actor.hpp"
#include "io/src/path_sandbox.hpp"
#include "io/src/staged_file.hpp"
#include "io/src/work_control.hpp"

namespace actorio::detail {

/// What the manager needs from the runtime's configuration.
struct mmap_manager_options {
  /// Base for relative paths.
  std::string root;
  /// Algorithm used when a digest request names none.
  std::string default_digest;
  /// Skip stores of bytes that already match (see mapped_region::write).
  bool minimize_writes = true;
  /// Every file is opened through this: plainly, or beneath a sandbox root. With a sandbox,
  /// paths stay relative to that root (the registry's keys too) and absolute paths or `..`
  /// escapes are refused with EACCES.
  file_opener opener;
  /// Refuse every change with EROFS and map files read-only.
  bool read_only = false;
};

/// Key of the registry: the normalized path and the mode string.
struct map_key {
  std::string path;
  open_mode mode = open_mode::read_write;
  auto operator<=>(const map_key&) const = default;
};

struct mmap_manager_state {
  struct entry {
    mapped_file_internal file;
    /// Handles handed out and not yet released.
    std::size_t refs = 0;
    /// Increases with every open; decides `open_paths` when a path is open in two modes.
    std::uint64_t opened_at = 0;
  };
  /// Called once an open is settled, with the map (one counted reference) or why it failed.
  using open_callback = std::function<void(result<mapped_file_actor>)>;
  struct waiter {
    open_callback done;
    std::int64_t init_size = 0;
  };

  std::map<map_key, entry> maps;
  std::map<caf::actor_addr, map_key> keys;
  /// Opens whose file is being opened on a worker; later opens of the same key wait here.
  std::map<map_key, std::vector<waiter>> opening;
  std::uint64_t open_counter = 0;
  /// A bulk operation under way: the id of its request and its control.
  struct run {
    std::uint64_t request;
    std::weak_ptr<work_control> control;
  };
  /// Bulk operations under way, by requester: a requester cancels its own, by request id or by
  /// going down.
  std::multimap<caf::actor_addr, run> running;
  /// Requesters of bulk operations being monitored, each once until it goes down.
  std::set<caf::actor_addr> requesters;
  /// A staged file (see stage_atom), written and committed on the workers.
  struct staged_entry {
    std::shared_ptr<staged_file> file;
    /// A write waiting for the one running on the same file.
    struct queued_write {
      std::int64_t offset;
      byte_pieces data;
      caf::typed_response_promise<std::uint64_t> promise;
    };
    /// Writes run one at a time, in order of arrival: concurrent writes into one file would
    /// contend for its inode lock and scatter its writeback.
    std::deque<queued_write> queued;
    /// Writes queued or running: a commit or discard waits for them, as staged_file asks.
    std::size_t writes = 0;
    /// The commit or discard that came while writes ran; later writes are refused.
    std::function<void()> after_writes;
  };
  std::map<std::uint64_t, staged_entry> staged;
  std::uint64_t staged_counter = 0;
  std::shared_ptr<io_worker_pool> pool;
  mmap_manager_options options;
  static inline const char* name = "actorio.mmap_manager";

  /// Stops every mapped-file actor still registered: a manager that goes takes its maps along
  /// (each unmaps and closes its file as it exits).
  ~mmap_manager_state();
};

/// The manager: keeps the registry, opens files on io workers, spawns and monitors one
/// mapped_file_actor per map and closes it when its last reference is released.
mmap_manager_actor::behavior_type
mmap_manager_impl(mmap_manager_actor::stateful_pointer<mmap_manager_state> self,
                  std::shared_ptr<io_worker_pool> pool, mmap_manager_options options);

} // namespace actorio::detail
