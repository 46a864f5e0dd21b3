#include "lib/src/rotating_doorman.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/doorman_impl.hpp>
#include <caf/send.hpp>

namespace actorio::detail {

namespace {

/// CAF's TCP doorman, moving each accepted socket to the next free descriptor number at or above
/// a cursor that goes round [first_number, RLIMIT_NOFILE).
class rotating_doorman final : public caf::io::network::doorman_impl {
public:
  using doorman_impl::doorman_impl;

  bool new_connection() override {
    if (!detached())
      acceptor_.accepted_socket() = renumbered(acceptor_.accepted_socket());
    return doorman_impl::new_connection();
  }

private:
  static constexpr int first_number = 3;

  /// `fd` under the next number of the rotation, or `fd` itself when no number at or above
  /// first_number is free (the accepted socket is served either way).
  int renumbered(int fd) {
    rlimit lim{};
    auto limit = ::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < RLIM_INFINITY
                   ? static_cast<rlim_t>(lim.rlim_cur)
                   : rlim_t{1} << 20;
    for (int round = 0; round < 2; ++round) {
      if (static_cast<rlim_t>(next_) >= limit)
        next_ = first_number;
      int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, next_);
      if (moved >= 0) {
        ::close(fd);
        next_ = moved + 1;
        return moved;
      }
      next_ = first_number; // nothing free from the cursor up: go round
    }
    return fd;
  }

  int next_ = first_number;
};

} // namespace

caf::expected<std::uint16_t> publish_rotating(caf::actor_system& sys, caf::strong_actor_ptr whom,
                                              std::set<std::string> sigs, std::uint16_t port,
                                              const std::string& address, bool reuse) {
  auto& mm = sys.middleman();
  auto fd = caf::io::network::new_tcp_acceptor_impl(
    port, address.empty() ? nullptr : address.c_str(), reuse);
  if (!fd)
    return std::move(fd.error());
  caf::io::doorman_ptr door = caf::make_counted<rotating_doorman>(
    static_cast<caf::io::network::default_multiplexer&>(mm.backend()), *fd);
  auto actual = door->port();
  // What the middleman actor does with the doorman it opens for `publish`.
  caf::anon_send(mm.named_broker<caf::io::basp_broker>(caf::atom("BASP")), caf::publish_atom_v,
                 std::move(door), actual, std::move(whom), std::move(sigs));
  return actual;
}

} // namespace actorio::detail
