#include "actors/served_map_actor.hpp"

#include <algorithm>
#include <cerrno>
#include <string>
#include <type_traits>

#include "actorio/messages/error.hpp"
#include "actors/reply.hpp"

namespace actorio::detail {

std::optional<caf::error> byte_allowance::reserve(std::uint64_t bytes, const char* op) {
  if (limit_ != 0 && bytes > limit_)
    return make_error(failure{EFBIG, op, "",
                              "the request moves " + std::to_string(bytes) +
                                " bytes; this server allows " + std::to_string(limit_) +
                                " in flight per client"});
  auto used = used_.load();
  do {
    if (limit_ != 0 && used + bytes > limit_)
      return make_error(failure{EAGAIN, op, "",
                                std::to_string(used) +
                                  " bytes of this client's earlier requests are in flight; the "
                                  "server allows " +
                                  std::to_string(limit_) + " (retry once they are done)"});
  } while (!used_.compare_exchange_weak(used, used + bytes));
  return std::nullopt;
}

void byte_allowance::release(std::uint64_t bytes) {
  auto used = used_.load();
  while (!used_.compare_exchange_weak(used, used - std::min(used, bytes))) {
  }
}

namespace {

using self_pointer = served_map_actor::stateful_pointer<served_map_state>;

caf::error closed(std::string op) {
  return make_error(failure{EBADF, std::move(op), "", "handle is closed"});
}

/// One request of the proxy's is answered: a proxy the gate ended quits with its last one.
void finish_one(self_pointer self) {
  if (--self->state.pending == 0 && self->state.ending)
    self->quit();
}

/// Sends `xs...` to the map and answers `rp` with its reply. `bytes` reserved for the request
/// are given back before the answer leaves, so a client that sends its next call on hearing it
/// finds them free.
template <class... Rs, class... Ts>
void pass_on(self_pointer self, caf::typed_response_promise<Rs...> rp, std::uint64_t bytes,
             Ts&&... xs) {
  ++self->state.pending;
  auto release = [self, bytes] { self->state.allowance->release(bytes); };
  auto finish = [self] { finish_one(self); };
  auto on_error = [rp, release, finish](caf::error& err) mutable {
    release();
    rp.deliver(std::move(err));
    finish();
  };
  auto h = self->request(self->state.map, caf::infinite, std::forward<Ts>(xs)...);
  if constexpr (std::is_same_v<caf::detail::type_list<Rs...>, caf::detail::type_list<void>>)
    h.then(
      [rp, release, finish]() mutable {
        release();
        deliver_ok(rp);
        finish();
      },
      on_error);
  else
    h.then(
      [rp, release, finish](Rs&... xs) mutable {
        release();
        rp.deliver(std::move(xs)...);
        finish();
      },
      on_error);
}

/// The operation a request names: the text of its leading atom (see interfaces.hpp).
std::string op_of(const caf::message& request) {
  if (request.size() > 0 && request.match_element<caf::atom_value>(0))
    return caf::to_string(request.get_as<caf::atom_value>(0));
  return "request";
}

/// A response handler that takes any reply (values of any types, none, or an error) as one
/// message: CAF 0.17's handlers match replies by their types, which the proxy does not know for
/// the requests it passes through.
class any_reply final : public caf::detail::behavior_impl {
public:
  explicit any_reply(std::function<void(caf::message)> on_reply)
    : on_reply_(std::move(on_reply)) {}

  caf::match_case::result invoke(caf::detail::invoke_result_visitor& f,
                                 caf::type_erased_tuple& xs) override {
    on_reply_(caf::message::copy(xs));
    f(); // Produces no reply of its own.
    return caf::match_case::match;
  }

