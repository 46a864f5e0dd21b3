#include "actors/mapped_file_actor.hpp"

#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string_view>

#include <sys/mman.h>

#include "actors/reply.hpp"
#include "io/src/byte_distance.hpp"
#include "io/src/digest.hpp"
#include "io/src/utf8.hpp"

namespace actorio::detail {

namespace {

using self_pointer = mapped_file_class*;

std::string_view view(const bytes& b) {
  return {b.data(), b.size()};
}

/// Runs `op(region)` on a worker, holding the map exclusively, and answers `rp` with its result;
/// no other message is handled in between.
template <class Promise, class Op>
void serve_into(self_pointer self, Promise rp, Op op) {
  auto map = self->state.map;
  map->pending.fetch_add(1, std::memory_order_acq_rel);
  self->state.pool->run(
    self,
    [map, op = std::move(op)]() mutable {
      std::unique_lock<sharded_rw_lock> guard{map->lock};
      return op(*map->region);
    },
    [rp, map](auto&& r) mutable {
      map->pending.fetch_sub(1, std::memory_order_acq_rel);
      deliver(rp, std::move(r));
    },
    true);
}

/// As serve_into, with a new promise for the current request.
template <class... Ts, class Op>
caf::typed_response_promise<Ts...> serve(self_pointer self, Op op) {
  auto rp = self->template make_response_promise<Ts...>();
  serve_into(self, rp, std::move(op));
  return rp;
}

/// A handler's answer from a result.
template <class T>
caf::result<T> answer(result<T>&& r) {
  if (!r)
    return make_error(r.error());
  return std::move(r).value();
}

/// Takes `guard`; with `try_only`, only when no change holds the lock (false then).
bool lock_shared(std::shared_lock<sharded_rw_lock>& guard, bool try_only) {
  if (try_only)
    return guard.try_lock();
  guard.lock();
  return true;
}

/// `read(offset, size)` of the map when its pages are resident, under the shared lock; none when
/// it must go to a worker, or when `try_only` and a change holds the lock.
std::optional<result<bytes>> read_resident(shared_map& map, std::int64_t offset, std::int64_t size,
                                           bool try_only) {
  std::shared_lock<sharded_rw_lock> guard{map.lock, std::defer_lock};
  if (!lock_shared(guard, try_only))
    return std::nullopt;
  const auto& r = *map.region;
  if (!r.resident(offset, size, shared_map::direct_max))
    return std::nullopt;
  return r.read(offset, size);
}

/// The map's info (its file's mtime and links as fstat says now); none when `try_only` and a
/// change holds the lock.
std::optional<result<map_info>> info_of(shared_map& map, bool try_only) {
  std::shared_lock<sharded_rw_lock> guard{map.lock, std::defer_lock};
  if (!lock_shared(guard, try_only))
    return std::nullopt;
  const auto& r = *map.region;
  auto disk = r.on_disk("info");
  if (!disk)
    return std::move(disk).error();
  return map_info{r.path(), r.mode(), r.size(), r.mapped_length(), disk->modified_ns, disk->links};
}

/// `write(data, offset)` when it changes only resident pages inside the file (no growth, no
/// remap), under the exclusive lock; none when it must go to a worker or the lock is taken.
std::optional<result<std::uint64_t>> write_resident(shared_map& map, const bytes& data,
                                                    std::int64_t offset) {
  std::unique_lock<sharded_rw_lock> guard{map.lock, std::try_to_lock};
  if (!guard)
    return std::nullopt;
  auto& r = *map.region;
  if (offset < 0 || data.size() > mapped_file_class::direct_max ||
      static_cast<std::uint64_t>(offset) + data.size() > r.size() ||
      !r.resident(offset, static_cast<std::int64_t>(data.size()), mapped_file_class::direct_max))
    return std::nullopt;
  return r.write(data.data(), data.size(), offset);
}

/// Compares a range of this map with a range of `other` through `combine(mine, theirs)`. The
/// other map's bytes are requested without awaiting, so two maps comparing each other at the
/// same time cannot deadlock.
template <class T, class Combine>
caf::typed_response_promise<T>
with_other(self_pointer self, const caf::actor& other, std::int64_t size, std::int64_t offset_self,
           std::int64_t offset_other, const char* op, Combine combine) {
  auto rp = self->template make_response_promise<T>();
  auto compare_with = [self, rp, size, offset_self, combine](bytes theirs) mutable {
    serve_into(self, rp, [=, theirs = std::move(theirs)](mapped_region& r) -> result<T> {
      auto mine = r.read(offset_self, size);
      if (!mine)
        return std::move(mine).error();
      return combine(view(*mine), view(theirs));
    });
  };
  const auto& path = self->state.map->region->path();
  if (!other) {
    rp.deliver(make_error(failure{EBADF, op, path, "no other map"}));
  } else if (size < -1) {
    rp.deliver(make_error(failure{EINVAL, op, path, "negative size"}));
  } else if (offset_self < 0 || offset_other < 0) {
    rp.deliver(make_error(failure{EINVAL, op, path, "negative offset"}));
  } else if (other.address() == self->address()) {
    serve_into(self, rp, [=](mapped_region& r) -> result<T> {
      auto mine = r.read(offset_self, size);
      if (!mine)
        return std::move(mine).error();
      auto theirs = r.read(offset_other, size);
      if (!theirs)
        return std::move(theirs).error();
      return combine(view(*mine), view(*theirs));
    });
  } else {
    self
      ->request(caf::actor_cast<mapped_file_actor>(other), caf::infinite, read_atom_v, offset_other,
                size)
      .then([compare_with](bytes& theirs) mutable { compare_with(std::move(theirs)); },
            [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  }
  return rp;
}

/// The MADV_* constant of `advice`.
result<int> madv_of(map_advice advice, const std::string& path) {
  switch (advice) {
  case map_advice::normal:
    return MADV_NORMAL;
  case map_advice::random:
    return MADV_RANDOM;
  case map_advice::sequential:
    return MADV_SEQUENTIAL;
  case map_advice::willneed:
    return MADV_WILLNEED;
  case map_advice::dontneed:
    return MADV_DONTNEED;
  }
  return failure{EINVAL, "madvise", path, "unknown advice"};
}

/// EINVAL for a policy outside the enum (a value off the wire).
status check_policy(utf8_errors policy, const char* op, const std::string& path) {
  if (to_string(policy).empty())
    return failure{EINVAL, op, path, "unknown UTF-8 errors policy"};
  return ok_status();
}

caf::result<std::uint64_t> size_of(self_pointer self) {
  auto& map = *self->state.map;
  std::shared_lock<sharded_rw_lock> guard{map.lock};
  return map.region->size();
}

caf::typed_response_promise<void> clear_error(self_pointer self) {
  return serve<void>(self, [](mapped_region& r) {
    r.clear_error();
    return ok_status();
  });
}

caf::typed_response_promise<std::string> checksum(self_pointer self, const std::string& requested) {
  auto algorithm = requested.empty() ? self->state.default_digest : requested;
  return serve<std::string>(
    self, [algorithm](mapped_region& r) { return digest_fd(r.fd(), algorithm, r.path()); });
}

caf::result<bytes> read_bytes(self_pointer self, std::int64_t offset, std::int64_t size) {
  if (auto r = read_resident(*self->state.map, offset, size, false))
    return answer(std::move(*r));
  return serve<bytes>(self, [=](mapped_region& r) { return r.read(offset, size); });
}

caf::result<std::uint64_t> write_bytes(self_pointer self, bytes& data, std::int64_t offset) {
  if (auto r = write_resident(*self->state.map, data, offset))
    return answer(std::move(*r));
  return serve<std::uint64_t>(self, [data = std::move(data), offset](mapped_region& r) {
    return r.write(data.data(), data.size(), offset);
  });
}

caf::typed_response_promise<std::string> read_str(self_pointer self, std::int64_t offset,
                                                  std::int64_t size, utf8_errors policy) {
  return serve<std::string>(self, [=](mapped_region& r) -> result<std::string> {
    if (auto known = check_policy(policy, "read_str", r.path()); !known)
      return std::move(known).error();
    auto data = r.read(offset, size);
    if (!data)
      return failure{data.error().code, "read_str", r.path(), data.error().detail};
    auto text = decode_utf8(view(*data), policy, "read_str");
    if (!text)
      return failure{text.error().code, "read_str", r.path(), text.error().detail};
    return text;
  });
}

caf::typed_response_promise<std::uint64_t> write_str(self_pointer self, std::string& text,
                                                     std::int64_t offset, utf8_errors policy) {
  return serve<std::uint64_t>(
    self, [text = std::move(text), offset, policy](mapped_region& r) -> result<std::uint64_t> {
      if (auto known = check_policy(policy, "write_str", r.path()); !known)
        return std::move(known).error();
      auto clean = decode_utf8(text, policy, "write_str");
      if (!clean)
        return failure{clean.error().code, "write_str", r.path(), clean.error().detail};
      return r.write(clean->data(), clean->size(), offset);
    });
}

caf::typed_response_promise<void> madvise_range(self_pointer self, map_advice advice,
                                                std::int64_t start, std::int64_t length) {
  return serve<void>(self, [=](mapped_region& r) -> status {
    auto code = madv_of(advice, r.path());
    if (!code)
      return std::move(code).error();
    return r.madvise(*code, start, length);
  });
}

/// The file's size, mtime (ns since the epoch) and st_mode.
caf::typed_response_promise<std::uint64_t, std::int64_t, std::uint32_t>
stat_file(self_pointer self) {
  using status = std::tuple<std::uint64_t, std::int64_t, std::uint32_t>;
  return serve<std::uint64_t, std::int64_t, std::uint32_t>(
    self, [](mapped_region& r) -> result<status> {
      auto disk = r.on_disk("stat");
      if (!disk)
        return std::move(disk).error();
      return status{disk->size, disk->modified_ns, disk->mode};
    });
}

/// EPERM unless the manager that spawned the map sent the current request: it alone counts the
/// references the handles it gave out stand for.
std::optional<caf::error> refuse_unless_manager(self_pointer self, const char* op) {
  const auto& sender = self->current_sender();
  if (sender && sender->address() == self->state.manager)
    return std::nullopt;
  return make_error(failure{EPERM, op, self->state.map->region->path(),
                            "only the map's manager may; release the handle there"});
}

/// Grows the file for an open that joins the map with a larger init_size.
caf::result<std::uint64_t> grow(self_pointer self, std::int64_t size) {
  if (auto refused = refuse_unless_manager(self, "grow"))
    return std::move(*refused);
  return serve<std::uint64_t>(self, [=](mapped_region& r) { return r.grow(size); });
}

/// Unmaps and closes the file, then quits.
caf::result<void> close_map(self_pointer self) {
  if (auto refused = refuse_unless_manager(self, "close"))
    return std::move(*refused);
  auto rp = self->make_response_promise<void>();
  auto map = self->state.map;
  self->state.pool->run(
    self,
    [map] {
      std::unique_lock<sharded_rw_lock> guard{map->lock};
      return map->region->close();
    },
    [self, rp](status&& st) mutable {
      deliver(rp, std::move(st));
      self->quit();
    },
    true);
  return rp;
}

} // namespace

std::optional<result<bytes>> shared_map::try_read(std::int64_t offset, std::int64_t size) {
  if (pending.load(std::memory_order_acquire) != 0)
    return std::nullopt;
  return read_resident(*this, offset, size, true);
}

std::optional<result<bytes>> shared_map::try_read_cached(std::int64_t offset, std::int64_t size) {
  if (pending.load(std::memory_order_acquire) != 0)
    return std::nullopt;
  std::shared_lock<sharded_rw_lock> guard{lock, std::try_to_lock};
  if (!guard)
    return std::nullopt;
  return region->read_cached(offset, size, direct_max);
}

mapped_file_class::mapped_file_class(caf::actor_config& cfg, std::shared_ptr<mapped_region> region,
                                     std::shared_ptr<io_worker_pool> pool,
                                     std::string default_digest, caf::actor_addr manager)
  : super(cfg)
  , map_(std::make_shared<shared_map>(std::move(region))) {
  state.map = map_;
  state.pool = std::move(pool);
  state.default_digest = std::move(default_digest);
  state.manager = std::move(manager);
}

bool mapped_file_class::serve_directly(caf::mailbox_element& x, caf::execution_unit* host) {
  if (!x.mid.is_request() || !x.sender || !x.stages.empty() ||
      map_->pending.load(std::memory_order_acquire) != 0)
    return false;
  // The answer's value goes into the reply's mailbox element itself: one allocation, where a
  // caf::message wrapped in an element costs two.
  auto answer = [&](auto&& r) {
    auto id = x.mid.response_id();
    if (r)
      x.sender->enqueue(caf::make_mailbox_element(ctrl(), id, {}, std::move(r).value()), host);
    else
      x.sender->enqueue(caf::make_mailbox_element(ctrl(), id, {}, make_error(r.error())), host);
    return true;
  };
  auto& msg = x.content();
  if (msg.match_elements<read_atom, std::int64_t, std::int64_t>()) {
    auto r = map_->try_read(msg.get_as<std::int64_t>(1), msg.get_as<std::int64_t>(2));
    return r && answer(std::move(*r));
  }
  if (msg.match_elements<write_atom, bytes, std::int64_t>()) {
    auto r = write_resident(*map_, msg.get_as<bytes>(1), msg.get_as<std::int64_t>(2));
    return r && answer(std::move(*r));
  }
  if (msg.match_elements<info_atom>()) {
    // One fstat: cheap enough for the caller's thread, and a server asks it of hot files often.
    auto r = info_of(*map_, true);
    return r && answer(std::move(*r));
  }
  return false;
}

void mapped_file_class::enqueue(caf::mailbox_element_ptr what, caf::execution_unit* host) {
  if (what && !what->mid.is_response()) {
    if (serve_directly(*what, host))
      return;
    map_->pending.fetch_add(1, std::memory_order_acq_rel);
  }
  super::enqueue(std::move(what), host);
}

caf::invoke_message_result mapped_file_class::consume(caf::mailbox_element& x) {
  auto counted = !x.mid.is_response();
  auto result = super::consume(x);
  if (counted && result != caf::invoke_message_result::skipped)
    map_->pending.fetch_sub(1, std::memory_order_acq_rel);
  return result;
}

bool mapped_file_class::cleanup(caf::error&& reason, caf::execution_unit* host) {
  // A map whose actor ended (killed, or closed) answers nobody directly any more.
  map_->pending.fetch_add(1, std::memory_order_acq_rel);
  return super::cleanup(std::move(reason), host);
}

mapped_file_class::behavior_type mapped_file_class::make_behavior() {
  auto self = this;
  return {
    [=](read_atom, std::int64_t offset, std::int64_t size) {
      return read_bytes(self, offset, size);
    },
    [=](write_atom, bytes& data, std::int64_t offset) { return write_bytes(self, data, offset); },
    [=](resize_atom, std::int64_t size) {
      return serve<std::uint64_t>(self, [=](mapped_region& r) { return r.resize(size); });
    },
    [=](grow_atom, std::int64_t size) { return grow(self, size); },
    [=](size_atom) { return size_of(self); },
    [=](caf::flush_atom, std::int64_t offset, std::int64_t size) {
      return serve<void>(self, [=](mapped_region& r) { return r.flush(offset, size); });
    },
    [=](sync_atom) { return serve<void>(self, [](mapped_region& r) { return r.sync(); }); },
    [=](clear_error_atom) { return clear_error(self); },
    [=](checksum_atom, const std::string& algorithm) { return checksum(self, algorithm); },
    [=](info_atom) { return answer(std::move(*info_of(*self->state.map, false))); },
    [=](read_str_atom, std::int64_t offset, std::int64_t size, utf8_errors policy) {
      return read_str(self, offset, size, policy);
    },
    [=](write_str_atom, std::string& text, std::int64_t offset, utf8_errors policy) {
      return write_str(self, text, offset, policy);
    },
    [=](readline_atom, std::int64_t offset, std::int64_t size, bool incl_newline) {
      return serve<bytes, std::uint64_t>(
        self, [=](mapped_region& r) { return r.readline(offset, size, incl_newline); });
    },
    [=](readlines_atom, std::int64_t hint) {
      return serve<std::vector<bytes>>(self, [=](mapped_region& r) { return r.readlines(hint); });
    },
    [=](lines_atom, std::int64_t offset, std::uint64_t max_bytes) {
      return serve<std::vector<bytes>, std::uint64_t>(
        self, [=](mapped_region& r) { return r.lines_from(offset, max_bytes); });
    },
    [=](read_until_atom, bytes& delim, std::int64_t offset, std::int64_t maxsize) {
      return serve<bytes, std::uint64_t>(self, [=, delim = std::move(delim)](mapped_region& r) {
        return r.read_until(view(delim), offset, maxsize);
      });
    },
    [=](writelines_atom, std::vector<bytes>& lines, bytes& sep, std::int64_t offset) {
      return serve<std::uint64_t>(
        self, [lines = std::move(lines), sep = std::move(sep), offset](mapped_region& r) {
          return r.writelines(lines, view(sep), offset);
        });
    },
    [=](insert_atom, bytes& data, std::int64_t offset) {
      return serve<std::uint64_t>(self, [data = std::move(data), offset](mapped_region& r) {
        return r.insert(view(data), offset);
      });
    },
    [=](erase_atom, std::int64_t offset, std::int64_t size) {
      return serve<std::uint64_t>(self, [=](mapped_region& r) { return r.erase(offset, size); });
    },
    [=](replace_atom, bytes& old_bytes, bytes& new_bytes, std::int64_t offset, std::int64_t count) {
      return serve<std::uint64_t>(
        self, [o = std::move(old_bytes), n = std::move(new_bytes), offset,
               count](mapped_region& r) { return r.replace(view(o), view(n), offset, count); });
    },
    [=](fill_atom, bytes& pattern, std::int64_t offset, std::int64_t count) {
      return serve<std::uint64_t>(self, [p = std::move(pattern), offset, count](mapped_region& r) {
        return r.fill(view(p), offset, count);
      });
    },
    [=](copy_within_atom, std::int64_t dst, std::int64_t src, std::int64_t size) {
      return serve<std::uint64_t>(self,
                                  [=](mapped_region& r) { return r.copy_within(dst, src, size); });
    },
    [=](move_atom, std::int64_t dest, std::int64_t src, std::int64_t count) {
      return serve<void>(self, [=](mapped_region& r) { return r.move(dest, src, count); });
    },
    [=](compare_atom, const caf::actor& other, std::int64_t size, std::int64_t offset_self,
        std::int64_t offset_other) {
      return with_other<bool>(self, other, size, offset_self, offset_other, "compare", equal_bytes);
    },
    [=](hamming_dist_atom, const caf::actor& other, std::int64_t size, std::int64_t offset_self,
        std::int64_t offset_other) {
      return with_other<std::uint64_t>(self, other, size, offset_self, offset_other, "hamming_dist",
                                       hamming_bits);
    },
    [=](hamming_dist_bytes_atom, const caf::actor& other, std::int64_t size,
        std::int64_t offset_self, std::int64_t offset_other) {
      return with_other<std::uint64_t>(self, other, size, offset_self, offset_other,
                                       "hamming_dist_bytes", hamming_bytes);
    },
    [=](find_atom, bytes& sub, std::int64_t start, std::int64_t end) {
      return serve<std::int64_t>(self, [s = std::move(sub), start, end](mapped_region& r) {
        return r.find(view(s), start, end);
      });
    },
    [=](rfind_atom, bytes& sub, std::int64_t start, std::int64_t end) {
      return serve<std::int64_t>(self, [s = std::move(sub), start, end](mapped_region& r) {
        return r.rfind(view(s), start, end);
      });
    },
    [=](search_atom, bytes& pattern, std::int64_t offset, std::int64_t max_results,
        bool overlapping) {
      return serve<std::vector<std::uint64_t>, std::uint64_t>(
        self, [p = std::move(pattern), offset, max_results, overlapping](mapped_region& r) {
          return r.search(view(p), offset, max_results, overlapping);
        });
    },
    [=](compact_atom) {
      return serve<std::uint64_t>(self, [](mapped_region& r) { return r.compact(); });
    },
    [=](madvise_atom, map_advice advice, std::int64_t start, std::int64_t length) {
      return madvise_range(self, advice, start, length);
    },
    [=](stat_atom) { return stat_file(self); },
    [=](caf::close_atom) { return close_map(self); },
  };
}

} // namespace actorio::detail
