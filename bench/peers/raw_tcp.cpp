// The raw TCP peer of bench/run, what `cat FILE | nc -l` into `nc HOST PORT > DST` does: one
// thread reads FILE in 256 KiB reads and writes it to a loopback TCP connection while the main
// thread receives it and writes it to DST (or drops it without DST). This is the floor for a copy
// between two actorio nodes on one machine.
//
//   raw_tcp FILE [DST]
//
// Prints one JSON line: {"op": "tcp", "bytes", "seconds"}. Exit status 1 on any error or a short
// transfer.
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

constexpr std::size_t chunk = 256 * 1024;

/// Says what failed on stderr; false, for `ok = ok && (... || fail(...))` chains.
bool fail(const char* what, const char* path) {
  std::fprintf(stderr, "raw_tcp: %s %s: %s\n", what, path, std::strerror(errno));
  return false;
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    auto n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

/// Reads `path` and writes it to `sock`, then closes `sock`.
bool send_file(const char* path, int sock) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  bool ok = fd >= 0 || fail("open", path);
  std::vector<char> buf(chunk);
  while (ok) {
    auto n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      ok = fail("read", path);
    if (n <= 0)
      break;
    if (!write_all(sock, buf.data(), static_cast<std::size_t>(n)))
      ok = fail("send", path);
  }
  if (fd >= 0)
    ::close(fd);
  ::close(sock);
  return ok;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs("usage: raw_tcp FILE [DST]\n", stderr);
    return 2;
  }
  const char* dst = argc > 2 ? argv[2] : nullptr;
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    fail("listen on", "127.0.0.1");
    return 1;
  }
  int out = dst ? ::open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
  if (dst && out < 0) {
    fail("open", dst);
    return 1;
  }
  auto start = std::chrono::steady_clock::now();
  int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (client < 0 || ::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    fail("connect to", "127.0.0.1");
    return 1;
  }
  bool sent = false;
  std::thread sender([&] { sent = send_file(argv[1], client); });
  int conn = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  bool ok = conn >= 0 || fail("accept on", "127.0.0.1");
  std::vector<char> buf(chunk);
  std::uint64_t got = 0;
  while (ok) {
    auto n = ::read(conn, buf.data(), buf.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      ok = fail("receive", argv[1]);
    if (n <= 0)
      break;
    got += static_cast<std::uint64_t>(n);
    if (out >= 0 && !write_all(out, buf.data(), static_cast<std::size_t>(n)))
      ok = fail("write", dst);
  }
  sender.join();
  if (out >= 0 && ::close(out) != 0)
    ok = fail("close", dst);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"op\": \"tcp\", \"bytes\": %llu, \"seconds\": %.6f}\n",
              static_cast<unsigned long long>(got), seconds);
  return ok && sent ? 0 : 1;
}
