#include "cli/interrupt.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <mutex>
#include <system_error>
#include <thread>

#include <pthread.h>
#include <unistd.h>

namespace actorio::cli {

namespace {

std::atomic<bool> interrupted_flag{false};

/// The registered cancel actions; the mutex also keeps an action from running while its scope
/// (and the operation it cancels) is being destroyed.
std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

std::list<std::function<void()>>& registry() {
  static std::list<std::function<void()>> actions;
  return actions;
}

/// SIGINT and SIGTERM, less any the parent set to ignored: like coreutils, a command started
/// in the background by a shell (or under nohup-like wrappers) keeps ignoring what it was told
/// to ignore.
const sigset_t& watched_signals() {
  static const sigset_t set = [] {
    sigset_t s;
    sigemptyset(&s);
    for (int sig : {SIGINT, SIGTERM}) {
      struct sigaction old {};
      if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN)
        continue;
      sigaddset(&s, sig);
    }
    return s;
  }();
  return set;
}

/// Longest an interrupted command may take to unwind before the process just ends.
constexpr auto unwind_limit = std::chrono::seconds(5);

void watch() {
  const auto& set = watched_signals();
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  interrupted_flag = true;
  bool any = false;
  {
    std::lock_guard<std::mutex> guard{registry_mutex()};
    for (auto& cancel : registry()) {
      cancel();
      any = true;
    }
  }
  if (!any)
    ::_exit(interrupted_status);
  // A second signal, or a command that does not come back in time, ends the process right away.
  std::thread{[] {
    std::this_thread::sleep_for(unwind_limit);
    ::_exit(interrupted_status);
  }}.detach();
  while (sigwait(&set, &sig) != 0) {
  }
  ::_exit(interrupted_status);
}

} // namespace

status install_interrupt_handler() {
  const auto& set = watched_signals();
  if (sigisemptyset(&set))
    return ok_status();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // Detached: it sleeps in sigwait for the whole run and dies with the process.
  try {
    std::thread{watch}.detach();
  } catch (const std::system_error& e) {
    return failure{e.code().value(), "thread", "", "cannot start a thread"};
  }
  return ok_status();
}

bool interrupted() noexcept {
  return interrupted_flag.load();
}

cancel_scope::cancel_scope(std::function<void()> cancel) {
  std::lock_guard<std::mutex> guard{registry_mutex()};
  entry_ = registry().insert(registry().end(), std::move(cancel));
}

cancel_scope::~cancel_scope() {
  std::lock_guard<std::mutex> guard{registry_mutex()};
  registry().erase(entry_);
}

} // namespace actorio::cli
