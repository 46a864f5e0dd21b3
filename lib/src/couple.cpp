#include "actorio/couple.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actorio/actors.hpp"
#include "actorio/runtime.hpp"
#include "actors/couple_actor.hpp"
#include "io/src/unique_fd.hpp"
#include "io/src/utf8.hpp"
#include "lib/src/couple_shared.hpp"
#include "lib/src/facade_access.hpp"
#include "lib/src/request.hpp"

namespace actorio {

namespace detail {

couple_shared::~couple_shared() {
  // The last handle of an open couple closes it, so its descriptors do not leak.
  if (!closed.exchange(true) && actor)
    caf::anon_send(actor, caf::close_atom_v);
}

} // namespace detail

namespace {

/// One request to the couple's actor (see detail::call) and its request id, without a timeout:
/// pipes may stay silent for long. The call ends with the reply, or with an error when the couple's
/// actor is gone.
template <class... Replies, class Convert, class... Ts>
auto ask_couple(const std::shared_ptr<detail::couple_shared>& sh, const char* op, Convert convert,
                Ts&&... xs) {
  using T = std::invoke_result_t<Convert, Replies&&...>;
  if (!sh || sh->core->stopped)
    return std::pair{detail::failed_pending<T>(
                       failure{EBADF, op, "", sh ? "runtime stopped" : "empty couple handle"}),
                     std::uint64_t{0}};
  return detail::call<Replies...>(sh->core, sh->actor, detail::call_mode{false, {}}, op, "",
                                  std::move(convert), std::forward<Ts>(xs)...);
}

/// A waiting read as a cancellable operation: a cancel fails it with ECANCELED at once and the
/// couple drops the read, so it takes no data.
template <class... Replies, class Convert, class... Ts>
auto read_op(const std::shared_ptr<detail::couple_shared>& sh, const char* op, Convert convert,
             Ts&&... xs) {
  using T = std::invoke_result_t<Convert, Replies&&...>;
  auto [future, request] =
    ask_couple<Replies...>(sh, op, std::move(convert), std::forward<Ts>(xs)...);
  if (request == 0)
    return operation<T>{std::move(future), {}};
  return operation<T>{std::move(future), detail::canceller(sh->core->bridge, request)};
}

/// Copies a reply into the caller's buffer -> the bytes stored.
struct into {
  std::span<std::byte> buffer;
  std::size_t operator()(std::string&& data) const {
    if (!data.empty()) // memcpy from or to nullptr is undefined, even for 0 bytes
      std::memcpy(buffer.data(), data.data(), data.size());
    return data.size();
  }
};

} // namespace

couple::couple(std::shared_ptr<detail::couple_shared> shared)
  : shared_(std::move(shared)) {}

couple_mode couple::mode() const noexcept {
  return shared_ ? shared_->mode : couple_mode::binary;
}

operation<std::string> couple::read(std::optional<std::int64_t> n) const {
  return read_op<std::string>(shared_, "read", detail::as_is{}, read_atom_v, n);
}

operation<std::string> couple::read1(std::optional<std::int64_t> n) const {
  return read_op<std::string>(shared_, "read1", detail::as_is{}, read1_atom_v, n);
}

operation<std::string> couple::readall() const {
  return read_op<std::string>(shared_, "readall", detail::as_is{}, readall_atom_v);
}

operation<std::size_t> couple::readinto(std::span<std::byte> buffer) const {
  return read_op<std::string>(shared_, "readinto", into{buffer}, readinto_atom_v,
                              static_cast<std::int64_t>(buffer.size()));
}

operation<std::size_t> couple::readinto1(std::span<std::byte> buffer) const {
  return read_op<std::string>(shared_, "readinto1", into{buffer}, readinto1_atom_v,
                              static_cast<std::int64_t>(buffer.size()));
}

operation<std::string> couple::readline(std::optional<std::int64_t> limit) const {
  return read_op<std::string>(shared_, "readline", detail::as_is{}, readline_atom_v, limit);
}

operation<std::vector<std::string>> couple::readlines(std::int64_t hint) const {
  return read_op<std::vector<std::string>>(shared_, "readlines", detail::as_is{}, readlines_atom_v,
                                           hint);
}

pending<std::uint64_t> couple::write(std::string_view data) const {
  return ask_couple<std::uint64_t>(shared_, "write", detail::as_is{}, write_atom_v,
                                   std::string{data})
    .first;
}

pending<void> couple::writelines(std::vector<std::string> lines) const {
  return ask_couple<>(shared_, "writelines", detail::as_is{}, writelines_atom_v, std::move(lines))
    .first;
}

pending<void> couple::flush() const {
  return ask_couple<>(shared_, "flush", detail::as_is{}, caf::flush_atom_v).first;
}

pending<std::uint64_t> couple::truncate(std::optional<std::int64_t> size) const {
  return ask_couple<std::uint64_t>(shared_, "truncate", detail::as_is{}, truncate_atom_v, size)
    .first;
}

operation<std::string> couple::ainput(std::string prompt, bool assert_tty) const {
  return read_op<std::string>(shared_, "ainput", detail::as_is{}, ainput_atom_v, std::move(prompt),
                              assert_tty);
}

pending<void> couple::cancel_reads() const {
  return ask_couple<>(shared_, "cancel_reads", detail::as_is{}, cancel_atom_v).first;
}

pending<void> couple::close() const {
  if (shared_)
    shared_->closed = true;
  return ask_couple<>(shared_, "close", detail::as_is{}, caf::close_atom_v).first;
}

bool couple::closed() const noexcept {
  return !shared_ || shared_->closed.load();
}

bool couple::readable() const noexcept {
  return !closed();
}

bool couple::writable() const noexcept {
  return !closed();
}

result<std::int64_t> couple::seek(std::int64_t, int) const {
  return failure{ESPIPE, "seek", "", "a couple has no position"};
}

result<std::int64_t> couple::tell() const {
  return failure{ESPIPE, "tell", "", "a couple has no position"};
}

result<int> couple::fileno() const {
  return failure{EBADF, "fileno", "", "ambiguous: use reader() or writer()"};
}

result<bool> couple::isatty() const {
  return failure{ENOTSUP, "isatty", "", "ambiguous: ask about reader() or writer()"};
}

int couple::reader() const noexcept {
  return shared_ ? shared_->reader : -1;
}

int couple::writer() const noexcept {
  return shared_ ? shared_->writer : -1;
}

couple_actor detail::facade_access::actor(const couple& c) {
  return c.shared_ ? c.shared_->actor : couple_actor{};
}

couple_actor actor_of(const couple& c) {
  return detail::facade_access::actor(c);
}

} // namespace actorio

