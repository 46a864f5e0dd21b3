#include "io/src/sigbus_guard.hpp"

#include <atomic>
#include <csetjmp>
#include <csignal>
#include <mutex>

namespace actorio::detail {

namespace {

#if defined(__SANITIZE_THREAD__)
constexpr int save_mask = 1;
#else
constexpr int save_mask = 0;
#endif

struct guard_frame {
  sigjmp_buf env;
  const char* begin;
  const char* end;
  guard_frame* outer;
};

// initial-exec: the handler must not trigger a lazy TLS allocation (not async-signal-safe).
thread_local guard_frame* active_frame __attribute__((tls_model("initial-exec"))) = nullptr;
/// Set while a fault is passed on: a previous handler that chains back to us ends the cycle.
thread_local bool passing_on __attribute__((tls_model("initial-exec"))) = false;

std::mutex install_mutex;
struct sigaction previous_action;

void on_sigbus(int sig, siginfo_t* info, void* context);

void pass_on(int sig, siginfo_t* info, void* context) {
  if (!passing_on) {
    passing_on = true;
    if ((previous_action.sa_flags & SA_SIGINFO) != 0 && previous_action.sa_sigaction != nullptr &&
        previous_action.sa_sigaction != on_sigbus) {
      previous_action.sa_sigaction(sig, info, context);
      passing_on = false;
      return;
    }
    if ((previous_action.sa_flags & SA_SIGINFO) == 0 && previous_action.sa_handler != SIG_DFL &&
        previous_action.sa_handler != SIG_IGN) {
      previous_action.sa_handler(sig);
      passing_on = false;
      return;
    }
  }
  // Default action. A fault re-executes the instruction on return and dies as it would have
  // without us; a SIGBUS sent by kill() is raised again (SA_NODEFER: delivered at once).
  ::signal(sig, SIG_DFL);
  if (info == nullptr || info->si_code <= 0)
    ::raise(sig);
}

void on_sigbus(int sig, siginfo_t* info, void* context) {
  auto* frame = active_frame;
  // si_code > 0: raised by the kernel for a fault, not sent by another process.
  if (frame != nullptr && info != nullptr && info->si_code > 0) {
    auto* addr = static_cast<const char*>(info->si_addr);
    if (addr >= frame->begin && addr < frame->end)
      ::siglongjmp(frame->env, 1);
  }
  pass_on(sig, info, context);
}

} // namespace

void install_sigbus_handler() {
  std::lock_guard<std::mutex> guard{install_mutex};
  struct sigaction current {};
  ::sigaction(SIGBUS, nullptr, &current);
  if ((current.sa_flags & SA_SIGINFO) != 0 && current.sa_sigaction == on_sigbus)
    return;
  struct sigaction action {};
  action.sa_sigaction = on_sigbus;
  // SA_NODEFER: leaving the handler by siglongjmp(env, 0) must not leave SIGBUS blocked, or
  // the next fault would kill the process.
  action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGBUS, &action, &previous_action);
}

bool run_guarded(const void* base, std::size_t length, void (*fn)(void*), void* arg) {
  guard_frame frame;
  frame.begin = static_cast<const char*>(base);
  frame.end = frame.begin + length;
  frame.outer = active_frame;
  // savemask 0: saving the mask costs a system call per access; SA_NODEFER makes it unneeded.
  // ThreadSanitizer keeps signal state of its own that only a mask-restoring jump resets.
  if (sigsetjmp(frame.env, save_mask) != 0) {
    active_frame = frame.outer;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    return false;
  }
  active_frame = &frame;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  fn(arg);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  active_frame = frame.outer;
  return true;
}

} // namespace actorio::detail
