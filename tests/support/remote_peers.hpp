#pragma once

#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <openssl/evp.h>

#include "actorio/remote.hpp"

namespace actorio::test {

/// Client options whose timeout is generous for a loaded test machine and still ends a hang.
inline connect_options short_timeout() {
  connect_options o;
  o.timeout = std::chrono::seconds(20);
  return o;
}

/// Serve options that serve `root`, everything else default.
inline serve_options served_dir(const std::filesystem::path& root) {
  serve_options o;
  o.root = root;
  return o;
}

/// sha256 of `data` by OpenSSL directly: the oracle for remote checksums.
inline std::string sha256(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
  std::string out;
  char hex[3];
  for (unsigned i = 0; i < n; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", md[i]);
    out += hex;
  }
  return out;
}

/// A connected TCP socket to 127.0.0.1:`port`.
inline int raw_connection(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

/// A BASP header (CAF 0.17, 32 bytes, integers big-endian): a client handshake announcing
/// `payload` bytes.
inline std::string basp_header(std::uint32_t payload) {
  std::string h(32, '\0');
  h[0] = 0x01; // client_handshake
  for (int i = 0; i < 4; ++i)
    h[4 + i] = static_cast<char>(payload >> (8 * (3 - i)));
  return h;
}

/// Closes the descriptors in `fds` when it goes, so a failed check leaks none into later tests.
struct scoped_fds {
  std::vector<int>& fds;
  ~scoped_fds() {
    for (int fd : fds)
      ::close(fd);
  }
};

} // namespace actorio::test
