#include "actors/mmap_manager_actor.hpp"

#include <filesystem>

#include "actors/mapped_file_actor.hpp"
#include "actors/reply.hpp"
#include "lib/src/digest.hpp"
#include "lib/src/file_copy.hpp"
#include "lib/src/mapped_region.hpp"

namespace actorio::detail {

namespace {

using self_pointer = mmap_manager_actor::stateful_pointer<mmap_manager_state>;
using file_promise = caf::typed_response_promise<mapped_file_actor>;

result<std::string> resolve(const mmap_manager_state& st, const std::string& path, const char* op) {
  if (path.empty())
    return failure{ENOENT, op, path, "empty path"};
  std::filesystem::path p{path};
  if (p.is_relative())
    p = std::filesystem::path{st.options.root} / p;
  return p.lexically_normal().string();
}

/// Forgets one reference to `file`; the last one closes the map. `done` gets the close status.
template <class Done>
void release(self_pointer self, const caf::actor_addr& addr, Done done) {
  auto& st = self->state;
  auto k = st.keys.find(addr);
  if (k == st.keys.end()) {
    done(ok_status()); // Already closed: releasing is idempotent.
    return;
  }
  auto e = st.maps.find(k->second);
  if (--e->second.refs > 0) {
    done(ok_status());
    return;
  }
  auto file = e->second.file;
  auto path = e->first.path;
  st.maps.erase(e);
  st.keys.erase(k);
  self->request(file, caf::infinite, caf::close_atom_v)
    .then([done]() mutable { done(ok_status()); },
          [done, path](caf::error& err) mutable { done(to_failure(err, "close", path)); });
}

/// Delivers `file` to `rp` once the file is at least `init_size` bytes. The caller has already
/// counted the reference; it is released again if growing fails.
void hand_out(self_pointer self, file_promise rp, const mapped_file_actor& file,
              std::int64_t init_size) {
  if (init_size <= 0) {
    rp.deliver(file);
    return;
  }
  self->request(file, caf::infinite, grow_atom_v, init_size)
    .then([rp, file](std::uint64_t) mutable { rp.deliver(file); },
          [self, rp, file](caf::error& err) mutable {
            release(self, file.address(), [](status&&) {});
            rp.deliver(std::move(err));
          });
}

/// Registers a freshly opened region under `key` and serves every open waiting for it.
void finish_open(self_pointer self, const map_key& key, result<std::shared_ptr<mapped_region>> r) {
  auto& st = self->state;
  auto node = st.opening.extract(key);
  auto waiters =
    node.empty() ? std::vector<mmap_manager_state::waiter>{} : std::move(node.mapped());
  if (!r) {
    for (auto& w : waiters)
      w.promise.deliver(make_error(r.error()));
    return;
  }
  auto file = self->spawn<caf::monitored>(mapped_file_impl, std::move(r).value(), st.pool,
                                          st.options.default_digest);
  st.maps[key] = mmap_manager_state::entry{file, waiters.size(), ++st.open_counter};
  st.keys[file.address()] = key;
  for (auto& w : waiters)
    hand_out(self, std::move(w.promise), file, w.init_size);
}

/// Opens `key` on a worker with `open_fn` (returning result<mapped_region>), or joins an open of
/// the same key that is under way.
template <class OpenFn>
file_promise start_open(self_pointer self, const map_key& key, std::int64_t init_size,
                        OpenFn open_fn) {
  auto rp = self->make_response_promise<mapped_file_actor>();
  auto& waiters = self->state.opening[key];
  waiters.push_back({rp, init_size});
  if (waiters.size() > 1)
    return rp;
  self->state.pool->run(
    self,
    [open_fn = std::move(open_fn)]() mutable -> result<std::shared_ptr<mapped_region>> {
      auto r = open_fn();
      if (!r)
        return std::move(r).error();
      return std::make_shared<mapped_region>(std::move(r).value());
    },
    [self, key](result<std::shared_ptr<mapped_region>>&& r) {
      finish_open(self, key, std::move(r));
    },
    false);
  return rp;
}

/// Asks every open map for its info and calls `done(std::vector<map_info>)` with the answers;
/// a map that closes meanwhile is left out.
template <class Done>
void collect_infos(self_pointer self, Done done) {
  struct gather {
    std::size_t pending;
    std::vector<map_info> infos;
    Done done;
  };
  auto& maps = self->state.maps;
  if (maps.empty()) {
    done(std::vector<map_info>{});
    return;
  }
  auto g = std::make_shared<gather>(gather{maps.size(), {}, std::move(done)});
  auto finish_one = [g] {
    if (--g->pending == 0)
      g->done(std::move(g->infos));
  };
  for (auto& [key, e] : maps)
    self->request(e.file, caf::infinite, info_atom_v)
      .then(
        [g, finish_one](map_info& info) {
          g->infos.push_back(std::move(info));
          finish_one();
        },
        [finish_one](caf::error&) { finish_one(); });
}

} // namespace

mmap_manager_state::~mmap_manager_state() {
  for (auto& [key, e] : maps)
    caf::anon_send_exit(e.file, caf::exit_reason::user_shutdown);
}

mmap_manager_actor::behavior_type mmap_manager_impl(self_pointer self,
                                                    std::shared_ptr<io_worker_pool> pool,
                                                    mmap_manager_options options) {
  self->state.pool = std::move(pool);
  self->state.options = std::move(options);
  self->set_down_handler([self](caf::down_msg& dm) {
    // A map whose actor died (e.g. an exception) leaves the registry; calls on its handles then
    // fail with "receiver down" instead of hanging.
    auto& st = self->state;
    auto k = st.keys.find(dm.source);
    if (k == st.keys.end())
      return;
    st.maps.erase(k->second);
    st.keys.erase(k);
  });
  return {
    [=](caf::open_atom, const std::string& path, const std::string& mode_text,
        std::int64_t init_size) -> caf::result<mapped_file_actor> {
      auto mode = parse_open_mode(mode_text);
      if (!mode) {
        auto why = mode.error();
        why.path = path;
        return make_error(why);
      }
      if (init_size < 0)
        return make_error(failure{EINVAL, "open", path, "negative init_size"});
      auto resolved = resolve(self->state, path, "open");
      if (!resolved)
        return make_error(resolved.error());
      map_key key{*resolved, mode_text};
      auto& st = self->state;
      if (auto i = st.maps.find(key); i != st.maps.end()) {
        ++i->second.refs;
        auto rp = self->make_response_promise<mapped_file_actor>();
        hand_out(self, rp, i->second.file, init_size);
        return rp;
      }
      bool minimize = st.options.minimize_writes;
      return start_open(self, key, init_size, [key, m = *mode, init_size, minimize] {
        return mapped_region::open(key.path, m, init_size, minimize);
      });
    },
    [=](sparse_atom, const std::string& path, std::int64_t total_size,
        std::vector<sparse_chunk>& chunks) -> caf::result<mapped_file_actor> {
      if (total_size < 0)
        return make_error(failure{EINVAL, "create_sparse", path, "negative total_size"});
      for (auto& c : chunks)
        if (c.offset < 0)
          return make_error(failure{EINVAL, "create_sparse", path, "negative chunk offset"});
      auto resolved = resolve(self->state, path, "create_sparse");
      if (!resolved)
        return make_error(resolved.error());
      map_key key{*resolved, "x+b"};
      auto& st = self->state;
      if (st.maps.count(key) > 0 || st.opening.count(key) > 0)
        return make_error(failure{EEXIST, "create_sparse", path, "open as x+b"});
      bool minimize = st.options.minimize_writes;
      return start_open(self, key, 0, [key, total_size, chunks = std::move(chunks), minimize]() {
        auto r = mapped_region::open(key.path, open_mode::create_exclusive, total_size, minimize);
        if (!r)
          return r;
        // Only the pages a chunk touches get blocks; the rest of the file stays a hole.
        for (auto& c : chunks) {
          if (auto w = r->write(c.data.data(), c.data.size(), c.offset); !w) {
            r->close();
            ::unlink(key.path.c_str());
            return result<mapped_region>{std::move(w).error()};
          }
        }
        return r;
      });
    },
    [=](caf::close_atom, const mapped_file_actor& file) -> caf::result<void> {
      auto rp = self->make_response_promise<void>();
      release(self, file.address(), [rp](status&& st) mutable { deliver(rp, std::move(st)); });
      return rp;
    },
    [=](copy_atom, const std::string& src, const std::string& dst,
        bool flush) -> caf::result<std::uint64_t> {
      auto s = resolve(self->state, src, "copy");
      if (!s)
        return make_error(s.error());
      auto d = resolve(self->state, dst, "copy");
      if (!d)
        return make_error(d.error());
      auto rp = self->make_response_promise<std::uint64_t>();
      self->state.pool->run(
        self,
        [s = *s, d = *d, flush] {
          return copy_file(s, d, copy_options{.overwrite = false, .flush = flush});
        },
        [rp](result<std::uint64_t>&& r) mutable { deliver(rp, std::move(r)); }, false);
      return rp;
    },
    [=](digest_atom, const std::string& path,
        const std::string& algorithm) -> caf::result<std::string> {
      auto p = resolve(self->state, path, "checksum");
      if (!p)
        return make_error(p.error());
      auto alg = algorithm.empty() ? self->state.options.default_digest : algorithm;
      auto rp = self->make_response_promise<std::string>();
      self->state.pool->run(
        self, [p = *p, alg] { return digest_file(p, alg); },
        [rp](result<std::string>&& r) mutable { deliver(rp, std::move(r)); }, false);
      return rp;
    },
    [=](count_atom) -> caf::result<std::uint64_t> { return self->state.maps.size(); },
    [=](files_atom) -> caf::result<std::vector<open_file>> {
      std::vector<open_file> out;
      for (auto& [key, e] : self->state.maps) {
        ++e.refs;
        out.push_back(open_file{key.path, key.mode, e.file});
      }
      return out;
    },
    [=](paths_atom) -> caf::result<std::map<std::string, std::string>> {
      std::map<std::string, std::pair<std::uint64_t, std::string>> latest;
      for (auto& [key, e] : self->state.maps) {
        auto& slot = latest[key.path];
        if (e.opened_at >= slot.first)
          slot = {e.opened_at, key.mode};
      }
      std::map<std::string, std::string> out;
      for (auto& [path, v] : latest)
        out.emplace(path, v.second);
      return out;
    },
    [=](mmaps_atom) -> caf::result<std::vector<map_info>> {
      auto rp = self->make_response_promise<std::vector<map_info>>();
      collect_infos(self, [rp](std::vector<map_info>&& infos) mutable { rp.deliver(infos); });
      return rp;
    },
    [=](memuse_atom) -> caf::result<std::uint64_t> {
      auto rp = self->make_response_promise<std::uint64_t>();
      collect_infos(self, [rp](std::vector<map_info>&& infos) mutable {
        std::uint64_t total = 0;
        for (auto& i : infos)
          total += i.size;
        rp.deliver(total);
      });
      return rp;
    },
    [=](shutdown_atom) -> caf::result<void> {
      auto rp = self->make_response_promise<void>();
      auto& st = self->state;
      if (st.maps.empty()) {
        deliver_ok(rp);
        return rp;
      }
      struct gather {
        std::size_t pending;
        std::optional<failure> first_error;
      };
      auto g = std::make_shared<gather>(gather{st.maps.size(), std::nullopt});
      for (auto& [key, e] : st.maps) {
        self->request(e.file, caf::infinite, caf::close_atom_v)
          .then(
            [g, rp]() mutable {
              if (--g->pending == 0)
                g->first_error ? void(rp.deliver(make_error(*g->first_error))) : deliver_ok(rp);
            },
            [g, rp, path = key.path](caf::error& err) mutable {
              if (!g->first_error)
                g->first_error = to_failure(err, "close", path);
              if (--g->pending == 0)
                rp.deliver(make_error(*g->first_error));
            });
      }
      st.maps.clear();
      st.keys.clear();
      return rp;
    },
  };
}

} // namespace actorio::detail
