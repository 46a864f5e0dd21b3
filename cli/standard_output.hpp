#pragma once

#include <string_view>

namespace actorio::cli {

// The one owner of stdout's error state. Commands write results through `write_output` and call
// `flush_output` after each batch (and before an error line, to keep the two streams in order);
// main calls `finish_output` once at the end. A write error is reported once, as coreutils does
// ("actorio: write error: No space left on device"), and later output is dropped. SIGPIPE keeps
// the disposition the process was started with: by default a closed pipe ends the process as it
// ends sha256sum; when the parent ignored SIGPIPE, EPIPE is a write error like any other.

/// Makes a closed 0, 1 or 2 refer to /dev/null opened the wrong way round, so that writes to a
/// closed stdout fail with EBADF instead of landing in whatever the runtime opens next on fd 1.
/// Call first thing in main.
void reserve_standard_descriptors() noexcept;

/// Appends `text` to stdout, unless a write error was seen already.
void write_output(std::string_view text);

/// Flushes stdout; returns false (and reports the error, once) if stdout has failed.
bool flush_output();

/// True once a write to stdout failed.
bool output_failed() noexcept;

/// Flushes stdout for the last time and returns `status`, or `write_error_status` if stdout
/// failed and `status` says less.
int finish_output(int status, int write_error_status);

} // namespace actorio::cli
