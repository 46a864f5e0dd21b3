#include "actors/gate_actor.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <optional>

#include "actorio/messages/error.hpp"
#include "actors/gather.hpp"
#include "actors/reply.hpp"
#include "io/src/file_scan.hpp"

namespace actorio::detail {

namespace {

using self_pointer = mmap_manager_actor::stateful_pointer<gate_state>;
using client = gate_state::client;

/// Who sent the current message.
struct caller {
  /// The sender's client entry; null for a local sender, which no limit applies to.
  client* entry = nullptr;
  caf::node_id node;
  /// Set when the request must be refused.
  std::optional<caf::error> refused;
};

/// Identifies the sender; a remote one is registered (reported, its actor monitored) when first
/// seen. Anonymous messages are refused: no reply can reach their sender, so a map opened for one
/// could never be released.
caller identify(self_pointer self, const char* op) {
  const auto& sender = self->current_sender();
  if (!sender)
    return {nullptr, {}, make_error(failure{EPERM, op, "", "anonymous requests are not served"})};
  if (sender->node() == self->node())
    return {};
  auto& st = self->state;
  if (st.stopping)
    return {nullptr, {}, make_error(failure{ESHUTDOWN, op, "", "the server is stopping"})};
  auto [i, fresh] = st.clients.try_emplace(sender->node());
  auto& c = i->second;
  if (fresh) {
    c.name = caf::to_string(sender->node());
    c.allowance = std::make_shared<byte_allowance>(st.options.max_bytes_in_flight);
    if (st.options.on_connect)
      st.options.on_connect(c.name);
  }
  if (c.actors.insert(sender->address()).second)
    self->monitor(sender);
  return {&c, sender->node(), std::nullopt};
}

/// A handler for the manager's interface that first identifies the sender (see identify) and
/// refuses what must be refused, then runs `body(self, from, args...)`: every request through the
/// gate passes this one check. The handler's signature is the body's, less its first two
/// parameters.
template <class R, class... Args>
auto gated(self_pointer self, const char* op, R (*body)(self_pointer, caller&, Args...)) {
  return [self, op, body](Args... xs) -> R {
    auto from = identify(self, op);
    if (from.refused)
      return *from.refused;
    return body(self, from, std::forward<Args>(xs)...);
  };
}

client* find_client(self_pointer self, const caf::node_id& node) {
  auto i = self->state.clients.find(node);
  return i == self->state.clients.end() ? nullptr : &i->second;
}

/// Releases `times` references to `file` at the manager.
void release(self_pointer self, const mapped_file_actor& file, std::size_t times = 1) {
  for (std::size_t k = 0; k < times; ++k)
    caf::anon_send(self->state.manager, caf::close_atom_v, file);
}

/// Tells a proxy, as the gate, to close (the first time) or to quit (the second).
void close_proxy(self_pointer self, const served_map_actor& proxy, int times = 1) {
  for (int k = 0; k < times; ++k)
    self->request(proxy, caf::infinite, caf::close_atom_v).then([] {}, [](caf::error&) {});
}

/// Closes the proxy of a map whose last reference the client released. It stays to answer
/// EBADF (a request to an actor that is gone gets no answer from CAF 0.17's network layer, only
/// the client's timeout) until it is one of more than `closed_kept` the client closed since.
void retire_proxy(self_pointer self, client& c, const served_map_actor& proxy) {
  close_proxy(self, proxy);
  c.closed.push_back(proxy);
  if (c.closed.size() > client::closed_kept) {
    close_proxy(self, c.closed.front());
    c.closed.pop_front();
  }
}

/// Counts `file` as held by the client on `node`, whose open was counted in `refs` already, and
/// returns the proxy the client is to get for it. A client gone meanwhile cannot release it, so
/// it is released at once (and nothing returned).
std::optional<mapped_file_actor> adopt(self_pointer self, const caf::node_id& node,
                                       const mapped_file_actor& file) {
  auto* c = find_client(self, node);
  if (!c) {
    release(self, file);
    return std::nullopt;
  }
  auto& held = c->maps[file.address()];
  if (!held.proxy) {
    held.map = file;
    held.proxy =
      self->spawn(served_map_impl, file, caf::actor_cast<mmap_manager_actor>(self), c->allowance);
  }
  ++held.refs;
  return held.proxy;
}

/// Answers an open with the proxy adopt returned.
void deliver_proxy(caf::typed_response_promise<mapped_file_actor>& rp,
                   std::optional<mapped_file_actor> proxy) {
  if (proxy)
    rp.deliver(std::move(*proxy));
  else
    rp.deliver(caf::make_error(caf::sec::request_receiver_down));
}

/// EMFILE unless the client may hold `more` references besides what it holds.
std::optional<caf::error> check_maps(self_pointer self, const client& c, std::size_t more,
                                     const char* op, const std::string& path) {
  auto limit = self->state.options.max_open_maps;
  if (limit == 0 || c.refs + more <= limit)
    return std::nullopt;
  return make_error(failure{EMFILE, op, path,
                            "this client holds " + std::to_string(c.refs) +
                              " maps; the server allows " + std::to_string(limit) +
                              " per client (close some)"});
}

/// The current message's requester, for a relay on behalf of the client on `node`. Call before
/// make_response_promise, which takes the sender away.
gate_state::relay requester_of(self_pointer self, const caf::node_id& node) {
  return {caf::actor_cast<caf::actor>(self->current_sender()),
          self->current_message_id().integer_value() & caf::message_id::request_id_mask, node};
}

/// Sends `xs...` to the manager as the gate's own request, so the gate sees the reply, and calls
/// `done(expected<T>)` with it. The manager's progress reports are passed on to `who` under its
/// own request id (see pass_progress), and its cancel reaches the manager (see the cancel
/// handler).
template <class T, class Done, class... Ts>
void relay(self_pointer self, gate_state::relay who, Done done, Ts&&... xs) {
  auto h = self->request(self->state.manager, caf::infinite, std::forward<Ts>(xs)...);
  auto id = h.id().integer_value() & caf::message_id::request_id_mask;
  self->state.relays.emplace(id, std::move(who));
  h.then(
    [self, id, done](T& value) mutable {
      self->state.relays.erase(id);
      done(caf::expected<T>{std::move(value)});
    },
    [self, id, done](caf::error& err) mutable {
      self->state.relays.erase(id);
      done(caf::expected<T>{std::move(err)});
    });
}

/// Sends `xs...` to the manager on behalf of the current sender: delegated for a local one; for
/// a client relayed as the gate's own request, so that the answer (and its progress) comes from
/// the gate. A delegated answer would name the manager as its sender, and with that handle a
/// client could bypass the gate.
template <class T, class... Ts>
caf::result<T> pass_on(self_pointer self, const caller& from, Ts&&... xs) {
  if (!from.entry)
    return self->delegate(self->state.manager, std::forward<Ts>(xs)...);
  auto who = requester_of(self, from.node);
  auto rp = self->make_response_promise<T>();
  relay<T>(
    self, std::move(who),
    [rp](caf::expected<T> r) mutable {
      r ? rp.deliver(std::move(*r)) : rp.deliver(std::move(r.error()));
    },
    std::forward<Ts>(xs)...);
  return rp;
}

/// The body of a request the gate has no say in beyond gated's check: passed on as it came.
template <class T, class Atom, class... Args>
caf::result<T> pass_through(self_pointer self, caller& from, Atom atom, Args... xs) {
  return pass_on<T>(self, from, atom, std::move(xs)...);
}

/// The handler of `(Atom, Args...) -> T`, gated as `op` and passed on (see pass_on).
template <class T, class Atom, class... Args>
auto passed_on(self_pointer self, const char* op) {
  return gated(self, op, pass_through<T, Atom, Args...>);
}

/// The reply of a bulk call: one result per item.
template <class T>
using per_item = std::vector<result<T>>;
using path_list = std::vector<std::string>;

/// Forgets a client node: every reference it held is released, its relayed bulk work cancelled.
void drop_client(self_pointer self, std::map<caf::node_id, client>::iterator i) {
  auto& st = self->state;
  for (auto& [addr, held] : i->second.maps) {
    release(self, held.map, held.refs);
    close_proxy(self, held.proxy, 2);
  }
  for (auto& proxy : i->second.closed)
    close_proxy(self, proxy);
  for (auto& [id, r] : st.relays)
    if (r.node == i->first)
      self->send(st.manager, cancel_atom_v, id);
  for (auto id : i->second.staged)
    caf::anon_send(st.manager, discard_staged_atom_v, id);
  for (auto& [key, run] : st.pulls)
    if (run.who.node == i->first)
      run.cancelled->store(true);
  auto name = std::move(i->second.name);
  st.clients.erase(i);
  if (st.options.on_disconnect)
    st.options.on_disconnect(name);
}

/// The bytes `job` would return, from the file's size now. A file that cannot be sized counts 0:
/// the manager reports its error. The file is sized through the served root's sandbox, as the
/// manager opens it, so a path or symlink that leaves the root says nothing about what it points
/// to.
std::uint64_t reply_bytes(const path_sandbox& root, const read_job& job) {
  // Normalized as the manager's own resolution does ("x/../f" names f even without a dir x).
  auto fd = root.open_beneath(lexically_normal(job.path), O_PATH, 0, "bulk_read");
  struct stat st {};
  if (!fd || ::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode))
    return 0;
  return job_bytes(job, static_cast<std::uint64_t>(st.st_size));
}

std::uint64_t payload_bytes(const std::vector<chunk>& chunks) {
  std::uint64_t total = 0;
  for (const auto& c : chunks)
    total += c.data.size();
  return total;
}

/// Passes the manager's progress reports for relayed requests on to their requesters; ignores
/// reports from anyone else (a client guessing the gate's request ids could otherwise report to
/// another client's call); drops (answering requests with an error) whatever else the interface
/// does not name.
caf::result<caf::message> pass_progress(self_pointer self, caf::scheduled_actor* ptr,
                                        caf::message_view& x) {
  auto msg = x.copy_content_to_message();
  if (msg.match_elements<progress_atom, std::uint64_t, progress>()) {
    const auto& sender = self->current_sender();
    if (sender && sender->address() == self->state.manager.address())
      if (auto i = self->state.relays.find(msg.get_as<std::uint64_t>(1));
          i != self->state.relays.end())
        caf::anon_send(i->second.requester, progress_atom_v, i->second.request,
                       msg.get_as<progress>(2));
    // No answer: a report is no request, and an answer would go back to its sender.
    return caf::delegated<caf::message>{};
  }
  return caf::drop(ptr, x);
}

/// Forgets a client node once it is gone: when its connection is (CAF then kills every proxy of
/// the node) or when every actor of it that talked to the gate has ended.
void on_down(self_pointer self, caf::down_msg& dm) {
  auto& clients = self->state.clients;
  for (auto i = clients.begin(); i != clients.end(); ++i) {
    if (i->second.actors.erase(dm.source) == 0)
      continue;
    if (dm.reason == caf::exit_reason::remote_link_unreachable || i->second.actors.empty())
      drop_client(self, i);
    return;
  }
}

/// A client's open counts against its maps before the manager answers (concurrent opens could
/// otherwise all pass the check), and the client gets a proxy, never the map.
caf::result<mapped_file_actor> open_for(self_pointer self, caller& from, caf::open_atom,
                                        std::string& path, open_mode mode, std::int64_t size) {
  auto& m = self->state.manager;
  if (!from.entry)
    return self->delegate(m, caf::open_atom_v, std::move(path), mode, size);
  if (auto refused = check_maps(self, *from.entry, 1, "open", path))
    return *refused;
  ++from.entry->refs;
  auto rp = self->make_response_promise<mapped_file_actor>();
  self->request(m, caf::infinite, caf::open_atom_v, std::move(path), mode, size)
    .then(
      [self, rp, node = from.node](mapped_file_actor& file) mutable {
        auto proxy = adopt(self, node, file);
        deliver_proxy(rp, std::move(proxy));
      },
      [self, rp, node = from.node](caf::error& err) mutable {
        if (auto* c = find_client(self, node))
          --c->refs;
        rp.deliver(std::move(err));
      });
  return rp;
}

/// As open_for; the payload also counts against the client's bytes in flight until answered.
caf::result<mapped_file_actor> create_sparse_for(self_pointer self, caller& from,
                                                 create_sparse_atom, std::string& path,
                                                 std::int64_t size, std::vector<chunk>& chunks) {
  auto& m = self->state.manager;
  if (!from.entry)
    return self->delegate(m, create_sparse_atom_v, std::move(path), size, std::move(chunks));
  if (auto refused = check_maps(self, *from.entry, 1, "create_sparse", path))
    return *refused;
  auto bytes = payload_bytes(chunks);
  if (auto refused = from.entry->allowance->reserve(bytes, "create_sparse"))
    return *refused;
  auto allowance = from.entry->allowance;
  ++from.entry->refs;
  auto rp = self->make_response_promise<mapped_file_actor>();
  self->request(m, caf::infinite, create_sparse_atom_v, std::move(path), size, std::move(chunks))
    .then(
      [self, rp, bytes, allowance, node = from.node](mapped_file_actor& file) mutable {
        allowance->release(bytes);
        deliver_proxy(rp, adopt(self, node, file));
      },
      [self, rp, bytes, allowance, node = from.node](caf::error& err) mutable {
        allowance->release(bytes);
        if (auto* c = find_client(self, node))
          --c->refs;
        rp.deliver(std::move(err));
      });
  return rp;
}

/// A client names the proxy it was given and releases only references it holds: never one of
/// another client's.
caf::result<void> close_for(self_pointer self, caller& from, caf::close_atom,
                            mapped_file_actor& file) {
  auto& m = self->state.manager;
  if (!from.entry)
    return self->delegate(m, caf::close_atom_v, std::move(file));
  auto& maps = from.entry->maps;
  auto i = std::find_if(maps.begin(), maps.end(), [&](const auto& entry) {
    return entry.second.proxy.address() == file.address();
  });
  if (i == maps.end())
    return caf::unit;
  auto map = i->second.map;
  --from.entry->refs;
  if (--i->second.refs == 0) {
    retire_proxy(self, *from.entry, i->second.proxy);
    maps.erase(i);
  }
  // Answered once the manager has released it (so currently_open reflects it), by the gate
  // itself: the manager's answer would name the manager to the client.
  auto rp = self->make_response_promise<void>();
  self->request(m, caf::infinite, caf::close_atom_v, std::move(map))
    .then([rp]() mutable { deliver_ok(rp); },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

/// Every map the manager lists becomes a reference of the client: all count, or none is handed
/// out.
caf::result<std::vector<open_file>> open_files_for(self_pointer self, caller& from,
                                                   open_files_atom) {
  auto& m = self->state.manager;
  if (!from.entry)
    return self->delegate(m, open_files_atom_v);
  auto rp = self->make_response_promise<std::vector<open_file>>();
  self->request(m, caf::infinite, open_files_atom_v)
    .then(
      [self, rp, node = from.node](std::vector<open_file>& files) mutable {
        auto* c = find_client(self, node);
        auto refused =
          c ? check_maps(self, *c, files.size(), "open_files", "") : std::optional<caf::error>{};
        if (!c || refused) {
          for (auto& f : files)
            release(self, f.file);
          rp.deliver(refused ? *refused : caf::make_error(caf::sec::request_receiver_down));
          return;
        }
        c->refs += files.size();
        for (auto& f : files)
          f.file = *adopt(self, node, f.file);
        rp.deliver(std::move(files));
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

/// A staged file counts as a map of the client's until committed or discarded, and only the
/// client that staged it may write, commit or discard it.
caf::result<std::uint64_t> stage_for(self_pointer self, caller& from, stage_atom,
                                     std::string& dst) {
  auto& m = self->state.manager;
  if (!from.entry)
    return self->delegate(m, stage_atom_v, std::move(dst));
  if (auto refused = check_maps(self, *from.entry, 1, "stage", dst))
    return *refused;
  ++from.entry->refs;
  auto rp = self->make_response_promise<std::uint64_t>();
  self->request(m, caf::infinite, stage_atom_v, std::move(dst))
    .then(
      [self, rp, node = from.node](std::uint64_t id) mutable {
        auto* c = find_client(self, node);
        if (!c) {
          // Gone meanwhile: nobody could commit or drop it.
          caf::anon_send(self->state.manager, discard_staged_atom_v, id);
          rp.deliver(caf::make_error(caf::sec::request_receiver_down));
          return;
        }
        c->staged.insert(id);
        rp.deliver(id);
      },
      [self, rp, node = from.node](caf::error& err) mutable {
        if (auto* c = find_client(self, node))
          --c->refs;
        rp.deliver(std::move(err));
      });
  return rp;
}

/// A client writes only the files it staged; the data counts against its bytes in flight.
caf::result<std::uint64_t> write_staged_for(self_pointer self, caller& from, write_staged_atom,
                                            std::uint64_t id, std::int64_t offset,
                                            byte_pieces& data) {
  auto& m = self->state.manager;
  if (!from.entry)
    return self->delegate(m, write_staged_atom_v, id, offset, std::move(data));
  if (from.entry->staged.count(id) == 0)
    return make_error(failure{EBADF, "write_staged", "", "no such staged file"});
  std::uint64_t bytes = data.total_bytes();
  if (auto refused = from.entry->allowance->reserve(bytes, "write_staged"))
    return *refused;
  auto rp = self->make_response_promise<std::uint64_t>();
  self->request(m, caf::infinite, write_staged_atom_v, id, offset, std::move(data))
    .then(
      [rp, bytes, allowance = from.entry->allowance](std::uint64_t n) mutable {
        allowance->release(bytes);
        rp.deliver(n);
      },
      [rp, bytes, allowance = from.entry->allowance](caf::error& err) mutable {
        allowance->release(bytes);
        rp.deliver(std::move(err));
      });
  return rp;
}

/// A committed file no longer counts as the client's.
caf::result<std::string> commit_staged_for(self_pointer self, caller& from, commit_staged_atom,
                                           std::uint64_t id, std::string& expected,
                                           std::string& algorithm, bool flush) {
  if (!from.entry)
    return self->delegate(self->state.manager, commit_staged_atom_v, id, std::move(expected),
                          std::move(algorithm), flush);
  if (from.entry->staged.erase(id) == 0)
    return make_error(failure{EBADF, "commit_staged", "", "no such staged file"});
  --from.entry->refs;
  return pass_on<std::string>(self, from, commit_staged_atom_v, id, std::move(expected),
                              std::move(algorithm), flush);
}

/// Discarding what the client did not stage (or no longer has) is a no-op, as a second close is.
caf::result<void> discard_staged_for(self_pointer self, caller& from, discard_staged_atom,
                                     std::uint64_t id) {
  auto& m = self->state.manager;
  if (!from.entry)
    return self->delegate(m, discard_staged_atom_v, id);
  if (from.entry->staged.erase(id) == 0)
    return caf::unit;
  --from.entry->refs;
  auto rp = self->make_response_promise<void>();
  self->request(m, caf::infinite, discard_staged_atom_v, id)
    .then([rp]() mutable { deliver_ok(rp); },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

/// Closing every map under the other clients' feet is the server's decision, not a client's.
/// The server stops: every client's references go, then the reply.
caf::result<void> shutdown_gate(self_pointer self, caller& from, shutdown_atom) {
  if (from.entry)
    return make_error(failure{EPERM, "shutdown", "", "a served manager is stopped by its server"});
  auto& st = self->state;
  st.stopping = true;
  auto rp = self->make_response_promise<void>();
  // One answer per reference, and one for the clients' end below.
  std::size_t answers = 1;
  for (auto& [node, c] : st.clients)
    for (auto& [addr, held] : c.maps)
      answers += held.refs;
  auto g =
    make_gather<std::monostate>(answers, [rp](std::vector<status>&&) mutable { deliver_ok(rp); });
  std::size_t i = 0;
  for (auto& [node, c] : st.clients) {
    for (auto& [addr, held] : c.maps) {
      for (std::size_t k = 0; k < held.refs; ++k, ++i)
        self->request(st.manager, caf::infinite, caf::close_atom_v, held.map)
          .then([g, i] { g->set(i, std::monostate{}); },
                [g, i](caf::error&) { g->set(i, std::monostate{}); });
      close_proxy(self, held.proxy, 2);
    }
    c.maps.clear();
  }
  while (!st.clients.empty())
    drop_client(self, st.clients.begin());
  for (auto& [key, run] : st.pulls)
    run.cancelled->store(true);
  g->set(i, std::monostate{});
  return rp;
}

using bulk_read_reply = per_item<byte_pieces>;

/// Sends a bulk_read whose reply was sized at `bytes` on to the manager, unless it is larger than
/// the server allows: delegated for a local requester, relayed (its bytes counted in flight) for
/// the client on `node`.
void send_sized_bulk_read(self_pointer self, caf::typed_response_promise<bulk_read_reply> rp,
                          std::vector<read_job> jobs, report_progress every, gate_state::relay who,
                          const caf::node_id& node, bool remote, std::uint64_t bytes) {
  auto limit = self->state.options.max_bulk_read_bytes;
  if (limit != 0 && bytes > limit) {
    rp.deliver(make_error(failure{EFBIG, "bulk_read", "",
                                  "the reply would hold " + std::to_string(bytes) +
                                    " bytes; this server's limit is " + std::to_string(limit)}));
    return;
  }
  if (!remote) {
    rp.delegate(self->state.manager, bulk_read_atom_v, std::move(jobs), every);
    return;
  }
  auto* c = find_client(self, node);
  if (!c) {
    rp.deliver(caf::make_error(caf::sec::request_receiver_down));
    return;
  }
  if (auto refused = c->allowance->reserve(bytes, "bulk_read")) {
    rp.deliver(*refused);
    return;
  }
  relay<bulk_read_reply>(
    self, std::move(who),
    [rp, allowance = c->allowance, bytes](caf::expected<bulk_read_reply> r) mutable {
      allowance->release(bytes);
      r ? rp.deliver(std::move(*r)) : rp.deliver(std::move(r.error()));
    },
    bulk_read_atom_v, std::move(jobs), every);
}

/// The reply's size is known only once the files are sized, a blocking stat each: that runs on
/// the worker pool, then send_sized_bulk_read decides.
caf::result<bulk_read_reply> bulk_read_for(self_pointer self, caller& from, bulk_read_atom,
                                           std::vector<read_job>& jobs, report_progress every) {
  // Taken now: the relay made once the files are sized speaks for this requester.
  auto who = requester_of(self, from.node);
  auto rp = self->make_response_promise<bulk_read_reply>();
  auto all = std::make_shared<std::vector<read_job>>(std::move(jobs));
  self->state.pool->run(
    self,
    [all, root = self->state.root]() -> result<std::uint64_t> {
      std::uint64_t total = 0;
      if (root)
        for (const auto& job : *all)
          total += reply_bytes(*root, job);
      return total;
    },
    [self, rp, all, every, who, node = from.node,
     remote = from.entry != nullptr](result<std::uint64_t> total) mutable {
      send_sized_bulk_read(self, std::move(rp), std::move(*all), every, std::move(who), node,
                           remote, total.ok() ? *total : 0);
    },
    false);
  return rp;
}

/// The payload counts against the client's bytes in flight until the manager answers.
caf::result<std::vector<result<std::uint64_t>>> bulk_write_for(self_pointer self, caller& from,
                                                               bulk_write_atom,
                                                               std::vector<write_job>& jobs,
                                                               report_progress every) {
  using reply = per_item<std::uint64_t>;
  if (!from.entry)
    return self->delegate(self->state.manager, bulk_write_atom_v, std::move(jobs), every);
  std::uint64_t bytes = 0;
  for (const auto& job : jobs)
    bytes += payload_bytes(job.chunks);
  if (auto refused = from.entry->allowance->reserve(bytes, "bulk_write"))
    return *refused;
  auto allowance = from.entry->allowance;
  auto node = from.node;
  auto who = requester_of(self, node);
  auto rp = self->make_response_promise<reply>();
  relay<reply>(
    self, std::move(who),
    [rp, allowance, bytes](caf::expected<reply> r) mutable {
      allowance->release(bytes);
      r ? rp.deliver(std::move(*r)) : rp.deliver(std::move(r.error()));
    },
    bulk_write_atom_v, std::move(jobs), every);
  return rp;
}

/// Every path may become a reference: the whole call must fit the client's maps, and each map
/// opened is handed out as a proxy.
caf::result<per_item<mapped_file_actor>> prefetch_for(self_pointer self, caller& from,
                                                      prefetch_files_atom,
                                                      std::vector<std::string>& paths,
                                                      std::int64_t size, report_progress every) {
  using reply = per_item<mapped_file_actor>;
  if (!from.entry)
    return self->delegate(self->state.manager, prefetch_files_atom_v, std::move(paths), size,
                          every);
  auto n = paths.size();
  if (auto refused = check_maps(self, *from.entry, n, "prefetch_files", ""))
    return *refused;
  from.entry->refs += n;
  auto node = from.node;
  auto who = requester_of(self, node);
  auto rp = self->make_response_promise<reply>();
  relay<reply>(
    self, std::move(who),
    [self, rp, node, n](caf::expected<reply> r) mutable {
      if (auto* c = find_client(self, node))
        c->refs -= std::min(c->refs, n);
      if (!r) {
        rp.deliver(std::move(r.error()));
        return;
      }
      for (auto& item : *r)
        if (item) {
          if (auto* c = find_client(self, node))
            ++c->refs;
          if (auto proxy = adopt(self, node, *item))
            *item = std::move(*proxy);
        }
      rp.deliver(std::move(*r));
    },
    prefetch_files_atom_v, std::move(paths), size, every);
  return rp;
}

/// The bytes of the file a pull with `opts` holds in this process at most: its reads and its
/// writes in flight. 0 for options no pull may run with.
std::uint64_t pull_bytes(const node_copy_options& opts) {
  constexpr auto most = std::numeric_limits<std::uint64_t>::max() / 2;
  if (opts.chunk_bytes == 0 || opts.window == 0 || opts.chunk_bytes > most / opts.window)
    return 0;
  return 2 * opts.window * opts.chunk_bytes;
}

/// Runs the pull on a pull worker. For a client it counts as a map held and what it holds in
/// memory as bytes in flight until it ends; its progress goes straight to the requester.
caf::result<std::uint64_t> pull_for(self_pointer self, caller& from, pull_atom, std::string& source,
                                    std::string& src, std::string& dst, node_copy_options& opts,
                                    report_progress every) {
  auto& st = self->state;
  if (!st.options.pull || !st.options.pull_workers)
    return make_error(
      failure{EPERM, "pull", dst, "this server pulls from no node (serve_options::pull_from)"});
  auto bytes = pull_bytes(opts);
  if (bytes == 0)
    return make_error(failure{EINVAL, "pull", dst, "chunk_bytes and window must be > 0"});
  std::shared_ptr<byte_allowance> allowance;
  if (from.entry) {
    if (auto refused = check_maps(self, *from.entry, 1, "pull", dst))
      return *refused;
    if (auto refused = from.entry->allowance->reserve(bytes, "pull"))
      return *refused;
    allowance = from.entry->allowance;
    ++from.entry->refs;
  }
  auto who = requester_of(self, from.node);
  auto key = ++st.pull_counter;
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  st.pulls.emplace(key, gate_state::pull_run{who, cancelled});
  std::function<void(const progress&)> report;
  if (every.every_ms > 0)
    report = [requester = who.requester, request = who.request](const progress& p) {
      caf::anon_send(requester, progress_atom_v, request, p);
    };
  auto rp = self->make_response_promise<std::uint64_t>();
  st.options.pull_workers->run(
    self,
    [run = st.options.pull,
     request = pull_request{std::move(source), std::move(src), std::move(dst), opts}, cancelled,
     every = std::chrono::milliseconds{every.every_ms},
     report] { return run(request, *cancelled, every, report); },
    [self, rp, key, allowance, bytes, node = from.node](result<std::uint64_t>&& r) mutable {
      self->state.pulls.erase(key);
      if (allowance) {
        allowance->release(bytes);
        if (auto* c = find_client(self, node))
          --c->refs;
      }
      deliver(rp, std::move(r));
    },
    false);
  return rp;
}

/// A request the gate relayed is the gate's own at the manager: it is cancelled as the gate's.
/// A pull is cancelled here. Any other is delegated, so the manager sees the client that made the
/// request it names.
void cancel_for(self_pointer self, std::uint64_t request) {
  auto& m = self->state.manager;
  auto sender = self->current_sender();
  auto asked_this = [&](const gate_state::relay& who) {
    return sender && who.request == request && who.requester.address() == sender->address();
  };
  for (auto& [id, r] : self->state.relays)
    if (asked_this(r)) {
      self->send(m, cancel_atom_v, id);
      return;
    }
  for (auto& [key, run] : self->state.pulls)
    if (asked_this(run.who)) {
      run.cancelled->store(true);
      return;
    }
  self->delegate(m, cancel_atom_v, request);
}

} // namespace

mmap_manager_actor::behavior_type gate_impl(self_pointer self, mmap_manager_actor manager,
                                            std::shared_ptr<io_worker_pool> pool,
                                            gate_options options) {
  self->state.manager = std::move(manager);
  self->state.pool = std::move(pool);
  self->state.options = std::move(options);
  if (auto root = path_sandbox::open(self->state.options.root))
    self->state.root = std::make_shared<const path_sandbox>(std::move(*root));
  self->set_default_handler([self](caf::scheduled_actor* ptr, caf::message_view& x) {
    return pass_progress(self, ptr, x);
  });
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });
  return {
    gated(self, "open", open_for),
    gated(self, "create_sparse", create_sparse_for),
    gated(self, "close", close_for),
    passed_on<std::uint64_t, copy_file_atom, std::string&, std::string&, actorio::copy_options>(
      self, "copy"),
    passed_on<std::string, checksum_atom, std::string&, std::string&>(self, "checksum"),
    passed_on<std::uint64_t, currently_open_atom>(self, "currently_open"),
    gated(self, "open_files", open_files_for),
    passed_on<std::map<std::string, open_mode>, open_paths_atom>(self, "open_paths"),
    passed_on<std::vector<map_info>, open_mmaps_atom>(self, "open_mmaps"),
    passed_on<std::uint64_t, approx_memory_usage_atom>(self, "approx_memory_usage"),
    gated(self, "stage", stage_for),
    gated(self, "write_staged", write_staged_for),
    gated(self, "commit_staged", commit_staged_for),
    gated(self, "discard_staged", discard_staged_for),
    gated(self, "shutdown", shutdown_gate),
    gated(self, "bulk_read", bulk_read_for),
    gated(self, "bulk_write", bulk_write_for),
    passed_on<per_item<std::uint64_t>, bulk_resize_atom, std::vector<resize_job>&, report_progress>(
      self, "bulk_resize"),
    passed_on<per_item<std::uint64_t>, bulk_copy_atom, std::vector<copy_job>&,
              actorio::copy_options, report_progress>(self, "bulk_copy"),
    [self](cancel_atom, std::uint64_t request) { cancel_for(self, request); },
    passed_on<per_item<std::string>, bulk_checksum_atom, path_list&, std::string&, report_progress>(
      self, "bulk_checksum"),
    passed_on<per_item<std::vector<std::uint64_t>>, find_in_files_atom, path_list&,
              std::vector<find_job>&, std::uint64_t, bool, report_progress>(self, "find_in_files"),
    passed_on<per_item<size_change>, compact_files_atom, path_list&, report_progress>(
      self, "compact_files"),
    passed_on<walk_page, walk_atom, std::string&, walk_options&, std::string&, report_progress>(
      self, "walk"),
    gated(self, "prefetch_files", prefetch_for),
    gated(self, "pull", pull_for),
  };
}

} // namespace actorio::detail
