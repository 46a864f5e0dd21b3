#include "lib/src/front_door.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <unordered_map>

#include <caf/io/all.hpp>
#include <caf/io/basp/header.hpp>
#include <caf/io/basp/message_type.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/network/acceptor.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/scribe_impl.hpp>

#include "lib/src/tls_scribe.hpp"

namespace actorio::detail {

namespace net = caf::io::network;
using clock = std::chrono::steady_clock;

/// Shared by the doorman, its connections and the sweeper thread.
struct front_door_state {
  explicit front_door_state(front_door_limits x)
    : limits(x) {}

  front_door_state(const front_door_state&) = delete;
  front_door_state& operator=(const front_door_state&) = delete;

  ~front_door_state() {
    if (spare >= 0)
      ::close(spare);
  }

  front_door_limits limits;
  std::mutex mtx;
  std::condition_variable wake;
  bool stopping = false;
  std::size_t connections = 0;
  std::uint64_t handshake_bytes = 0;
  /// Connections still in the handshake, by socket, with their deadline (`swept` once the
  /// sweeper shut the socket down).
  std::unordered_map<net::native_socket, clock::time_point> handshaking;
  /// A descriptor kept free so that an accept at EMFILE can still take the connection off the
  /// queue and close it: a listening socket left readable would wake CAF's loop at once, forever.
  int spare = -1;
  /// Where the next accepted connection's descriptor number is looked for (see `renumbered`).
  int next_number = 3;
};

namespace {

/// The deadline of a connection whose socket the sweeper shut down. Such a connection no longer
/// counts against max_clients: its peer already saw the hang-up and may come straight back,
/// before the multiplexer gets round to closing the socket.
constexpr auto swept_deadline = clock::time_point::max();

bool swept(clock::time_point deadline) {
  return deadline == swept_deadline;
}

int open_spare() {
  return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/// `fd` moved to the next free descriptor number at or above `next`, which goes round
/// [3, RLIMIT_NOFILE); `fd` itself when no such number is free.
///
/// CAF 0.17.6's BASP broker names a connection by its descriptor number and, when the peer closes
/// it, forgets that number's node only when a cleanup message it sends through its own queue
/// comes back. A connection accepted meanwhile under the same number (the kernel hands out the
/// lowest free one) is taken for the departed node: its handshake does not register, its requests
/// arrive in that node's name and their replies are lost. With rotation a number comes back only
/// after every other free number up to the limit was used.
int renumbered(int fd, int& next) {
  constexpr int first = 3;
  rlimit lim{};
  auto limit = ::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < RLIM_INFINITY
                 ? static_cast<rlim_t>(lim.rlim_cur)
                 : rlim_t{1} << 20;
  for (int round = 0; round < 2; ++round) {
    if (static_cast<rlim_t>(next) >= limit)
      next = first;
    int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, next);
    if (moved >= 0) {
      ::close(fd);
      next = moved + 1;
      return moved;
    }
    next = first; // nothing free from the cursor up: go round once
  }
  return fd;
}

/// A BASP connection (`Connection`: CAF's plain scribe or actorio's TLS one) whose headers are
/// vetted before CAF's broker sees them; with TLS, after decryption.
template <class Connection>
class vetted : public Connection {
public:
  template <class... Ts>
  vetted(std::shared_ptr<front_door_state> st, net::native_socket fd, Ts&&... xs)
    : Connection(std::forward<Ts>(xs)...)
    , fd_(fd)
    , state_(std::move(st)) {
    std::lock_guard<std::mutex> guard{state_->mtx};
    state_->handshaking.emplace(fd_, clock::now() + state_->limits.handshake_timeout);
  }

  ~vetted() override {
    // Runs before the base closes the socket: the sweeper never shuts down a reused descriptor.
    std::lock_guard<std::mutex> guard{state_->mtx};
    if (auto i = state_->handshaking.find(fd_); i == state_->handshaking.end() || !swept(i->second))
      --state_->connections;
    state_->handshake_bytes -= reserved_;
    state_->handshaking.erase(fd_);
  }

