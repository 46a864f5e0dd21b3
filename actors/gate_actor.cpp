#include "actors/gate_actor.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <optional>

#include "actorio/messages/error.hpp"
#include "actors/reply.hpp"
#include "lib/src/file_scan.hpp"

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
    if (st.options.on_connect)
      st.options.on_connect(c.name);
  }
  if (c.actors.insert(sender->address()).second)
    self->monitor(sender);
  return {&c, sender->node(), std::nullopt};
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

/// Counts `file` as held by the client on `node`, whose open was counted in `refs` already; a
/// client gone meanwhile cannot release it, so it is released at once.
void adopt(self_pointer self, const caf::node_id& node, const mapped_file_actor& file) {
  auto* c = find_client(self, node);
  if (!c) {
    release(self, file);
    return;
  }
  auto& held = c->maps[file.address()];
  held.first = file;
  ++held.second;
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

/// Reserves `bytes` of the client's allowance for data in flight: EFBIG for a request larger
/// than the whole allowance, EAGAIN while earlier requests hold too much of it.
std::optional<caf::error> reserve_bytes(self_pointer self, client& c, std::uint64_t bytes,
                                        const char* op) {
  auto limit = self->state.options.max_bytes_in_flight;
  if (limit != 0 && bytes > limit)
    return make_error(failure{EFBIG, op, "",
                              "the request moves " + std::to_string(bytes) +
                                " bytes; this server allows " + std::to_string(limit) +
                                " in flight per client"});
  if (limit != 0 && c.bytes_in_flight + bytes > limit)
    return make_error(failure{EAGAIN, op, "",
                              std::to_string(c.bytes_in_flight) +
                                " bytes of this client's earlier requests are in flight; the "
                                "server allows " +
                                std::to_string(limit) + " (retry once they are done)"});
  c.bytes_in_flight += bytes;
  return std::nullopt;
}

void unreserve_bytes(self_pointer self, const caf::node_id& node, std::uint64_t bytes) {
  if (auto* c = find_client(self, node))
    c->bytes_in_flight -= std::min(c->bytes_in_flight, bytes);
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

/// Forgets a client node: every reference it held is released, its relayed bulk work cancelled.
void drop_client(self_pointer self, std::map<caf::node_id, client>::iterator i) {
  auto& st = self->state;
  for (auto& [addr, held] : i->second.maps)
    release(self, held.first, held.second);
  for (auto& [id, r] : st.relays)
    if (r.node == i->first)
      self->send(st.manager, cancel_atom_v, id);
  auto name = std::move(i->second.name);
  st.clients.erase(i);
  if (st.options.on_disconnect)
    st.options.on_disconnect(name);
}

/// The bytes `job` would return, from the file's size now. A file that cannot be sized counts 0:
/// the manager reports its error. Paths that leave the root are not looked at (the manager
/// refuses them), so the answer says nothing about files outside it.
std::uint64_t reply_bytes(const std::filesystem::path& root, const read_job& job) {
  auto full = (root / job.path).lexically_normal();
  auto inside = full.lexically_relative(root);
  if (inside.empty() || *inside.begin() == "..")
    return 0;
  struct stat st {};
  if (::stat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return 0;
  auto size = static_cast<std::uint64_t>(st.st_size);
  if (job.whole)
    return size;
  std::uint64_t total = 0;
  for (const auto& r : job.ranges)
    total += range_length(r.offset, r.size, size);
  return total;
}

std::uint64_t payload_bytes(const std::vector<chunk>& chunks) {
  std::uint64_t total = 0;
  for (const auto& c : chunks)
    total += c.data.size();
  return total;
}

/// Passes the manager's progress reports for relayed requests on to their requesters; drops
/// (answering requests with an error) whatever else the interface does not name.
caf::result<caf::message> pass_progress(self_pointer self, caf::scheduled_actor* ptr,
                                        caf::message_view& x) {
  auto msg = x.copy_content_to_message();
  if (!self->current_sender() && msg.match_elements<progress_atom, std::uint64_t, progress>()) {
    if (auto i = self->state.relays.find(msg.get_as<std::uint64_t>(1));
        i != self->state.relays.end())
      caf::anon_send(i->second.requester, progress_atom_v, i->second.request,
                     msg.get_as<progress>(2));
    return caf::message{};
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
    [=, &m](caf::open_atom, std::string& path, std::string& mode,
            std::int64_t size) -> caf::result<mapped_file_actor> {
      auto from = identify(self, "open");
      if (from.refused)
        return *from.refused;
      if (!from.entry)
        return self->delegate(m, caf::open_atom_v, std::move(path), std::move(mode), size);
      if (auto refused = check_maps(self, *from.entry, 1, "open", path))
        return *refused;
      ++from.entry->refs;
      auto rp = self->make_response_promise<mapped_file_actor>();
      self->request(m, caf::infinite, caf::open_atom_v, std::move(path), std::move(mode), size)
        .then(
          [self, rp, node = from.node](mapped_file_actor& file) mutable {
            adopt(self, node, file);
            rp.deliver(std::move(file));
          },
          [self, rp, node = from.node](caf::error& err) mutable {
            if (auto* c = find_client(self, node))
              --c->refs;
            rp.deliver(std::move(err));
          });
      return rp;
    },
    [=, &m](sparse_atom, std::string& path, std::int64_t size,
            std::vector<chunk>& chunks) -> caf::result<mapped_file_actor> {
      auto from = identify(self, "sparse");
      if (from.refused)
        return *from.refused;
      if (!from.entry)
        return self->delegate(m, sparse_atom_v, std::move(path), size, std::move(chunks));
      if (auto refused = check_maps(self, *from.entry, 1, "sparse", path))
        return *refused;
      auto bytes = payload_bytes(chunks);
      if (auto refused = reserve_bytes(self, *from.entry, bytes, "sparse"))
        return *refused;
      ++from.entry->refs;
      auto rp = self->make_response_promise<mapped_file_actor>();
      self->request(m, caf::infinite, sparse_atom_v, std::move(path), size, std::move(chunks))
        .then(
          [self, rp, bytes, node = from.node](mapped_file_actor& file) mutable {
            unreserve_bytes(self, node, bytes);
            adopt(self, node, file);
            rp.deliver(std::move(file));
          },
          [self, rp, bytes, node = from.node](caf::error& err) mutable {
            unreserve_bytes(self, node, bytes);
            if (auto* c = find_client(self, node))
              --c->refs;
            rp.deliver(std::move(err));
          });
      return rp;
    },
    [=, &m](caf::close_atom, mapped_file_actor& file) -> caf::result<void> {
      auto from = identify(self, "close");
      if (from.refused)
        return *from.refused;
      if (from.entry) {
        // A client releases only references it holds: never one of another client's.
        auto& held = from.entry->maps;
        auto i = held.find(file.address());
        if (i == held.end())
          return caf::unit;
        if (--i->second.second == 0)
          held.erase(i);
        --from.entry->refs;
      }
      return self->delegate(m, caf::close_atom_v, std::move(file));
    },
    [=, &m](copy_atom, std::string& src, std::string& dst, bool flush,
            bool verify) -> caf::result<std::uint64_t> {
      if (auto from = identify(self, "copy"); from.refused)
        return *from.refused;
      return self->delegate(m, copy_atom_v, std::move(src), std::move(dst), flush, verify);
    },
    [=, &m](digest_atom, std::string& path, std::string& alg) -> caf::result<std::string> {
      if (auto from = identify(self, "checksum"); from.refused)
        return *from.refused;
      return self->delegate(m, digest_atom_v, std::move(path), std::move(alg));
    },
    [=, &m](count_atom) -> caf::result<std::uint64_t> {
      if (auto from = identify(self, "currently_open"); from.refused)
        return *from.refused;
      return self->delegate(m, count_atom_v);
    },
    [=, &m](files_atom) -> caf::result<std::vector<open_file>> {
      auto from = identify(self, "open_files");
      if (from.refused)
        return *from.refused;
      if (!from.entry)
        return self->delegate(m, files_atom_v);
      auto rp = self->make_response_promise<std::vector<open_file>>();
      self->request(m, caf::infinite, files_atom_v)
        .then(
          [self, rp, node = from.node](std::vector<open_file>& files) mutable {
            // Every entry is a new reference: all count, or none is handed out.
            auto* c = find_client(self, node);
            auto refused = c ? check_maps(self, *c, files.size(), "open_files", "")
                             : std::optional<caf::error>{};
            if (!c || refused) {
              for (auto& f : files)
                release(self, f.file);
              rp.deliver(refused ? *refused : caf::make_error(caf::sec::request_receiver_down));
              return;
            }
            c->refs += files.size();
            for (auto& f : files)
              adopt(self, node, f.file);
            rp.deliver(std::move(files));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [=, &m](paths_atom) -> caf::result<std::map<std::string, std::string>> {
      if (auto from = identify(self, "open_paths"); from.refused)
        return *from.refused;
      return self->delegate(m, paths_atom_v);
    },
    [=, &m](mmaps_atom) -> caf::result<std::vector<map_info>> {
      if (auto from = identify(self, "open_mmaps"); from.refused)
        return *from.refused;
      return self->delegate(m, mmaps_atom_v);
    },
    [=, &m](memuse_atom) -> caf::result<std::uint64_t> {
      if (auto from = identify(self, "approx_memory_usage"); from.refused)
        return *from.refused;
      return self->delegate(m, memuse_atom_v);
    },
    [=](shutdown_atom) -> caf::result<void> {
      auto from = identify(self, "shutdown");
      if (from.refused)
        return *from.refused;
      // Closing every map under the other clients' feet is the server's decision, not a client's.
      if (from.entry)
        return make_error(
          failure{EPERM, "shutdown", "", "a served manager is stopped by its server"});
      // The server stops: every client's references go, then the reply.
      auto& st = self->state;
      st.stopping = true;
      auto rp = self->make_response_promise<void>();
      auto pending = std::make_shared<std::size_t>(1);
      auto one_done = [rp, pending]() mutable {
        if (--*pending == 0)
          deliver_ok(rp);
      };
      for (auto& [node, c] : st.clients) {
        for (auto& [addr, held] : c.maps)
          for (std::size_t k = 0; k < held.second; ++k) {
            ++*pending;
            self->request(st.manager, caf::infinite, caf::close_atom_v, held.first)
              .then(one_done, [one_done](caf::error&) mutable { one_done(); });
          }
        c.maps.clear();
      }
      while (!st.clients.empty())
        drop_client(self, st.clients.begin());
      one_done();
      return rp;
    },
    [=](bulk_read_atom, std::vector<read_job>& jobs,
        report_progress every) -> caf::result<std::vector<result<std::vector<bytes>>>> {
      using reply = std::vector<result<std::vector<bytes>>>;
      auto from = identify(self, "bulk_read");
      if (from.refused)
        return *from.refused;
      // Taken now: the relay made once the files are sized speaks for this requester.
      auto who = requester_of(self, from.node);
      auto rp = self->make_response_promise<reply>();
      auto all = std::make_shared<std::vector<read_job>>(std::move(jobs));
      std::filesystem::path root{self->state.options.root};
      self->state.pool->run(
        self,
        [all, root]() -> result<std::uint64_t> {
          std::uint64_t total = 0;
          for (const auto& job : *all)
            total += reply_bytes(root, job);
          return total;
        },
        [self, rp, all, every, who, node = from.node,
         remote = from.entry != nullptr](result<std::uint64_t> total) mutable {
          auto limit = self->state.options.max_bulk_read_bytes;
          auto bytes = total.ok() ? *total : 0;
          if (limit != 0 && bytes > limit) {
            rp.deliver(
              make_error(failure{EFBIG, "bulk_read", "",
                                 "the reply would hold " + std::to_string(bytes) +
                                   " bytes; this server's limit is " + std::to_string(limit)}));
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
          if (auto refused = reserve_bytes(self, *c, bytes, "bulk_read")) {
            rp.deliver(*refused);
            return;
          }
          relay<reply>(
            self, who,
            [self, rp, node, bytes](caf::expected<reply> r) mutable {
              unreserve_bytes(self, node, bytes);
              r ? rp.deliver(std::move(*r)) : rp.deliver(std::move(r.error()));
            },
            bulk_read_atom_v, std::move(*all), every);
        },
        false);
      return rp;
    },
    [=, &m](bulk_write_atom, std::vector<write_job>& jobs,
            report_progress every) -> caf::result<std::vector<result<std::uint64_t>>> {
      using reply = std::vector<result<std::uint64_t>>;
      auto from = identify(self, "bulk_write");
      if (from.refused)
        return *from.refused;
      if (!from.entry)
        return self->delegate(m, bulk_write_atom_v, std::move(jobs), every);
      std::uint64_t bytes = 0;
      for (const auto& job : jobs)
        bytes += payload_bytes(job.chunks);
      if (auto refused = reserve_bytes(self, *from.entry, bytes, "bulk_write"))
        return *refused;
      auto node = from.node;
      auto who = requester_of(self, node);
      auto rp = self->make_response_promise<reply>();
      relay<reply>(
        self, std::move(who),
        [self, rp, node, bytes](caf::expected<reply> r) mutable {
          unreserve_bytes(self, node, bytes);
          r ? rp.deliver(std::move(*r)) : rp.deliver(std::move(r.error()));
        },
        bulk_write_atom_v, std::move(jobs), every);
      return rp;
    },
    [=, &m](bulk_resize_atom, std::vector<resize_job>& jobs,
            report_progress every) -> caf::result<std::vector<result<std::uint64_t>>> {
      if (auto from = identify(self, "bulk_resize"); from.refused)
        return *from.refused;
      return self->delegate(m, bulk_resize_atom_v, std::move(jobs), every);
    },
    [=, &m](bulk_copy_atom, std::vector<copy_job>& jobs, bool flush, bool verify,
            report_progress every) -> caf::result<std::vector<result<std::uint64_t>>> {
      if (auto from = identify(self, "bulk_copy"); from.refused)
        return *from.refused;
      return self->delegate(m, bulk_copy_atom_v, std::move(jobs), flush, verify, every);
    },
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
    [=, &m](bulk_digest_atom, std::vector<std::string>& paths, std::string& alg,
            report_progress every) -> caf::result<std::vector<result<std::string>>> {
      if (auto from = identify(self, "bulk_checksum"); from.refused)
        return *from.refused;
      return self->delegate(m, bulk_digest_atom_v, std::move(paths), std::move(alg), every);
    },
    [=, &m](find_files_atom, bytes& pattern, std::vector<find_job>& jobs, std::uint64_t max,
            bool overlapping,
            report_progress every) -> caf::result<std::vector<result<std::vector<std::uint64_t>>>> {
      if (auto from = identify(self, "find_in_files"); from.refused)
        return *from.refused;
      return self->delegate(m, find_files_atom_v, std::move(pattern), std::move(jobs), max,
                            overlapping, every);
    },
    [=, &m](compact_files_atom, std::vector<std::string>& paths,
            report_progress every) -> caf::result<std::vector<result<std::uint64_t>>> {
      if (auto from = identify(self, "compact_files"); from.refused)
        return *from.refused;
      return self->delegate(m, compact_files_atom_v, std::move(paths), every);
    },
    [=, &m](prefetch_atom, std::vector<std::string>& paths, std::int64_t size,
            report_progress every) -> caf::result<std::vector<result<mapped_file_actor>>> {
      using reply = std::vector<result<mapped_file_actor>>;
      auto from = identify(self, "prefetch");
      if (from.refused)
        return *from.refused;
      if (!from.entry)
        return self->delegate(m, prefetch_atom_v, std::move(paths), size, every);
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
              adopt(self, node, *item);
            }
          rp.deliver(std::move(*r));
        },
        prefetch_atom_v, std::move(paths), size, every);
      return rp;
    },
  };
}

} // namespace actorio::detail
