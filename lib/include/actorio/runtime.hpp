#pragma once

#include <functional>
#include <future>
#include <memory>
#include <string>
#include <utility>

#include "actorio/config.hpp"
#include "actorio/couple.hpp"
#include "actorio/mmap_manager.hpp"

namespace caf {
class actor_system;
} // namespace caf

namespace actorio {

namespace detail {
struct runtime_core;
} // namespace detail

/// actorio inside a CAF actor system: the io workers, the manager actor and the maps it
/// supervises. Several runtimes may live in one process.
///
/// Stopping (`shutdown()` or the destructor) closes every open map (unmapping it: what was written
/// is in the file), then stops every actor the runtime spawned, so an owned actor system can end
/// and a borrowed one is left as it was found. Handles that outlive the runtime fail with EBADF;
/// an owned actor system lives on until the last of them is gone.
///
/// Signals: opening a map installs a process-wide SIGBUS handler (SA_SIGINFO | SA_NODEFER |
/// SA_ONSTACK) unless it is installed already. It turns a fault inside one of actorio's guarded
/// map accesses (a file truncated by another process) into an EIO for that call and passes every
/// other SIGBUS to the handler that was installed before it. An embedder that installs its own
/// SIGBUS handler later should chain to the previous one (sigaction's old action) for faults it
/// does not handle; until the next map open (which puts actorio's back on top, chaining to it),
/// a truncated file would otherwise reach that handler only.
///
/// Thread-safety: `manager()`, `system()` and `config()` may be called from any thread;
/// `shutdown()` and the destructor must not race other calls on the same runtime object.
class runtime {
public:
  /// Starts a runtime with an actor system of its own, configured from `cfg`. Throws `io_error`
  /// (op "start", the errno of thread creation, e.g. EAGAIN) when its threads cannot all be
  /// started: it checks that they can before the actor system starts any, and stops what it
  /// started if one still fails; it never hangs or aborts for want of threads.
  explicit runtime(runtime_config cfg = {});

  /// Starts a runtime inside `sys`, which must outlive every actorio handle. `sys`'s config
  /// should have seen `actorio::add_message_types` (needed for remote use). The `actorio.*`
  /// keys of its config fill in `cfg` when it is not given. Throws `io_error` (op "start") when
  /// an io worker or the reactor thread cannot start; those started are stopped again.
  explicit runtime(caf::actor_system& sys);
  runtime(caf::actor_system& sys, runtime_config cfg);

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Calls `shutdown()`, reporting a failure to close a map on stderr.
  ~runtime();

  /// The memory-mapped file manager.
  mmap_manager manager() const;

  /// Joins `reader` and `writer` (may be equal, e.g. a socket) into a couple, which adopts them:
  /// with `options.owns_fds` (the default) it closes them when it closes. Pipes, sockets and
  /// terminals are switched to non-blocking (O_NONBLOCK belongs to the open file description, so
  /// duplicates of it see it too). Throws `io_error` (op "couple") if `reader` is not open for
  /// reading or `writer` not for writing (EBADF), or the options are invalid (EINVAL); the
  /// descriptors are then left as they were.
  couple make_couple(int reader, int writer, couple_options options = {});

  /// Makes a new one-way channel -> (read end, write end), or (-1, -1) with errno set.
  using pipe_factory = std::function<std::pair<int, int>()>;

  /// Two couples (A, B) where A's writes are B's reads and B's writes are A's reads, over two
  /// channels made by `pipe_impl` (default: pipe2 with O_CLOEXEC; a socketpair works too). Each
  /// couple owns its two descriptors; closing one end leaves the other usable (its reads see
  /// EOF, its writes EPIPE). Writes are buffered until `flush()`. Throws `io_error` (op "pipe")
  /// if a channel cannot be made.
  std::pair<couple, couple> double_ended_binary_pipe(pipe_factory pipe_impl = {});

  /// As `double_ended_binary_pipe`, in text mode (UTF-8, strict).
  std::pair<couple, couple> double_ended_text_pipe(pipe_factory pipe_impl = {});

  /// The process's stdin and stdout as one text couple, the same one on every call until it is
  /// closed (then a new one). It works on private duplicates of 0 and 1 (reopened, so that
  /// O_NONBLOCK does not leak to other processes sharing the terminal or pipe); closing it
  /// closes those, never 0 and 1. Throws `io_error` if 0 or 1 is not open.
  couple stdcoup();

  /// `stdcoup().ainput(prompt, assert_tty)`: see `couple::ainput`.
  operation<std::string> ainput(std::string prompt = "", bool assert_tty = false);

  /// The actor system the runtime runs in.
  caf::actor_system& system() const;

  /// The configuration in force (with `workers` and `root` filled in).
  const runtime_config& config() const;

  /// Closes every open map, then stops the runtime's actors. Idempotent. Throws `io_error` if a
  /// map could not be closed cleanly (the others are closed regardless).
  void shutdown();

private:
  std::shared_ptr<detail::runtime_core> core_;
};

} // namespace actorio
