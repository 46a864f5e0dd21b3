#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "actorio/messages/interfaces.hpp"
#include "io/src/fd_reactor.hpp"
#include "io/src/utf8.hpp"

namespace actorio::detail {

/// What a couple is made of. Pollable descriptors (pipes, sockets, terminals) must already be
/// non-blocking; others (regular files) never make a read or write wait.
struct couple_setup {
  int reader = -1;
  int writer = -1;
  /// Close the descriptors when the couple closes.
  bool owns_fds = true;
  bool text = false;
  utf8_errors errors = utf8_errors::strict;
  /// Bytes per read syscall.
  std::size_t block_size = 64 * 1024;
  /// Buffered output above which writes start going out and wait for room.
  std::size_t write_buffer = 64 * 1024;
  std::shared_ptr<fd_reactor> reactor;
  /// The couple closes when this actor (the runtime's manager) goes down.
  caf::actor_addr owner;
};

/// State of one couple: its descriptors, input and output buffers and the queue of waiting reads.
struct couple_state {
  /// A read waiting for data, served in arrival order.
  struct pending_read {
    enum kind_t { read, read1, readall, readinto, readinto1, readline, readlines, ainput } kind;
    std::int64_t n;
    caf::actor_addr requester;
    /// The request's message id without its flag bits, as a cancel names it.
    std::uint64_t request;
    /// Kept to check, before handing data out, that the requester has not terminated.
    caf::strong_actor_ptr sender;
    std::variant<caf::typed_response_promise<std::string>,
                 caf::typed_response_promise<std::vector<std::string>>>
      rp;
  };

  /// Something waiting until fewer than `bound` bytes of output are buffered.
  struct pending_write {
    const char* op;
    std::size_t bound;
    std::function<void(const failure*)> done;
  };

  couple_setup setup;
  std::optional<utf8_decoder> decoder;
  /// Bytes (text mode: decoded, whole characters) read but not yet handed out, from in_pos.
  std::string in;
  std::size_t in_pos = 0;
  /// Text mode: the last block as read, before decoding.
  std::string raw;
  bool eof = false;
  /// A failed read or decode ends the read side: every later read fails the same way.
  std::optional<failure> read_error;
  bool writer_is_socket = false;
  bool waiting_readable = false;
  bool waiting_writable = false;
  std::deque<pending_read> reads;
  /// Requesters of pending reads and how many each has, to monitor each only once.
  std::unordered_map<caf::actor_addr, int> watched;
  std::string out;
  std::size_t out_pos = 0;
  std::deque<pending_write> writes;
  /// A failed write (EPIPE) ends the write side: every later write and flush fails the same way.
  std::optional<failure> write_error;
  bool closed = false;

  /// Stops watching and closes the owned descriptors; idempotent.
  void release_fds();

  ~couple_state() {
    release_fds();
  }

  static inline const char* name = "actorio.couple";
};

/// A couple's actor as it is spawned: the public interface plus the reactor's wake-up, (ready_atom,
/// writable) when the reader (false) or the writer (true) became ready. Handed out as a
/// `couple_actor`, so only the reactor's callbacks, which hold this type, can send it.
using couple_actor_internal = couple_actor::extend<caf::reacts_to<ready_atom, bool>>;

/// Serves one couple. Reads try a non-blocking block read first and, on EAGAIN, ask the reactor
/// to say when the reader is readable; nothing blocks and no thread waits for an idle couple.
couple_actor_internal::behavior_type
couple_impl(couple_actor_internal::stateful_pointer<couple_state> self, couple_setup setup);

} // namespace actorio::detail
