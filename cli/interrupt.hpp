#pragma once

#include <functional>
#include <list>

#include "actorio/result.hpp"

namespace actorio::cli {

// Ctrl-C handling. SIGINT and SIGTERM are blocked in every thread (so the runtime's threads,
// started later, inherit that) and taken by one watcher thread with sigwait, which runs the
// cancel actions of the operations in flight; the command then unwinds normally (temporary
// copies removed by the facade) and main exits with status 130. With nothing to cancel, or if
// unwinding takes longer than a few seconds, or on a second Ctrl-C, the watcher exits at once.

/// Exit status after an interrupt, as a shell reports a SIGINT death.
constexpr int interrupted_status = 130;

/// Blocks the signals and starts the watcher; call first thing in main, before any thread.
/// Signals the process was started with set to ignored stay ignored and are not watched.
/// Fails (with the errno of thread creation) when the watcher cannot start.
status install_interrupt_handler();

/// True once SIGINT or SIGTERM arrived.
bool interrupted() noexcept;

/// Keeps `cancel` registered while in scope: an interrupt calls it (on the watcher thread).
class cancel_scope {
public:
  explicit cancel_scope(std::function<void()> cancel);
  cancel_scope(const cancel_scope&) = delete;
  cancel_scope& operator=(const cancel_scope&) = delete;
  ~cancel_scope();

private:
  std::list<std::function<void()>>::iterator entry_;
};

} // namespace actorio::cli
