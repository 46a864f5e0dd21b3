#pragma once

#include <cstddef>
#include <type_traits>

namespace actorio::detail {

// A shared file mapping raises SIGBUS when a page past the file's current end is touched, e.g.
// after another process truncated the file. Reading through the map is the point of a map, so
// instead of pread we guard each access: a per-thread sigsetjmp frame names the mapping being
// touched, and the process-wide handler jumps back to it for a fault inside that range (as LMDB
// and ICU's mmap users do). Any other SIGBUS goes to the handler installed before ours.
//
// For embedders: actorio installs its handler when it opens a map (SA_SIGINFO | SA_NODEFER |
// SA_ONSTACK) unless it is installed already. A handler installed later should chain to the one
// it replaces (sigaction's old action) for faults that are not its own; one that does not (as
// Boost.Test's per-test handler) is itself chained to at the next map open, when ours goes on
// top again.

/// Installs the SIGBUS handler unless it is the current one; thread-safe, one sigaction query
/// when nothing changed. The handler replaced is called for every fault outside a guarded range
/// (a cycle of handlers chaining to each other ends in the default action).
void install_sigbus_handler();

/// Runs `fn(arg)`. If it faults with SIGBUS at an address in [base, base + length), `fn` is
/// abandoned at that instruction and false is returned; otherwise true. `fn` is left by
/// siglongjmp, so it must not own anything that needs destruction (no allocation, no locks):
/// plain memcpy/memchr/compare loops over preallocated memory. Guards nest per thread.
bool run_guarded(const void* base, std::size_t length, void (*fn)(void*), void* arg);

/// As run_guarded, for any callable.
template <class F>
bool guarded(const void* base, std::size_t length, F&& fn) {
  using fn_type = std::remove_reference_t<F>;
  return run_guarded(
    base, length, [](void* p) { (*static_cast<fn_type*>(p))(); },
    const_cast<void*>(static_cast<const void*>(&fn)));
}

} // namespace actorio::detail
