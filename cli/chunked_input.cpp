#include "cli/chunked_input.hpp"

#include <cerrno>
#include <vector>

#include <unistd.h>

namespace actorio::cli {

int read_in_pieces(int fd, std::size_t piece_size,
                   const std::function<void(std::string_view)>& consume) {
  std::vector<char> buf(piece_size);
  for (;;) {
    auto n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      int err = errno;
      if (err == EINTR)
        continue;
      return err;
    }
    if (n == 0)
      return 0;
    consume(std::string_view{buf.data(), static_cast<std::size_t>(n)});
  }
}

} // namespace actorio::cli
