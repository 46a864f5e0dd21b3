#pragma once

#include <string>

namespace actorio::test {

// Fault injection for the reliability tests: a test executable that links fault_shim.cpp defines
// copy_file_range, pwrite, msync, fsync and pread itself, so actorio (a static library) calls
// these wrappers, which pass through to libc unless a fault is armed.

/// The call a fault breaks. `pread_nonblocking` breaks only preads on a descriptor with
/// O_NONBLOCK set, as a file system that honours the flag on regular files would.
enum class fault_call { copy_file_range, pwrite, msync, fsync, pread_nonblocking };

/// While alive, every `call` on a file whose path starts with `under` (msync: every call) fails
/// with `err`. With `err` 0 and `call` copy_file_range, the copy succeeds but the destination
/// range is then zeroed: the silent-corruption bug some kernels and filesystems had.
class scoped_fault {
public:
  scoped_fault(fault_call call, int err, std::string under);
  scoped_fault(const scoped_fault&) = delete;
  scoped_fault& operator=(const scoped_fault&) = delete;
  ~scoped_fault();

  /// How many calls the faults armed since the last one was made have hit so far.
  static int hits();

private:
  fault_call call_;
};

} // namespace actorio::test
