// The raw pipe() peer of bench/run: one thread writes BYTES through a pipe in 64 KiB writes while
// the main thread reads them in 64 KiB reads. This is the ceiling for actorio's pipe couples.
//
//   raw_pipe [BYTES]     (default 1 GiB)
//
// Prints one JSON line: {"op": "pipe", "bytes", "seconds"}. Exit status 1 on any error or a
// short transfer.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

constexpr std::size_t chunk = 64 * 1024;

bool write_all(int fd, std::uint64_t total) {
  std::vector<char> buf(chunk, 'x');
  while (total > 0) {
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(total, chunk));
    std::size_t done = 0;
    while (done < want) {
      auto n = ::write(fd, buf.data() + done, want - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return false;
      done += static_cast<std::size_t>(n);
    }
    total -= want;
  }
  return true;
}

} // namespace

int main(int argc, char** argv) {
  std::uint64_t total = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : std::uint64_t{1} << 30;
  int fds[2];
  if (::pipe(fds) != 0) {
    std::perror("raw_pipe: pipe");
    return 1;
  }
  auto start = std::chrono::steady_clock::now();
  bool wrote = false;
  std::thread writer([&] {
    wrote = write_all(fds[1], total);
    ::close(fds[1]);
  });
  std::vector<char> buf(chunk);
  std::uint64_t got = 0;
  for (;;) {
    auto n = ::read(fds[0], buf.data(), buf.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += static_cast<std::uint64_t>(n);
  }
  writer.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"op\": \"pipe\", \"bytes\": %llu, \"seconds\": %.6f}\n",
              static_cast<unsigned long long>(got), seconds);
  return wrote && got == total ? 0 : 1;
}
