#include "cli/standard_output.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include "cli/diagnostics.hpp"

namespace actorio::cli {

namespace {

/// The errno of the first failed write or flush; 0 while stdout is fine.
int output_error = 0;

void record(int err) {
  if (output_error != 0)
    return;
  // A stream that failed without errno (ferror after a short write) still failed.
  output_error = err != 0 ? err : EIO;
  report_message(std::string{"write error: "} + std::strerror(output_error));
}

} // namespace

void reserve_standard_descriptors() noexcept {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
      continue;
    // stdin write-only, stdout and stderr read-only: every use of them then fails with EBADF.
    int opened = ::open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
    if (opened >= 0 && opened != fd)
      ::close(opened);
  }
}

void write_output(std::string_view text) {
  if (output_error != 0 || text.empty())
    return;
  errno = 0;
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) {
    int err = errno;
    record(err);
  }
}

bool flush_output() {
  if (output_error != 0)
    return false;
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    int err = errno;
    record(err);
    return false;
  }
  return true;
}

bool output_failed() noexcept {
  return output_error != 0;
}

int finish_output(int status, int write_error_status) {
  if (!flush_output() && status < write_error_status)
    return write_error_status;
  return status;
}

} // namespace actorio::cli