  caf::match_case::result invoke_empty(caf::detail::invoke_result_visitor& f) override {
    on_reply_(caf::message{});
    f();
    return caf::match_case::match;
  }

private:
  std::function<void(caf::message)> on_reply_;
};

/// Passes a request the behavior does not name (one that moves no data, so nothing is counted)
/// to the map as it came, and the map's reply back from the proxy: a map operation of that kind
/// needs no code in the proxy.
caf::result<caf::message> pass_on_any(self_pointer self, caf::message_view& x) {
  if (!self->current_message_id().is_request())
    return caf::message{};
  auto rp = self->make_response_promise();
  auto request = x.move_content_to_message();
  if (self->state.closed) {
    rp.deliver(closed(op_of(request)));
    return caf::delegated<caf::message>{};
  }
  ++self->state.pending;
  auto h =
    self->request(caf::actor_cast<caf::actor>(self->state.map), caf::infinite, std::move(request));
  // An error travels as a message holding it, and reaches the requester as that error.
  caf::behavior::impl_ptr relay =
    caf::make_counted<any_reply>([self, rp](caf::message reply) mutable {
      rp.deliver(std::move(reply));
      finish_one(self);
    });
  self->add_multiplexed_response_handler(h.id(), caf::behavior{std::move(relay)});
  return caf::delegated<caf::message>{};
}

/// Answers the current request with the map's reply to `xs...`, `bytes` of payload counted.
template <class... Rs, class... Ts>
caf::typed_response_promise<Rs...> forward(self_pointer self, const char* op, std::uint64_t bytes,
                                           Ts&&... xs) {
  auto rp = self->template make_response_promise<Rs...>();
  if (self->state.closed)
    rp.deliver(closed(op));
  else if (auto refused = self->state.allowance->reserve(bytes, op))
    rp.deliver(std::move(*refused));
  else
    pass_on(self, rp, bytes, std::forward<Ts>(xs)...);
  return rp;
}

/// As forward, for a read from `offset` that returns at most `bound` bytes (-1: to the end).
/// When the bound is unknown or does not fit the allowance, the rest of the map bounds the reply:
/// its size is asked for first, with later requests held back (await) so they stay in order.
template <class... Rs, class... Ts>
caf::typed_response_promise<Rs...> forward_read(self_pointer self, const char* op,
                                                std::int64_t offset, std::int64_t bound, Ts... xs) {
  auto rp = self->template make_response_promise<Rs...>();
  if (self->state.closed) {
    rp.deliver(closed(op));
    return rp;
  }
  auto& allowance = *self->state.allowance;
  auto asked = static_cast<std::uint64_t>(std::max<std::int64_t>(bound, 0));
  if (allowance.limit() == 0 ||
      (bound >= 0 && allowance.in_flight() + asked <= allowance.limit())) {
    if (auto refused = allowance.reserve(asked, op))
      rp.deliver(std::move(*refused));
    else
      pass_on(self, rp, asked, std::move(xs)...);
    return rp;
  }
  self->request(self->state.map, caf::infinite, size_atom_v)
    .await(
      [self, rp, op, offset, bound, ... xs = std::move(xs)](std::uint64_t size) mutable {
        auto from = static_cast<std::uint64_t>(std::max<std::int64_t>(offset, 0));
        auto rest = from < size ? size - from : 0;
        auto bytes = bound >= 0 ? std::min(static_cast<std::uint64_t>(bound), rest) : rest;
        if (auto refused = self->state.allowance->reserve(bytes, op))
          rp.deliver(std::move(*refused));
        else
          pass_on(self, rp, bytes, std::move(xs)...);
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

/// The map to compare with: this proxy's own map where the client named the proxy, so that the
/// map serves the comparison on its own instead of asking itself through the proxy.
caf::actor other_map(self_pointer self, const caf::actor& other) {
  if (other && other.address() == self->address())
    return caf::actor_cast<caf::actor>(self->state.map);
  return other;
}

} // namespace

served_map_actor::behavior_type served_map_impl(self_pointer self, mapped_file_actor map,
                                                mmap_manager_actor gate,
                                                std::shared_ptr<byte_allowance> allowance) {
  self->state.map = std::move(map);
  self->state.gate = std::move(gate);
  self->state.allowance = std::move(allowance);
  // Without its gate nobody could release the client's references: the proxy goes too.
  self->monitor(self->state.gate);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  self->set_default_handler(
    [self](caf::scheduled_actor*, caf::message_view& x) { return pass_on_any(self, x); });
  // Only requests that move data are named: the rest pass through pass_on_any, so the behavior
  // is the interface's only at run time (unsafe_init).
  return {
    served_map_actor::behavior_type::unsafe_init{},
    caf::behavior{
      [=](read_atom, std::int64_t offset, std::int64_t size) {
        return forward_read<bytes>(self, "read", offset, size, read_atom_v, offset, size);
      },
      [=](write_atom, bytes& data, std::int64_t offset) {
        auto n = data.size();
        return forward<std::uint64_t>(self, "write", n, write_atom_v, std::move(data), offset);
      },
      [=](read_str_atom, std::int64_t offset, std::int64_t size, utf8_errors errors) {
        return forward_read<std::string>(self, "read_str", offset, size, read_str_atom_v, offset,
                                         size, errors);
      },
      [=](write_str_atom, std::string& text, std::int64_t offset, utf8_errors errors) {
        auto n = text.size();
        return forward<std::uint64_t>(self, "write_str", n, write_str_atom_v, std::move(text),
                                      offset, errors);
      },
      [=](readline_atom, std::int64_t offset, std::int64_t limit, bool keep) {
        return forward_read<bytes, std::uint64_t>(self, "readline", offset, limit, readline_atom_v,
                                                  offset, limit, keep);
      },
      [=](readlines_atom, std::int64_t hint) {
        // A hint stops after the line that reaches it, which may be the rest of the map.
        return forward_read<std::vector<bytes>>(self, "readlines", 0, -1, readlines_atom_v, hint);
      },
      [=](lines_atom, std::int64_t offset, std::uint64_t max) {
        auto bound = static_cast<std::int64_t>(std::min<std::uint64_t>(max, INT64_MAX));
        return forward_read<std::vector<bytes>, std::uint64_t>(self, "lines", offset, bound,
                                                               lines_atom_v, offset, max);
      },
      [=](read_until_atom, bytes& delim, std::int64_t offset, std::int64_t max) {
        return forward_read<bytes, std::uint64_t>(self, "read_until", offset, max,
                                                  read_until_atom_v, std::move(delim), offset, max);
      },
      [=](writelines_atom, std::vector<bytes>& lines, bytes& sep, std::int64_t offset) {
        std::uint64_t n = 0;
        for (const auto& l : lines)
          n += l.size() + sep.size();
        return forward<std::uint64_t>(self, "writelines", n, writelines_atom_v, std::move(lines),
                                      std::move(sep), offset);
      },
      [=](insert_atom, bytes& data, std::int64_t offset) {
        auto n = data.size();
        return forward<std::uint64_t>(self, "insert", n, insert_atom_v, std::move(data), offset);
      },
      [=](replace_atom, bytes& old_bytes, bytes& new_bytes, std::int64_t offset,
          std::int64_t count) {
        auto n = old_bytes.size() + new_bytes.size();
        return forward<std::uint64_t>(self, "replace", n, replace_atom_v, std::move(old_bytes),
                                      std::move(new_bytes), offset, count);
      },
      [=](fill_atom, bytes& pattern, std::int64_t offset, std::int64_t count) {
        auto n = pattern.size();
        return forward<std::uint64_t>(self, "fill", n, fill_atom_v, std::move(pattern), offset,
                                      count);
      },
      [=](compare_atom, caf::actor& other, std::int64_t size, std::int64_t mine,
          std::int64_t theirs) {
        return forward<bool>(self, "compare", 0, compare_atom_v, other_map(self, other), size, mine,
                             theirs);
      },
      [=](hamming_dist_atom, caf::actor& other, std::int64_t size, std::int64_t mine,
          std::int64_t theirs) {
        return forward<std::uint64_t>(self, "hamming_dist", 0, hamming_dist_atom_v,
                                      other_map(self, other), size, mine, theirs);
      },
      [=](hamming_dist_bytes_atom, caf::actor& other, std::int64_t size, std::int64_t mine,
          std::int64_t theirs) {
        return forward<std::uint64_t>(self, "hamming_dist_bytes", 0, hamming_dist_bytes_atom_v,
                                      other_map(self, other), size, mine, theirs);
      },
      [=](find_atom, bytes& sub, std::int64_t start, std::int64_t end) {
        auto n = sub.size();
        return forward<std::int64_t>(self, "find", n, find_atom_v, std::move(sub), start, end);
      },
      [=](rfind_atom, bytes& sub, std::int64_t start, std::int64_t end) {
        auto n = sub.size();
        return forward<std::int64_t>(self, "rfind", n, rfind_atom_v, std::move(sub), start, end);
      },
      [=](search_atom, bytes& pattern, std::int64_t offset, std::int64_t max, bool overlapping) {
        auto n = pattern.size();
        return forward<std::vector<std::uint64_t>, std::uint64_t>(
          self, "search", n, search_atom_v, std::move(pattern), offset, max, overlapping);
      },
      [=](caf::close_atom) -> caf::result<void> {
        auto& st = self->state;
        auto sender = self->current_sender();
        if (sender && sender->address() == st.gate.address()) {
          st.ending = st.closed;
          st.closed = true;
          if (st.ending && st.pending == 0)
            self->quit();
          return caf::unit;
        }
        if (st.closed)
          return closed("close");
        // The gate's answer goes to the client straight away: it names the gate, not the map.
        return self->delegate(st.gate, caf::close_atom_v, caf::actor_cast<mapped_file_actor>(self));
      },
    }};
}

} // namespace actorio::detail