// The runtime's couple factories live here, next to the couple they build.

namespace actorio {

namespace {

bool never_blocks(int fd) {
  struct stat sb {};
  return ::fstat(fd, &sb) == 0 && (S_ISREG(sb.st_mode) || S_ISBLK(sb.st_mode));
}

/// EBADF unless `fd` is open for reading (`read`) or writing.
status check_access(int fd, bool read) {
  auto flags = ::fcntl(fd, F_GETFL);
  if (flags < 0)
    return failure{errno, "couple", "", read ? "reader" : "writer"};
  auto mode = flags & O_ACCMODE;
  if (mode != O_RDWR && mode != (read ? O_RDONLY : O_WRONLY))
    return failure{EBADF, "couple", "", read ? "reader is not readable" : "writer is not writable"};
  return ok_status();
}

status set_nonblocking(int fd) {
  if (never_blocks(fd))
    return ok_status();
  auto flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
    return failure{errno, "couple", "", "O_NONBLOCK"};
  return ok_status();
}

/// A private descriptor for standard stream `fd`: a reopened file description where the OS
/// allows it (pipes, terminals), so O_NONBLOCK stays ours; a plain duplicate otherwise (regular
/// files need no O_NONBLOCK and keep sharing their offset; sockets cannot be reopened).
int private_copy(int fd, int access) {
  if (!never_blocks(fd)) {
    auto path = "/proc/self/fd/" + std::to_string(fd);
    auto copy = ::open(path.c_str(), access | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (copy >= 0)
      return copy;
  }
  return ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

std::pair<int, int> default_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return {-1, -1};
  return {fds[0], fds[1]};
}

} // namespace

couple runtime::make_couple(int reader, int writer, couple_options options) {
  if (to_string(options.errors).empty())
    throw io_error(failure{EINVAL, "couple", "", "unknown UTF-8 errors policy"});
  if (options.block_size == 0)
    throw io_error(failure{EINVAL, "couple", "", "block_size must not be 0"});
  for (auto st : {check_access(reader, true), check_access(writer, false), set_nonblocking(reader),
                  set_nonblocking(writer)})
    if (!st)
      throw io_error(std::move(st).error());
  detail::couple_setup setup;
  setup.reader = reader;
  setup.writer = writer;
  setup.owns_fds = options.owns_fds;
  setup.text = options.mode == couple_mode::text;
  setup.errors = options.errors;
  setup.block_size = options.block_size;
  setup.write_buffer = std::max<std::size_t>(options.write_buffer, 1);
  setup.reactor = core_->reactor;
  setup.owner = caf::actor_cast<caf::actor_addr>(core_->manager);
  auto shared = std::make_shared<detail::couple_shared>();
  shared->core = core_;
  shared->mode = options.mode;
  shared->reader = reader;
  shared->writer = writer;
  shared->actor = core_->system->spawn<caf::hidden>(detail::couple_impl, std::move(setup));
  return couple{std::move(shared)};
}

namespace {

/// Two channels from `pipe_impl`, each end owned until handed to a couple.
std::pair<detail::unique_fd, detail::unique_fd> channel(const runtime::pipe_factory& pipe_impl) {
  auto [r, w] = pipe_impl ? pipe_impl() : default_pipe();
  if (r < 0 || w < 0) {
    auto err = errno;
    throw io_error(failure{err != 0 ? err : EINVAL, "pipe", "", "cannot make a channel"});
  }
  return {detail::unique_fd{r}, detail::unique_fd{w}};
}

/// The two ends of a double-ended pipe in `mode`. As the original: (r, W) then (R, w);
/// A = (r, w), B = (R, W).
std::pair<couple, couple> pipe_pair(runtime& rt, const runtime::pipe_factory& pipe_impl,
                                    couple_mode mode) {
  auto [r, W] = channel(pipe_impl);
  auto [R, w] = channel(pipe_impl);
  couple_options options;
  options.mode = mode;
  auto a = rt.make_couple(r.get(), w.get(), options);
  r.release();
  w.release();
  auto b = rt.make_couple(R.get(), W.get(), options);
  R.release();
  W.release();
  return {std::move(a), std::move(b)};
}

} // namespace

std::pair<couple, couple> runtime::double_ended_binary_pipe(pipe_factory pipe_impl) {
  return pipe_pair(*this, pipe_impl, couple_mode::binary);
}

std::pair<couple, couple> runtime::double_ended_text_pipe(pipe_factory pipe_impl) {
  return pipe_pair(*this, pipe_impl, couple_mode::text);
}

couple runtime::stdcoup() {
  std::lock_guard<std::mutex> guard{core_->stdcoup_lock};
  if (core_->stdcoup && !core_->stdcoup->closed)
    return couple{core_->stdcoup};
  detail::unique_fd in{private_copy(STDIN_FILENO, O_RDONLY)};
  if (!in)
    throw io_error(failure{errno, "stdcoup", "", "stdin"});
  detail::unique_fd out{private_copy(STDOUT_FILENO, O_WRONLY)};
  if (!out)
    throw io_error(failure{errno, "stdcoup", "", "stdout"});
  couple_options options;
  options.mode = couple_mode::text;
  auto c = make_couple(in.get(), out.get(), options);
  in.release();
  out.release();
  core_->stdcoup = c.shared_;
  return c;
}

operation<std::string> runtime::ainput(std::string prompt, bool assert_tty) {
  try {
    return stdcoup().ainput(std::move(prompt), assert_tty);
  } catch (const io_error& e) {
    return operation<std::string>{detail::failed_pending<std::string>(e.why()), {}};
  }
}

} // namespace actorio
