#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "actorio/messages/interfaces.hpp"
#include "actors/io_worker_actor.hpp"
#include "io/src/mapped_region.hpp"
#include "io/src/sharded_rw_lock.hpp"

namespace actorio::detail {

/// A map as its manager holds it: the public interface plus the two requests only the manager
/// may send, since it alone counts the references that the handles it gave out stand for. Both
/// are EPERM from anyone else (an untyped send, or a served map's pass-through, can name them).
using mapped_file_internal = mapped_file_actor::extend<
  /// (minimum size >= 0) -> the size after growing to at least that much; never shrinks. Serves
  /// `init_size` of an open that joins this map: EINVAL if it would grow a read-only map.
  caf::replies_to<grow_atom, std::int64_t>::with<std::uint64_t>,
  /// Unmaps and closes the file for every holder; the actor then exits.
  caf::replies_to<caf::close_atom>::with<void>>;

/// One open map and the lock that lets threads other than its actor's touch it. Shared by the
/// actor, the io worker running its current operation, the senders served in `enqueue` and the
/// facade handles that read it directly; held by shared_ptr, so it outlives whichever of them ends
/// last.
struct shared_map {
  explicit shared_map(std::shared_ptr<mapped_region> r) noexcept
    : region(std::move(r)) {}

  /// The most bytes a read or write is served without a worker.
  static constexpr std::uint64_t direct_max = std::uint64_t{1} << 20;

  /// `read(offset, size)` done at once in the calling thread -> none when it must go through the
  /// map's actor: something sent to the map before is unfinished, a change holds the lock, or
  /// the range is longer than `direct_max` or not all in the page cache.
  std::optional<result<bytes>> try_read(std::int64_t offset, std::int64_t size);

  /// As try_read, for a facade caller's own thread: the bytes are copied from the page cache
  /// through the descriptor in one system call (mapped_region::read_cached) instead of a mincore
  /// and a copy through the map. A missing page makes that call start the kernel's readahead,
  /// which may first read the filesystem's metadata from the disk: fine for a caller about to
  /// wait for the answer anyway, not for a CAF scheduler thread, which uses try_read.
  std::optional<result<bytes>> try_read_cached(std::int64_t offset, std::int64_t size);

  std::shared_ptr<mapped_region> region;
  /// Exclusive while a change is applied, shared while bytes are read.
  sharded_rw_lock lock;
  /// Requests enqueued and not yet finished (an operation on a worker counts until it is done),
  /// plus one for good once the actor has ended. Only while it is 0 may a read or write be served
  /// outside the actor: anything its sender sent before is then finished, so the direct answer
  /// keeps each sender's requests in order. On a line of its own: readers only load it.
  alignas(64) std::atomic<std::uint32_t> pending{0};
};

/// State of one mapped file's actor.
struct mapped_file_state {
  std::shared_ptr<shared_map> map;
  std::shared_ptr<io_worker_pool> pool;
  /// Algorithm for a digest request that names none.
  std::string default_digest;
  /// The only sender whose close is served.
  caf::actor_addr manager;
  static inline const char* name = "actorio.mapped_file";
};

/// Serves one open map, one operation at a time in arrival order: every change and every access
/// that may wait for the disk runs on an io worker while the actor awaits it.
///
/// Reads and writes of at most `direct_max` bytes whose pages are all in the page cache never
/// leave the thread they arrive on: while the map is idle (no request queued or running) `enqueue`
/// serves them on the sender's thread under `shared_map::lock` and puts the answer straight into
/// the sender's mailbox (a facade call is then settled before its send returns), and otherwise
/// the actor serves them itself without a worker. Reads run side by side; a change excludes them.
/// A direct write faults its pages writable, which may wait briefly for the filesystem's own
/// bookkeeping (its journal), never for reading the disk. After close the actor quits.
class mapped_file_class
  : public caf::stateful_actor<mapped_file_state, mapped_file_internal::base> {
public:
  using super = caf::stateful_actor<mapped_file_state, mapped_file_internal::base>;

  static constexpr std::uint64_t direct_max = shared_map::direct_max;

  /// `manager` is the actor that hands out references to this map and closes it.
  mapped_file_class(caf::actor_config& cfg, std::shared_ptr<mapped_region> region,
                    std::shared_ptr<io_worker_pool> pool, std::string default_digest,
                    caf::actor_addr manager);

  behavior_type make_behavior() override;

  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit* host) override;

  caf::invoke_message_result consume(caf::mailbox_element& x) override;

  bool cleanup(caf::error&& reason, caf::execution_unit* host) override;

  /// The map, for facade handles in this process that read it without a message.
  const std::shared_ptr<shared_map>& map() const noexcept {
    return map_;
  }

private:
  /// Serves a read, write or info request in the sender's thread -> false when it must be queued.
  bool serve_directly(caf::mailbox_element& x, caf::execution_unit* host);

  /// Also in the state; kept here too for `enqueue`, which may run after the state is gone.
  std::shared_ptr<shared_map> map_;
};

} // namespace actorio::detail
