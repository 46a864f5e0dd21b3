#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>

#include "actorio/remote.hpp"
#include "support/files.hpp"

namespace actorio::test {

/// `actorio::serve` in a forked child process: the second process of a remote test. The child
/// serves until this object goes (it then stops cleanly) or `kill()` ends it at once. Construct
/// it before the test starts threads of its own (a runtime, a connection): fork copies only the
/// calling thread.
class served {
public:
  /// Runs in the child: sets a server up, calls `ready(port)` (which returns when the test asks
  /// the server to stop), stops it and returns.
  using body = std::function<void(const std::function<void(std::uint16_t)>& ready)>;

  explicit served(serve_options opts)
    : served(body{[opts = std::move(opts)](const auto& ready) mutable {
      auto srv = serve(std::move(opts));
      ready(srv.port());
      srv.stop();
    }}) {}

  explicit served(const body& run) {
    int ports[2];
    int stops[2];
    if (::pipe(ports) != 0 || ::pipe(stops) != 0)
      throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ < 0)
      throw std::runtime_error("fork");
    if (pid_ == 0) {
      ::close(ports[0]);
      ::close(stops[1]);
      std::uint16_t port = 0;
      try {
        run([&](std::uint16_t p) {
          port = p;
          (void)!::write(ports[1], &port, sizeof port);
          char c;
          (void)!::read(stops[0], &c, 1);
        });
        ::_exit(0);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "served child: %s\n", e.what());
        if (port == 0)
          (void)!::write(ports[1], &port, sizeof port);
        ::_exit(1);
      }
    }
    ::close(ports[1]);
    ::close(stops[0]);
    stop_fd_ = stops[1];
    auto n = ::read(ports[0], &port_, sizeof port_);
    ::close(ports[0]);
    if (n != sizeof port_ || port_ == 0) {
      wait();
      throw std::runtime_error("the served child did not start");
    }
  }

  served(const served&) = delete;
  served& operator=(const served&) = delete;

  /// Stops the server cleanly and returns its exit status (0: stopped cleanly).
  int stop() {
    if (stop_fd_ >= 0) {
      ::close(stop_fd_);
      stop_fd_ = -1;
    }
    return wait();
  }

  ~served() {
    stop();
  }

  std::uint16_t port() const noexcept {
    return port_;
  }

  /// The child's pid while it runs, -1 once it ended.
  pid_t pid() const noexcept {
    return pid_;
  }

  /// Ends the server process with SIGKILL: no unpublish, no goodbye to clients.
  void kill() {
    ::kill(pid_, SIGKILL);
    wait();
  }

private:
  int wait() {
    if (pid_ <= 0)
      return status_;
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return status_;
  }

  pid_t pid_ = -1;
  int stop_fd_ = -1;
  std::uint16_t port_ = 0;
  int status_ = -1;
};

/// A CA, a server and a client certificate signed by it, and a client certificate signed by a
/// second CA, made with the `openssl` command in `dir`.
struct certificates {
  std::filesystem::path dir;

  explicit certificates(std::filesystem::path where)
    : dir(std::move(where)) {
    auto d = dir.string();
    auto key = [&](const std::string& name) {
      return "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out " + d + "/" +
             name + ".key 2>/dev/null && ";
    };
    auto ca = [&](const std::string& name) {
      return key(name) + "openssl req -x509 -new -key " + d + "/" + name +
             ".key -days 2 -subj /CN=" + name + " -out " + d + "/" + name + ".pem 2>/dev/null && ";
    };
    auto signed_by = [&](const std::string& name, const std::string& by) {
      return key(name) + "openssl req -new -key " + d + "/" + name + ".key -subj /CN=" + name +
             " -out " + d + "/" + name + ".csr 2>/dev/null && openssl x509 -req -in " + d + "/" +
             name + ".csr -CA " + d + "/" + by + ".pem -CAkey " + d + "/" + by +
             ".key -CAcreateserial -days 2 -extfile " + d + "/ext -out " + d + "/" + name +
             ".pem 2>/dev/null && ";
    };
    write_file(dir / "ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    run_command(ca("ca") + ca("other_ca") + signed_by("server", "ca") + signed_by("client", "ca") +
                signed_by("stranger", "other_ca") + "echo ok");
  }

  /// The certificate and key `name` with `ca_name` as the CA to trust.
  tls_options tls(const std::string& name, const std::string& ca_name = "ca") const {
    return tls_options{dir / (name + ".pem"), dir / (name + ".key"), dir / (ca_name + ".pem")};
  }
};

} // namespace actorio::test