  bool consume(caf::execution_unit* ctx, const void* buf, size_t num_bytes) override {
    if (!awaiting_payload_ && num_bytes == caf::io::basp::header_size) {
      auto bytes = static_cast<const unsigned char*>(buf);
      operation_ = bytes[0];
      std::uint32_t payload = (std::uint32_t{bytes[4]} << 24) | (std::uint32_t{bytes[5]} << 16) |
                              (std::uint32_t{bytes[6]} << 8) | std::uint32_t{bytes[7]};
      if (!admit(payload)) {
        // Closed as if the peer had hung up: CAF's broker forgets the connection.
        this->io_failure(ctx, net::operation::read);
        return false;
      }
      awaiting_payload_ = payload > 0;
      if (!awaiting_payload_)
        after_message();
    } else if (awaiting_payload_) {
      awaiting_payload_ = false;
      after_message();
    }
    return Connection::consume(ctx, buf, num_bytes);
  }

private:
  /// Whether a message of `payload` bytes may be announced now; reserves it for a peer in the
  /// handshake.
  bool admit(std::uint32_t payload) {
    const auto& limits = state_->limits;
    if (handshaken_)
      return limits.max_message_bytes == 0 || payload <= limits.max_message_bytes;
    if (payload > limits.max_handshake_message)
      return false;
    if (payload <= limits.small_handshake_message)
      return true;
    std::lock_guard<std::mutex> guard{state_->mtx};
    if (limits.max_handshake_bytes != 0 &&
        state_->handshake_bytes + payload > limits.max_handshake_bytes)
      return false;
    state_->handshake_bytes += payload;
    reserved_ += payload;
    return true;
  }

  /// A whole message has arrived: the peer's own handshake ends its handshake phase. Its buffer
  /// keeps its capacity, but from now on that is bounded by the per-message limit.
  void after_message() {
    if (handshaken_ ||
        operation_ != static_cast<std::uint8_t>(caf::io::basp::message_type::client_handshake))
      return;
    handshaken_ = true;
    std::lock_guard<std::mutex> guard{state_->mtx};
    state_->handshake_bytes -= reserved_;
    reserved_ = 0;
    state_->handshaking.erase(fd_);
  }

  net::native_socket fd_;
  std::shared_ptr<front_door_state> state_;
  bool awaiting_payload_ = false;
  bool handshaken_ = false;
  std::uint8_t operation_ = 0;
  std::uint64_t reserved_ = 0;
};

/// Accepts for the doorman, in CAF's multiplexer thread.
struct accept_policy {
  front_door_state* state;

  /// CAF's acceptor calls this when the listening socket is readable. True with `result` set: a
  /// connection to serve; true with `result` invalid: nothing to do.
  bool try_accept(net::native_socket& result, net::native_socket listener) {
    result = net::invalid_native_socket;
    int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    int err = errno;
    if (fd < 0) {
      if ((err == EMFILE || err == ENFILE) && state->spare >= 0) {
        ::close(state->spare);
        fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0)
          ::close(fd);
        state->spare = open_spare();
      }
      return true;
    }
    std::lock_guard<std::mutex> guard{state->mtx};
    if (state->connections >= state->limits.max_clients) {
      ::close(fd);
      return true;
    }
    ++state->connections;
    result = renumbered(fd, state->next_number);
    return true;
  }
};

class vetting_acceptor : public net::acceptor {
public:
  vetting_acceptor(net::default_multiplexer& mx, net::native_socket fd, front_door_state* st)
    : net::acceptor(mx, fd)
    , policy_{st} {}

  void handle_event(net::operation op) override {
    handle_event_impl(op, policy_);
  }

private:
  accept_policy policy_;
};

/// CAF's doorman_impl with the vetting acceptor and connections, plain or TLS.
class vetting_doorman : public caf::io::doorman {
public:
  vetting_doorman(net::default_multiplexer& mx, net::native_socket fd,
                  std::shared_ptr<front_door_state> st, bool tls)
    : caf::io::doorman(net::accept_hdl_from_socket(fd))
    , acceptor_(mx, fd, st.get())
    , state_(std::move(st))
    , tls_(tls) {}

  bool new_connection() override {
    auto fd = acceptor_.accepted_socket();
    auto refuse = [&] {
      std::lock_guard<std::mutex> guard{state_->mtx};
      --state_->connections;
      ::close(fd);
      return false;
    };
    if (detached())
      return refuse();
    auto& mx = acceptor_.backend();
    net::keepalive(fd, true);
    caf::io::scribe_ptr sptr;
    if (tls_) {
      auto session = start_tls_session(parent()->system(), fd, true);
      if (!session)
        return refuse();
      sptr = caf::make_counted<vetted<tls_scribe>>(state_, fd, mx, fd, std::move(session));
    } else {
      sptr = caf::make_counted<vetted<net::scribe_impl>>(state_, fd, mx, fd);
    }
    auto hdl = sptr->hdl();
    parent()->add_scribe(std::move(sptr));
    return caf::io::doorman::new_connection(&mx, hdl);
  }

