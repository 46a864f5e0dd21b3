#include "cli/interrupt.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <mutex>
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

sigset_t watched_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

/// Longest an interrupted command may take to unwind before the process just ends.
constexpr auto unwind_limit = std::chrono::seconds(5);

void watch() {
  auto set = watched_signals();
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

void install_interrupt_handler() {
  auto set = watched_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // Detached: it sleeps in sigwait for the whole run and dies with the process.
  std::thread{watch}.detach();
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
