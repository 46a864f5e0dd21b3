#include "actors/couple_actor.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <string_view>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actors/reply.hpp"
#include "actors/reply_commit.hpp"
#include "io/src/line_splitter.hpp"
#include "io/src/unique_fd.hpp"

namespace actorio::detail {

namespace {

using self_pointer = couple_actor_internal::stateful_pointer<couple_state>;
using pending_read = couple_state::pending_read;

failure closed_error(const char* op) {
  return failure{EBADF, op, "", "couple is closed"};
}

failure cancelled(const char* op, const char* why) {
  return failure{ECANCELED, op, "", why};
}

const char* op_name(pending_read::kind_t k) {
  switch (k) {
  case pending_read::read:
    return "read";
  case pending_read::read1:
    return "read1";
  case pending_read::readall:
    return "readall";
  case pending_read::readinto:
    return "readinto";
  case pending_read::readinto1:
    return "readinto1";
  case pending_read::readline:
    return "readline";
  case pending_read::readlines:
    return "readlines";
  case pending_read::ainput:
    return "ainput";
  }
  return "read";
}

/// Writes without letting SIGPIPE kill the process: sockets use MSG_NOSIGNAL; for pipes the
/// signal is blocked in this thread for the call and a SIGPIPE the call raised is consumed, so
/// EPIPE comes back as an error and the process-wide disposition is never touched.
ssize_t write_quietly(int fd, const char* data, std::size_t size, bool socket, int& err) {
  if (socket) {
    auto rc = retry_eintr([&] { return ::send(fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT); });
    err = errno;
    return rc;
  }
  sigset_t pipe_set;
  sigset_t old_set;
  sigset_t pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigpending(&pending);
  auto was_pending = sigismember(&pending, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  auto rc = retry_eintr([&] { return ::write(fd, data, size); });
  err = errno;
  if (rc < 0 && err == EPIPE && !was_pending) {
    timespec zero{};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  return rc;
}

/// The reply to `r` if it can be given now, from buffered data and the EOF flag.
std::optional<result<std::string>> take_text(couple_state& st, const pending_read& r) {
  auto text = st.setup.text;
  std::string_view view{st.in.data() + st.in_pos, st.in.size() - st.in_pos};
  auto take = [&](std::size_t len) {
    if (st.in_pos == 0 && len == st.in.size()) // all of it: hand the buffer over, no copy
      return std::optional<result<std::string>>{std::exchange(st.in, std::string{})};
    std::string s{view.substr(0, len)};
    st.in_pos += len;
    if (st.in_pos == st.in.size()) {
      st.in.clear();
      st.in_pos = 0;
    }
    return std::optional<result<std::string>>{std::move(s)};
  };
  switch (r.kind) {
  case pending_read::read:
    if (r.n == 0 || (r.n < 0 && st.eof))
      return take(r.n == 0 ? 0 : view.size());
    if (r.n > 0) {
      auto [len, count] = unit_prefix(view, r.n, text);
      if (count == r.n || st.eof)
        return take(len);
    }
    return std::nullopt;
  case pending_read::readall:
    if (st.eof)
      return take(view.size());
    return std::nullopt;
  case pending_read::read1:
    if (r.n == 0)
      return take(0);
    if (!view.empty())
      return take(r.n < 0 ? view.size() : unit_prefix(view, r.n, text).first);
    if (st.eof)
      return take(0);
    return std::nullopt;
  case pending_read::readinto:
  case pending_read::readinto1: {
    auto want = static_cast<std::size_t>(std::max<std::int64_t>(r.n, 0));
    auto enough =
      view.size() >= want || st.eof || (r.kind == pending_read::readinto1 && !view.empty());
    if (!enough)
      return std::nullopt;
    auto len = std::min(want, view.size());
    // Never split a character: back off to the start of the one that does not fit.
    while (text && len > 0 && len < view.size() && is_continuation(view[len]))
      --len;
    if (len == 0 && want > 0 && !view.empty())
      return result<std::string>{
        failure{EINVAL, op_name(r.kind), "", "buffer too small for the next character"}};
    return take(len);
  }
  case pending_read::readline:
  case pending_read::ainput: {
    auto limit = r.kind == pending_read::ainput ? std::int64_t{-1} : r.n;
    if (auto len = line_end(view, limit, text, st.eof))
      return take(*len);
    return std::nullopt;
  }
  case pending_read::readlines:
    break;
  }
  return std::nullopt;
}

/// As take_text, for readlines: whole lines until their size reaches the hint, or all at EOF.
std::optional<std::vector<std::string>> take_lines(couple_state& st, std::int64_t hint) {
  std::string_view view{st.in.data() + st.in_pos, st.in.size() - st.in_pos};
  auto end = lines_end(view, hint, st.setup.text, st.eof);
  if (!end)
    return std::nullopt;
  auto lines = split_lines(view.substr(0, *end));
  st.in_pos += *end;
  if (st.in_pos == st.in.size()) {
    st.in.clear();
    st.in_pos = 0;
  }
  return lines;
}

void unwatch(self_pointer self, const caf::actor_addr& who) {
  auto pos = self->state.watched.find(who);
  if (pos == self->state.watched.end())
    return;
  if (--pos->second == 0) {
    self->demonitor(who);
    self->state.watched.erase(pos);
  }
}

/// Answers `r` with a value or a failure.
template <class T>
void answer(self_pointer self, pending_read& r, result<T>&& x) {
  unwatch(self, r.requester);
  if constexpr (std::is_same_v<T, std::string>) {
    auto& rp = std::get<0>(r.rp);
    deliver(rp, std::move(x));
  } else {
    auto& rp = std::get<1>(r.rp);
    deliver(rp, std::move(x));
  }
}

void fail(self_pointer self, pending_read& r, failure why) {
  if (r.kind == pending_read::readlines)
    answer(self, r, result<std::vector<std::string>>{std::move(why)});
  else
    answer(self, r, result<std::string>{std::move(why)});
}

/// ainput's line: without its "\n" or "\r\n"; ENODATA when EOF came before anything.
result<std::string> input_line(result<std::string> line) {
  if (!line)
    return line;
  auto& s = *line;
  if (s.empty())
    return failure{ENODATA, "ainput", "", "end of file"};
  if (s.back() == '\n') {
    s.pop_back();
    if (!s.empty() && s.back() == '\r')
      s.pop_back();
  }
  return line;
}

/// Text mode: decodes raw bytes into the input buffer; at EOF, ends the decoder.
void absorb(couple_state& st, std::string_view raw, bool at_eof) {
  if (!st.decoder)
    return;
  auto piece = at_eof ? st.decoder->finish("read") : st.decoder->feed(raw, "read");
  if (piece)
    st.in.append(*piece);
  else
    st.read_error = std::move(piece).error();
}

void wait_readable(self_pointer self);

/// One non-blocking read of a block. Returns false when the couple must wait for readiness.
bool fill_once(self_pointer self) {
  auto& st = self->state;
  // Compacting here keeps the buffer from growing with what was already handed out.
  if (st.in_pos > 0 && st.in_pos * 2 >= st.in.size()) {
    st.in.erase(0, st.in_pos);
    st.in_pos = 0;
  }
  // Binary mode reads straight into the input buffer; text mode reads raw bytes to decode.
  auto& target = st.decoder ? st.raw : st.in;
  auto old = st.decoder ? 0 : target.size();
  target.resize(old + st.setup.block_size);
  auto n =
    retry_eintr([&] { return ::read(st.setup.reader, target.data() + old, st.setup.block_size); });
  auto err = errno;
  target.resize(old + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
  if (n > 0) {
    if (st.decoder)
      absorb(st, st.raw, false);
  } else if (n == 0) {
    // A character cut short at EOF is an error, not an EOF to answer reads with.
    absorb(st, {}, true);
    st.eof = !st.read_error;
  } else if (err == EAGAIN || err == EWOULDBLOCK) {
    if (!st.waiting_readable)
      wait_readable(self);
    return false;
  } else {
    st.read_error = failure{err, "read", "", ""};
  }
  return true;
}

/// Whether the requester of `r` has terminated. Its down message may still be on the way (it
/// may even have been gone before its request got here); data handed to it would be lost.
bool requester_gone(const pending_read& r) {
  auto* who =
    dynamic_cast<caf::monitorable_actor*>(caf::actor_cast<caf::abstract_actor*>(r.sender));
  return who != nullptr && who->fail_state();
}

/// Whether the answer to `r` may go out. A read its facade caller cancelled after the read got
/// here but before this answer must not take the data (the bridge would drop the reply with it);
/// a committed one can no longer be cancelled. Other requesters (an actor, the gate) are always
/// answered.
bool still_wanted(const pending_read& r) {
  auto* bridge = dynamic_cast<reply_commit*>(caf::actor_cast<caf::abstract_actor*>(r.sender));
  return bridge == nullptr || bridge->commit(r.request);
}

/// Returns `taken` to the front of the input, for the next read.
void put_back(couple_state& st, std::string_view taken) {
  st.in.replace(0, st.in_pos, taken);
  st.in_pos = 0;
}

/// Serves queued reads in order until one has to wait for data.
void pump_reads(self_pointer self) {
  auto& st = self->state;
  while (!st.reads.empty() && !st.closed) {
    auto& r = st.reads.front();
    if (requester_gone(r)) {
      // Dropped here; the down message then finds nothing left to drop.
      st.reads.pop_front();
      continue;
    }
    if (r.kind == pending_read::readlines) {
      if (auto lines = take_lines(st, r.n)) {
        if (still_wanted(r)) {
          answer(self, r, result<std::vector<std::string>>{std::move(*lines)});
        } else {
          std::string taken;
          for (auto& line : *lines)
            taken += line;
          put_back(st, taken);
          unwatch(self, r.requester);
        }
        st.reads.pop_front();
        continue;
      }
    } else if (auto s = take_text(st, r)) {
      if (*s && !still_wanted(r)) {
        put_back(st, **s);
        unwatch(self, r.requester);
        st.reads.pop_front();
        continue;
      }
      if (r.kind == pending_read::ainput)
        answer(self, r, input_line(std::move(*s)));
      else
        answer(self, r, std::move(*s));
      st.reads.pop_front();
      continue;
    }
    if (st.read_error) {
      auto why = *st.read_error;
      why.op = op_name(r.kind);
      fail(self, r, std::move(why));
      st.reads.pop_front();
      continue;
    }
    // Tried even while the reactor watches the pipe: data written since then is served now,
    // not after the reactor's thread noticed it (a wake-up of two threads on an idle machine).
    if (!fill_once(self))
      return;
  }
}

void wait_readable(self_pointer self) {
  auto& st = self->state;
  caf::weak_actor_ptr weak{self->ctrl()};
  auto armed = st.setup.reactor->when_readable(st.setup.reader, [weak] {
    if (auto strong = weak.lock())
      caf::anon_send(caf::actor_cast<couple_actor_internal>(strong), ready_atom_v, false);
  });
  if (armed)
    st.waiting_readable = true;
  else
    st.read_error = armed.error();
}

void drain(self_pointer self);

void wait_writable(self_pointer self) {
  auto& st = self->state;
  caf::weak_actor_ptr weak{self->ctrl()};
  auto armed = st.setup.reactor->when_writable(st.setup.writer, [weak] {
    if (auto strong = weak.lock())
      caf::anon_send(caf::actor_cast<couple_actor_internal>(strong), ready_atom_v, true);
  });
  if (armed)
    st.waiting_writable = true;
  else
    st.write_error = armed.error();
}

/// Completes every waiting write or flush the buffer level allows, or fails all of them.
void settle_writes(couple_state& st) {
  auto level = st.out.size() - st.out_pos;
  std::deque<couple_state::pending_write> still;
  auto waiting = std::move(st.writes);
  st.writes.clear();
  for (auto& w : waiting) {
    if (st.write_error) {
      auto why = *st.write_error;
      why.op = w.op;
      w.done(&why);
    } else if (level < w.bound)
      w.done(nullptr);
    else
      still.push_back(std::move(w));
  }
  // A completion may have queued more (truncate after its flush); keep those after the rest.
  for (auto& w : st.writes)
    still.push_back(std::move(w));
  st.writes = std::move(still);
}

/// Writes out buffered output without blocking, until done or the writer would block.
void drain(self_pointer self) {
  auto& st = self->state;
  while (!st.write_error && st.out_pos < st.out.size() && !st.waiting_writable) {
    int err = 0;
    auto n = write_quietly(st.setup.writer, st.out.data() + st.out_pos, st.out.size() - st.out_pos,
                           st.writer_is_socket, err);
    if (n >= 0) {
      st.out_pos += static_cast<std::size_t>(n);
    } else if (err == EAGAIN || err == EWOULDBLOCK) {
      wait_writable(self);
    } else {
      st.write_error = failure{err, "write", "", ""};
    }
  }
  if (st.out_pos == st.out.size() || st.write_error) {
    st.out.clear();
    st.out_pos = 0;
  }
  settle_writes(st);
}

/// Queues a read of `kind` and serves the queue.
template <class T>
caf::typed_response_promise<T> enqueue(self_pointer self, pending_read::kind_t kind,
                                       std::int64_t n) {
  // Before the promise: making it takes the sender out of the current message.
  auto sender = self->current_sender();
  auto requester = caf::actor_cast<caf::actor_addr>(sender);
  auto request = self->current_message_id().integer_value() & caf::message_id::request_id_mask;
  auto rp = self->make_response_promise<T>();
  auto& st = self->state;
  auto op = op_name(kind);
  if (st.closed) {
    rp.deliver(make_error(closed_error(op)));
    return rp;
  }
  // Monitoring through the strong pointer also works for a requester that is already gone:
  // the down message then comes at once.
  if (requester && st.watched[requester]++ == 0)
    self->monitor(sender);
  st.reads.push_back(pending_read{kind, n, requester, request, sender, rp});
  pump_reads(self);
  return rp;
}

/// Fails every pending read with `why` (op filled in per read).
void fail_reads(self_pointer self, const char* detail, int code) {
  auto reads = std::move(self->state.reads);
  self->state.reads.clear();
  for (auto& r : reads)
    fail(self, r, failure{code, op_name(r.kind), "", detail});
}

/// Marks the couple closed, fails what waits, and releases the descriptors.
void close_all(self_pointer self) {
  auto& st = self->state;
  if (st.closed)
    return;
  fail_reads(self, "couple closed while waiting", ECANCELED);
  st.closed = true;
  st.out.clear();
  st.out_pos = 0;
  st.write_error = cancelled("flush", "couple closed while waiting");
  settle_writes(st);
  st.write_error = closed_error("write");
  st.release_fds();
}

/// Takes `data` as written output (checked as UTF-8 in text mode) -> the units accepted.
result<std::uint64_t> accept(couple_state& st, std::string data, const char* op) {
  if (st.closed)
    return closed_error(op);
  if (st.write_error) {
    auto why = *st.write_error;
    why.op = op;
    return why;
  }
  if (st.setup.text) {
    auto clean = decode_utf8(data, st.setup.errors, op);
    if (!clean)
      return std::move(clean).error();
    data = std::move(*clean);
  }
  auto count = count_units(data, st.setup.text);
  if (st.out.empty())
    st.out = std::move(data);
  else
    st.out.append(data);
  return static_cast<std::uint64_t>(count);
}

/// Answers `rp` via `done` once fewer than `bound` bytes of output are buffered.
template <class Promise, class Done>
void when_below(self_pointer self, const char* op, std::size_t bound, Promise rp, Done done) {
  auto& st = self->state;
  if (st.out.size() - st.out_pos >= bound)
    drain(self);
  st.writes.push_back(
    couple_state::pending_write{op, bound, [rp, done](const failure* why) mutable {
                                  if (why)
                                    rp.deliver(make_error(*why));
                                  else
                                    done(rp);
                                }});
  settle_writes(st);
}

bool is_socket(int fd) {
  struct stat sb {};
  return ::fstat(fd, &sb) == 0 && S_ISSOCK(sb.st_mode);
}

/// The owner's end closes the couple; any other down is a requester that gave up (cancelled or
/// dropped), whose reads are dropped rather than answered.
void on_down(self_pointer self, caf::down_msg& dm) {
  auto& st = self->state;
  if (dm.source == st.setup.owner) {
    close_all(self);
    self->quit();
    return;
  }
  st.watched.erase(dm.source);
  std::erase_if(st.reads, [&](const pending_read& r) { return r.requester == dm.source; });
}

/// Answered once the output buffer is below its bound, so a fast writer waits for a slow reader.
caf::typed_response_promise<std::uint64_t> write_data(self_pointer self, std::string& data) {
  auto rp = self->make_response_promise<std::uint64_t>();
  auto count = accept(self->state, std::move(data), "write");
  if (!count) {
    rp.deliver(make_error(count.error()));
    return rp;
  }
  when_below(self, "write", self->state.setup.write_buffer, rp,
             [n = *count](auto& p) mutable { p.deliver(n); });
  return rp;
}

/// As write_data; the first line that fails stops the rest (those before it stay buffered).
caf::typed_response_promise<void> write_lines(self_pointer self, std::vector<std::string>& lines) {
  auto rp = self->make_response_promise<void>();
  for (auto& line : lines) {
    auto count = accept(self->state, std::move(line), "writelines");
    if (!count) {
      rp.deliver(make_error(count.error()));
      return rp;
    }
  }
  when_below(self, "writelines", self->state.setup.write_buffer, rp,
             [](auto& p) { deliver_ok(p); });
  return rp;
}

/// Answered once every buffered byte reached the writer; an earlier write error is reported
/// here, since a write that was already answered could not report it.
caf::typed_response_promise<void> flush_output(self_pointer self) {
  auto rp = self->make_response_promise<void>();
  auto& st = self->state;
  if (st.closed) {
    rp.deliver(make_error(closed_error("flush")));
    return rp;
  }
  if (st.write_error) {
    auto why = *st.write_error;
    why.op = "flush";
    rp.deliver(make_error(why));
    return rp;
  }
  when_below(self, "flush", 1, rp, [](auto& p) { deliver_ok(p); });
  return rp;
}

/// Truncates after a flush, so buffered output cannot land beyond the new end afterwards.
/// A negative `size` means the writer's current offset.
caf::typed_response_promise<std::uint64_t> truncate_output(self_pointer self, std::int64_t size) {
  auto rp = self->make_response_promise<std::uint64_t>();
  auto& st = self->state;
  if (st.closed) {
    rp.deliver(make_error(closed_error("truncate")));
    return rp;
  }
  when_below(self, "truncate", 1, rp, [self, size](auto& p) {
    auto fd = self->state.setup.writer;
    auto target = size;
    if (target < 0) {
      target = ::lseek(fd, 0, SEEK_CUR);
      if (target < 0) {
        p.deliver(make_error(failure{errno, "truncate", "", ""}));
        return;
      }
    }
    if (retry_eintr([&] { return ::ftruncate(fd, target); }) != 0) {
      p.deliver(make_error(failure{errno, "truncate", "", ""}));
      return;
    }
    p.deliver(static_cast<std::uint64_t>(target));
  });
  return rp;
}

/// Queues a line read after draining `prompt`, so the prompt is visible before input is awaited.
caf::typed_response_promise<std::string> ask_input(self_pointer self, std::string& prompt,
                                                   bool assert_tty) {
  auto& st = self->state;
  if (!st.closed && assert_tty && ::isatty(st.setup.reader) != 1) {
    auto rp = self->make_response_promise<std::string>();
    rp.deliver(make_error(failure{ENOTTY, "ainput", "", "input is not a terminal"}));
    return rp;
  }
  if (!st.closed && !prompt.empty()) {
    // A failed prompt shows up on the next write or flush, as with any buffered output.
    if (accept(st, std::move(prompt), "ainput"))
      drain(self);
  }
  return enqueue<std::string>(self, pending_read::ainput, -1);
}

/// Cancels one read of the sender's; a request of another requester with the same id is not
/// its to cancel.
void cancel_read(self_pointer self, std::uint64_t request) {
  auto& reads = self->state.reads;
  auto requester = caf::actor_cast<caf::actor_addr>(self->current_sender());
  auto i = std::find_if(reads.begin(), reads.end(), [&](const pending_read& r) {
    return r.request == request && r.requester == requester;
  });
  if (i == reads.end())
    return;
  fail(self, *i, cancelled(op_name(i->kind), "cancelled"));
  reads.erase(i);
  // The read at the front may have been the one waiting; the next may be served now.
  pump_reads(self);
}

/// The reactor saw a descriptor become ready: resume what waited for it.
void on_ready(self_pointer self, bool writable) {
  auto& st = self->state;
  if (st.closed)
    return;
  if (writable) {
    st.waiting_writable = false;
    drain(self);
  } else {
    st.waiting_readable = false;
    pump_reads(self);
  }
}

} // namespace

void couple_state::release_fds() {
  if (setup.reader < 0 && setup.writer < 0)
    return;
  if (setup.reactor) {
    setup.reactor->forget(setup.reader);
    setup.reactor->forget(setup.writer);
  }
  if (setup.owns_fds) {
    ::close(setup.reader);
    if (setup.writer != setup.reader)
      ::close(setup.writer);
  }
  setup.reader = -1;
  setup.writer = -1;
}

couple_actor_internal::behavior_type couple_impl(self_pointer self, couple_setup setup) {
  auto& st = self->state;
  st.setup = std::move(setup);
  if (st.setup.text)
    st.decoder.emplace(st.setup.errors);
  st.writer_is_socket = is_socket(st.setup.writer);
  if (st.setup.owner)
    self->monitor(st.setup.owner);
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });
  return {
    [=](read_atom, std::int64_t n) { return enqueue<std::string>(self, pending_read::read, n); },
    [=](read1_atom, std::int64_t n) { return enqueue<std::string>(self, pending_read::read1, n); },
    [=](readall_atom) { return enqueue<std::string>(self, pending_read::readall, -1); },
    [=](readinto_atom, std::int64_t n) {
      return enqueue<std::string>(self, pending_read::readinto, n);
    },
    [=](readinto1_atom, std::int64_t n) {
      return enqueue<std::string>(self, pending_read::readinto1, n);
    },
    [=](readline_atom, std::int64_t limit) {
      return enqueue<std::string>(self, pending_read::readline, limit);
    },
    [=](readlines_atom, std::int64_t hint) {
      return enqueue<std::vector<std::string>>(self, pending_read::readlines, hint);
    },
    [=](write_atom, std::string& data) { return write_data(self, data); },
    [=](writelines_atom, std::vector<std::string>& lines) { return write_lines(self, lines); },
    [=](caf::flush_atom) { return flush_output(self); },
    [=](truncate_atom, std::int64_t size) { return truncate_output(self, size); },
    [=](ainput_atom, std::string& prompt, bool assert_tty) {
      return ask_input(self, prompt, assert_tty);
    },
    [=](cancel_atom) { fail_reads(self, "cancelled", ECANCELED); },
    [=](cancel_atom, std::uint64_t request) { cancel_read(self, request); },
    [=](caf::close_atom) { close_all(self); },
    [=](ready_atom, bool writable) { on_ready(self, writable); },
  };
}

} // namespace actorio::detail