  void graceful_shutdown() override {
    acceptor_.graceful_shutdown();
    detach(&acceptor_.backend(), false);
  }

  void launch() override {
    acceptor_.start(this);
  }

  std::string addr() const override {
    auto x = net::local_addr_of_fd(acceptor_.fd());
    return x ? std::move(*x) : std::string{};
  }

  std::uint16_t port() const override {
    auto x = net::local_port_of_fd(acceptor_.fd());
    return x ? *x : 0;
  }

  void add_to_loop() override {
    acceptor_.activate(this);
  }

  void remove_from_loop() override {
    acceptor_.passivate();
  }

private:
  vetting_acceptor acceptor_;
  std::shared_ptr<front_door_state> state_;
  bool tls_;
};

/// Ends the spawn-server helpers of nodes that are no longer connected. CAF 0.17.6's BASP broker
/// makes one per node it learns (basp_broker::learned_new_node) and keeps a handle to it in
/// `spawn_servers` for good (purge_state never erases it): about 1 KiB per client connection
/// that was ever made. Runs in the multiplexer thread, which is the broker's.
void reap_spawn_servers(const caf::actor& broker_handle) {
  auto* broker =
    static_cast<caf::io::basp_broker*>(caf::actor_cast<caf::abstract_actor*>(broker_handle));
  auto& servers = broker->spawn_servers;
  auto& routes = broker->instance.tbl();
  for (auto i = servers.begin(); i != servers.end();) {
    if (routes.lookup_direct(i->first) || routes.lookup_indirect(i->first)) {
      ++i;
      continue;
    }
    caf::anon_send_exit(i->second, caf::exit_reason::user_shutdown);
    i = servers.erase(i);
  }
}

/// Until told to stop: shuts down the sockets of connections whose handshake is overdue (the
/// multiplexer then sees them hang up and CAF closes them as usual), and reaps spawn servers.
void sweep(const std::shared_ptr<front_door_state>& st, net::multiplexer* mx, caf::actor broker) {
  auto period = std::max<clock::duration>(
    std::chrono::milliseconds(10),
    std::min<clock::duration>(st->limits.handshake_timeout / 4, std::chrono::milliseconds(500)));
  std::unique_lock<std::mutex> lock{st->mtx};
  while (!st->wake.wait_for(lock, period, [&] { return st->stopping; })) {
    auto now = clock::now();
    for (auto& [fd, deadline] : st->handshaking)
      if (deadline <= now) {
        ::shutdown(fd, SHUT_RDWR);
        deadline = swept_deadline;
        --st->connections;
      }
    lock.unlock();
    mx->post([st, broker] {
      // Stopping comes before the actor system ends; past it, the broker may be gone.
      std::unique_lock<std::mutex> guard{st->mtx};
      if (st->stopping)
        return;
      guard.unlock();
      reap_spawn_servers(broker);
    });
    lock.lock();
  }
}

} // namespace

front_door::front_door(caf::actor_system& sys, front_door_limits limits)
  : system_(sys)
  , state_(std::make_shared<front_door_state>(limits)) {
  state_->spare = open_spare();
  auto broker = sys.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  sweeper_ =
    std::thread{[st = state_, mx = &sys.middleman().backend(), broker] { sweep(st, mx, broker); }};
}

front_door::~front_door() {
  {
    std::lock_guard<std::mutex> guard{state_->mtx};
    state_->stopping = true;
  }
  state_->wake.notify_all();
  sweeper_.join();
}

caf::expected<std::uint16_t> front_door::publish(caf::strong_actor_ptr whom,
                                                 std::set<std::string> sigs, std::uint16_t port,
                                                 const std::string& address, bool tls) {
  auto* mx = dynamic_cast<net::default_multiplexer*>(&system_.middleman().backend());
  if (!mx)
    return caf::make_error(caf::sec::invalid_argument);
  auto fd = net::new_tcp_acceptor_impl(port, address.empty() ? nullptr : address.c_str(), true);
  if (!fd)
    return std::move(fd.error());
  caf::io::doorman_ptr door = caf::make_counted<vetting_doorman>(*mx, *fd, state_, tls);
  auto actual = door->port();
  // What CAF's middleman actor does with a doorman it opened: the BASP broker adopts it.
  auto broker = system_.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  caf::anon_send(broker, caf::publish_atom_v, std::move(door), actual, std::move(whom),
                 std::move(sigs));
  return actual;
}

std::size_t default_max_clients() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY)
    return 4096;
  return std::max<std::size_t>(1, static_cast<std::size_t>(lim.rlim_cur / 2));
}

} // namespace actorio::detail
