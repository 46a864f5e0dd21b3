#include "actors/gate_actor.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
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
/// refuses what must be refused, then runs `body(from, args...)`: every request through the gate
/// passes this one check. The handler's signature is the body's, less its first parameter.
template <class F, class R, class... Args>
auto gated_as(self_pointer self, const char* op, F body, R (F::*)(caller&, Args...) const) {
  return [self, op, body = std::move(body)](Args... xs) -> R {
    auto from = identify(self, op);
    if (from.refused)
      return *from.refused;
    return body(from, std::forward<Args>(xs)...);
  };
}

template <class F>
auto gated(self_pointer self, const char* op, F body) {
  return gated_as(self, op, std::move(body), &F::operator());
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
void close_proxy(self_pointer self, const mapped_file_actor& proxy, int times = 1) {
  for (int k = 0; k < times; ++k)
    self->request(proxy, caf::infinite, caf::close_atom_v).then([] {}, [](caf::error&) {});
}

/// Closes the proxy of a map whose last reference the client released. It stays to answer
/// EBADF (a request to an actor that is gone gets no answer from CAF 0.17's network layer, only
/// the client's timeout) until it is one of more than `closed_kept` the client closed since.
void retire_proxy(self_pointer self, client& c, const mapped_file_actor& proxy) {
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
  // A client node is gone when its connection is (CAF then kills every proxy of the node) or
  // when every actor of it that talked to the gate has ended.
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& clients = self->state.clients;
    for (auto i = clients.begin(); i != clients.end(); ++i) {
      if (i->second.actors.erase(dm.source) == 0)
        continue;
      if (dm.reason == caf::exit_reason::remote_link_unreachable || i->second.actors.empty())
        drop_client(self, i);
      return;
    }
  });
  auto& m = self->state.manager;
  return {
    gated(self, "open",
          [=, &m](caller& from, caf::open_atom, std::string& path, open_mode mode,
                  std::int64_t size) -> caf::result<mapped_file_actor> {
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
          }),
    gated(self, "sparse",
          [=, &m](caller& from, create_sparse_atom, std::string& path, std::int64_t size,
                  std::vector<chunk>& chunks) -> caf::result<mapped_file_actor> {
            if (!from.entry)
              return self->delegate(m, create_sparse_atom_v, std::move(path), size,
                                    std::move(chunks));
            if (auto refused = check_maps(self, *from.entry, 1, "sparse", path))
              return *refused;
            auto bytes = payload_bytes(chunks);
            if (auto refused = from.entry->allowance->reserve(bytes, "sparse"))
              return *refused;
            auto allowance = from.entry->allowance;
            ++from.entry->refs;
            auto rp = self->make_response_promise<mapped_file_actor>();
            self
              ->request(m, caf::infinite, create_sparse_atom_v, std::move(path), size,
                        std::move(chunks))
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
          }),
    gated(self, "close",
          [=, &m](caller& from, caf::close_atom, mapped_file_actor& file) -> caf::result<void> {
            if (!from.entry)
              return self->delegate(m, caf::close_atom_v, std::move(file));
            // A client names the proxy it was given and releases only references it holds: never
            // one of another client's.
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
            // Answered once the manager has released it (so currently_open reflects it), by the
            // gate itself: the manager's answer would name the manager to the client.
            auto rp = self->make_response_promise<void>();
            self->request(m, caf::infinite, caf::close_atom_v, std::move(map))
              .then([rp]() mutable { deliver_ok(rp); },
                    [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
            return rp;
          }),
    gated(self, "copy",
          [=](caller& from, copy_file_atom, std::string& src, std::string& dst,
              actorio::copy_options opts) -> caf::result<std::uint64_t> {
            return pass_on<std::uint64_t>(self, from, copy_file_atom_v, std::move(src),
                                          std::move(dst), opts);
          }),
    gated(self, "checksum",
          [=](caller& from, checksum_atom, std::string& path,
              std::string& alg) -> caf::result<std::string> {
            return pass_on<std::string>(self, from, checksum_atom_v, std::move(path),
                                        std::move(alg));
          }),
    gated(self, "currently_open",
          [=](caller& from, currently_open_atom) -> caf::result<std::uint64_t> {
            return pass_on<std::uint64_t>(self, from, currently_open_atom_v);
          }),
    gated(self, "open_files",
          [=, &m](caller& from, open_files_atom) -> caf::result<std::vector<open_file>> {
            if (!from.entry)
              return self->delegate(m, open_files_atom_v);
            auto rp = self->make_response_promise<std::vector<open_file>>();
            self->request(m, caf::infinite, open_files_atom_v)
              .then(
                [self, rp, node = from.node](std::vector<open_file>& files) mutable {
                  // Every entry is a new reference: all count, or none is handed out.
                  auto* c = find_client(self, node);
                  auto refused = c ? check_maps(self, *c, files.size(), "open_files", "")
                                   : std::optional<caf::error>{};
                  if (!c || refused) {
                    for (auto& f : files)
                      release(self, f.file);
                    rp.deliver(refused ? *refused
                                       : caf::make_error(caf::sec::request_receiver_down));
                    return;
                  }
                  c->refs += files.size();
                  for (auto& f : files)
                    f.file = *adopt(self, node, f.file);
                  rp.deliver(std::move(files));
                },
                [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
            return rp;
          }),
    gated(self, "open_paths",
          [=](caller& from, open_paths_atom) -> caf::result<std::map<std::string, open_mode>> {
            return pass_on<std::map<std::string, open_mode>>(self, from, open_paths_atom_v);
          }),
    gated(self, "open_mmaps",
          [=](caller& from, open_mmaps_atom) -> caf::result<std::vector<map_info>> {
            return pass_on<std::vector<map_info>>(self, from, open_mmaps_atom_v);
          }),
    gated(self, "approx_memory_usage",
          [=](caller& from, approx_memory_usage_atom) -> caf::result<std::uint64_t> {
            return pass_on<std::uint64_t>(self, from, approx_memory_usage_atom_v);
          }),
    gated(self, "stage",
          [=, &m](caller& from, stage_atom, std::string& dst) -> caf::result<std::uint64_t> {
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
          }),
    gated(self, "stage_write",
          [=, &m](caller& from, write_staged_atom, std::uint64_t id, std::int64_t offset,
                  byte_pieces& data) -> caf::result<std::uint64_t> {
            if (!from.entry)
              return self->delegate(m, write_staged_atom_v, id, offset, std::move(data));
            // A client writes only the files it staged.
            if (from.entry->staged.count(id) == 0)
              return make_error(failure{EBADF, "stage_write", "", "no such staged file"});
            std::uint64_t bytes = data.total_bytes();
            if (auto refused = from.entry->allowance->reserve(bytes, "stage_write"))
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
          }),
    gated(self, "commit",
          [=, &m](caller& from, commit_staged_atom, std::uint64_t id, std::string& expected,
                  std::string& algorithm) -> caf::result<std::string> {
            if (!from.entry)
              return self->delegate(m, commit_staged_atom_v, id, std::move(expected),
                                    std::move(algorithm));
            if (from.entry->staged.erase(id) == 0)
              return make_error(failure{EBADF, "commit", "", "no such staged file"});
            --from.entry->refs;
            return pass_on<std::string>(self, from, commit_staged_atom_v, id, std::move(expected),
                                        std::move(algorithm));
          }),
    gated(self, "discard",
          [=, &m](caller& from, discard_staged_atom, std::uint64_t id) -> caf::result<void> {
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
          }),
    gated(self, "shutdown",
          [=](caller& from, shutdown_atom) -> caf::result<void> {
            // Closing every map under the other clients' feet is the server's decision, not a
            // client's.
            if (from.entry)
              return make_error(
                failure{EPERM, "shutdown", "", "a served manager is stopped by its server"});
            // The server stops: every client's references go, then the reply.
            auto& st = self->state;
            st.stopping = true;
            auto rp = self->make_response_promise<void>();
            // One answer per reference, and one for the clients' end below.
            std::size_t answers = 1;
            for (auto& [node, c] : st.clients)
              for (auto& [addr, held] : c.maps)
                answers += held.refs;
            auto g = make_gather<std::monostate>(
              answers, [rp](std::vector<status>&&) mutable { deliver_ok(rp); });
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
            g->set(i, std::monostate{});
            return rp;
          }),
    gated(self, "bulk_read",
          [=](caller& from, bulk_read_atom, std::vector<read_job>& jobs,
              report_progress every) -> caf::result<std::vector<result<byte_pieces>>> {
            using reply = std::vector<result<byte_pieces>>;
            // Taken now: the relay made once the files are sized speaks for this requester.
            auto who = requester_of(self, from.node);
            auto rp = self->make_response_promise<reply>();
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
                auto limit = self->state.options.max_bulk_read_bytes;
                auto bytes = total.ok() ? *total : 0;
                if (limit != 0 && bytes > limit) {
                  rp.deliver(make_error(failure{EFBIG, "bulk_read", "",
                                                "the reply would hold " + std::to_string(bytes) +
                                                  " bytes; this server's limit is " +
                                                  std::to_string(limit)}));
                  return;
                }
                if (!remote) {
                  rp.delegate(self->state.manager, bulk_read_atom_v, std::move(*all), every);
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
                relay<reply>(
                  self, who,
                  [rp, allowance = c->allowance, bytes](caf::expected<reply> r) mutable {
                    allowance->release(bytes);
                    r ? rp.deliver(std::move(*r)) : rp.deliver(std::move(r.error()));
                  },
                  bulk_read_atom_v, std::move(*all), every);
              },
              false);
            return rp;
          }),
    gated(self, "bulk_write",
          [=, &m](caller& from, bulk_write_atom, std::vector<write_job>& jobs,
                  report_progress every) -> caf::result<std::vector<result<std::uint64_t>>> {
            using reply = std::vector<result<std::uint64_t>>;
            if (!from.entry)
              return self->delegate(m, bulk_write_atom_v, std::move(jobs), every);
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
          }),
    gated(self, "bulk_resize",
          [=](caller& from, bulk_resize_atom, std::vector<resize_job>& jobs,
              report_progress every) -> caf::result<std::vector<result<std::uint64_t>>> {
            return pass_on<std::vector<result<std::uint64_t>>>(self, from, bulk_resize_atom_v,
                                                               std::move(jobs), every);
          }),
    gated(self, "bulk_copy",
          [=](caller& from, bulk_copy_atom, std::vector<copy_job>& jobs, actorio::copy_options opts,
              report_progress every) -> caf::result<std::vector<result<std::uint64_t>>> {
            return pass_on<std::vector<result<std::uint64_t>>>(self, from, bulk_copy_atom_v,
                                                               std::move(jobs), opts, every);
          }),
    [=, &m](cancel_atom, std::uint64_t request) {
      // A request the gate relayed is the gate's own at the manager: cancel it as the gate.
      auto sender = self->current_sender();
      for (auto& [id, r] : self->state.relays)
        if (sender && r.request == request && r.requester.address() == sender->address()) {
          self->send(m, cancel_atom_v, id);
          return;
        }
      // Otherwise delegated, so the manager sees the client that made the request it names.
      self->delegate(m, cancel_atom_v, request);
    },
    gated(self, "bulk_checksum",
          [=](caller& from, bulk_checksum_atom, std::vector<std::string>& paths, std::string& alg,
              report_progress every) -> caf::result<std::vector<result<std::string>>> {
            return pass_on<std::vector<result<std::string>>>(
              self, from, bulk_checksum_atom_v, std::move(paths), std::move(alg), every);
          }),
    gated(
      self, "find_in_files",
      [=](caller& from, find_in_files_atom, std::vector<std::string>& patterns,
          std::vector<find_job>& jobs, std::uint64_t max, bool overlapping,
          report_progress every) -> caf::result<std::vector<result<std::vector<std::uint64_t>>>> {
        return pass_on<std::vector<result<std::vector<std::uint64_t>>>>(
          self, from, find_in_files_atom_v, std::move(patterns), std::move(jobs), max, overlapping,
          every);
      }),
    gated(self, "compact_files",
          [=](caller& from, compact_files_atom, std::vector<std::string>& paths,
              report_progress every) -> caf::result<std::vector<result<size_change>>> {
            return pass_on<std::vector<result<size_change>>>(self, from, compact_files_atom_v,
                                                             std::move(paths), every);
          }),
    gated(self, "walk",
          [=](caller& from, walk_atom, std::string& path, walk_options& opts, std::string& after,
              report_progress every) -> caf::result<walk_page> {
            return pass_on<walk_page>(self, from, walk_atom_v, std::move(path), std::move(opts),
                                      std::move(after), every);
          }),
    gated(self, "prefetch",
          [=, &m](caller& from, prefetch_files_atom, std::vector<std::string>& paths,
                  std::int64_t size,
                  report_progress every) -> caf::result<std::vector<result<mapped_file_actor>>> {
            using reply = std::vector<result<mapped_file_actor>>;
            if (!from.entry)
              return self->delegate(m, prefetch_files_atom_v, std::move(paths), size, every);
            // Every path may become a reference: the whole call must fit.
            auto n = paths.size();
            if (auto refused = check_maps(self, *from.entry, n, "prefetch", ""))
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
          }),
  };
}

} // namespace actorio::detail
