// Bare C++ loops as references for the sha256 and find targets (what one thread hashing with EVP,
// and one memmem thread per core, reach), measured in the same run as actorio so that the gap
// between a target and what this machine allows right now is visible.
//
//   bare_loop sha256 FILE...          one thread: open, pread, EVP digest; "HEX  PATH" per file
//   bare_loop find PATTERN FILE...    one thread per core, files shared out; memmem over 8 MiB
//                                     pread windows; "PATH:COUNT" per file
//
// No error recovery: any failure ends the process with status 1.
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace {

[[noreturn]] void die(const char* what, const char* path) {
  std::fprintf(stderr, "bare_loop: %s %s: %s\n", what, path, std::strerror(errno));
  std::exit(1);
}

int open_or_die(const char* path) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    die("open", path);
  return fd;
}

/// Reads up to `size` bytes at `offset`; fewer only at the end of the file.
std::size_t read_full(int fd, char* out, std::size_t size, off_t offset, const char* path) {
  std::size_t done = 0;
  while (done < size) {
    auto n = ::pread(fd, out + done, size - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      die("read", path);
    if (n == 0)
      break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

int sha256(int count, char** paths) {
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::vector<char> buf(1 << 20);
  for (int i = 0; i < count; ++i) {
    int fd = open_or_die(paths[i]);
    EVP_DigestInit_ex(ctx, md, nullptr);
    off_t offset = 0;
    while (auto n = read_full(fd, buf.data(), buf.size(), offset, paths[i])) {
      EVP_DigestUpdate(ctx, buf.data(), n);
      offset += static_cast<off_t>(n);
    }
    ::close(fd);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, digest, &len);
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    for (unsigned int k = 0; k < len; ++k)
      std::snprintf(hex + 2 * k, 3, "%02x", digest[k]);
    std::printf("%s  %s\n", hex, paths[i]);
  }
  EVP_MD_CTX_free(ctx);
  EVP_MD_free(md);
  return 0;
}

std::size_t count_in_file(std::string_view pattern, const char* path) {
  constexpr std::size_t window = 8 << 20;
  std::vector<char> buf(window + pattern.size());
  int fd = open_or_die(path);
  std::size_t hits = 0, have = 0;
  off_t offset = 0;
  for (;;) {
    auto n = read_full(fd, buf.data() + have, window, offset, path);
    offset += static_cast<off_t>(n);
    have += n;
    std::size_t from = 0;
    while (auto* hit = static_cast<const char*>(
             ::memmem(buf.data() + from, have - from, pattern.data(), pattern.size()))) {
      ++hits;
      from = static_cast<std::size_t>(hit - buf.data()) + pattern.size();
    }
    if (n < window)
      break;
    // Keep the bytes a match could still start in.
    auto keep = std::max(from, have >= pattern.size() ? have - pattern.size() + 1 : 0);
    std::memmove(buf.data(), buf.data() + keep, have - keep);
    have -= keep;
  }
  ::close(fd);
  return hits;
}

int find(std::string_view pattern, int count, char** paths) {
  std::vector<std::size_t> hits(static_cast<std::size_t>(count));
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < std::max(1u, std::thread::hardware_concurrency()); ++t)
    threads.emplace_back([&] {
      for (int i; (i = next++) < count;)
        hits[static_cast<std::size_t>(i)] = count_in_file(pattern, paths[i]);
    });
  for (auto& t : threads)
    t.join();
  for (int i = 0; i < count; ++i)
    std::printf("%s:%zu\n", paths[i], hits[static_cast<std::size_t>(i)]);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::string_view command = argc > 1 ? argv[1] : "";
  if (command == "sha256" && argc > 2)
    return sha256(argc - 2, argv + 2);
  if (command == "find" && argc > 3 && argv[2][0] != '\0')
    return find(argv[2], argc - 3, argv + 3);
  std::fputs("usage: bare_loop sha256 FILE... | bare_loop find PATTERN FILE...\n", stderr);
  return 2;
}
