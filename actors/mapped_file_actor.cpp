#include "actors/mapped_file_actor.hpp"

#include <string_view>

#include <sys/mman.h>

#include "actors/reply.hpp"
#include "lib/src/byte_distance.hpp"
#include "lib/src/digest.hpp"
#include "lib/src/utf8.hpp"

namespace actorio::detail {

namespace {

using self_pointer = mapped_file_actor::stateful_pointer<mapped_file_state>;

std::string_view view(const bytes& b) {
  return {b.data(), b.size()};
}

/// Runs `op(region)` on a worker and answers `rp` with its result; no other message is handled
/// in between.
template <class Promise, class Op>
void serve_into(self_pointer self, Promise rp, Op op) {
  auto region = self->state.region;
  self->state.pool->run(
    self, [region, op = std::move(op)]() mutable { return op(*region); },
    [rp](auto&& r) mutable { deliver(rp, std::move(r)); }, true);
}

/// As serve_into, with a new promise for the current request.
template <class... Ts, class Op>
caf::typed_response_promise<Ts...> serve(self_pointer self, Op op) {
  auto rp = self->template make_response_promise<Ts...>();
  serve_into(self, rp, std::move(op));
  return rp;
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
  const auto& path = self->state.region->path();
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

/// MADV_* for the portable advice names of the message vocabulary.
result<int> parse_advice(const std::string& name, const std::string& path) {
  if (name == "normal")
    return MADV_NORMAL;
  if (name == "random")
    return MADV_RANDOM;
  if (name == "sequential")
    return MADV_SEQUENTIAL;
  if (name == "willneed")
    return MADV_WILLNEED;
  if (name == "dontneed")
    return MADV_DONTNEED;
  return failure{EINVAL, "madvise", path, "unknown advice '" + name + "'"};
}

} // namespace

mapped_file_actor::behavior_type mapped_file_impl(self_pointer self,
                                                  std::shared_ptr<mapped_region> region,
                                                  std::shared_ptr<io_worker_pool> pool,
                                                  std::string default_digest) {
  self->state.region = std::move(region);
  self->state.pool = std::move(pool);
  self->state.default_digest = std::move(default_digest);
  return {
    [=](read_atom, std::int64_t offset, std::int64_t size) {
      return serve<bytes>(self, [=](mapped_region& r) { return r.read(offset, size); });
    },
    [=](write_atom, bytes& data, std::int64_t offset) {
      return serve<std::uint64_t>(self, [data = std::move(data), offset](mapped_region& r) {
        return r.write(data.data(), data.size(), offset);
      });
    },
    [=](resize_atom, std::int64_t size) {
      return serve<std::uint64_t>(self, [=](mapped_region& r) { return r.resize(size); });
    },
    [=](grow_atom, std::int64_t size) {
      return serve<std::uint64_t>(self, [=](mapped_region& r) { return r.grow(size); });
    },
    [=](size_atom) -> caf::result<std::uint64_t> {
      // The size lives in the region, which only ever changes inside an awaited operation.
      return self->state.region->size();
    },
    [=](caf::flush_atom, std::int64_t offset, std::int64_t size) {
      return serve<void>(self, [=](mapped_region& r) { return r.flush(offset, size); });
    },
    [=](sync_atom) { return serve<void>(self, [](mapped_region& r) { return r.sync(); }); },
    [=](ack_error_atom) {
      return serve<void>(self, [](mapped_region& r) {
        r.clear_error();
        return ok_status();
      });
    },
    [=](digest_atom, const std::string& requested) {
      auto algorithm = requested.empty() ? self->state.default_digest : requested;
      return serve<std::string>(
        self, [algorithm](mapped_region& r) { return digest_fd(r.fd(), algorithm, r.path()); });
    },
    [=](info_atom) -> caf::result<map_info> {
      const auto& r = *self->state.region;
      return map_info{r.path(), std::string(to_string(r.mode())), r.size(), r.mapped_length()};
    },
    [=](read_str_atom, std::int64_t offset, std::int64_t size, const std::string& errors) {
      return serve<std::string>(self, [=](mapped_region& r) -> result<std::string> {
        auto policy = parse_utf8_errors(errors, "read_str");
        if (!policy)
          return std::move(policy).error();
        auto data = r.read(offset, size);
        if (!data)
          return failure{data.error().code, "read_str", r.path(), data.error().detail};
        auto text = decode_utf8(view(*data), *policy, "read_str");
        if (!text)
          return failure{text.error().code, "read_str", r.path(), text.error().detail};
        return text;
      });
    },
    [=](write_str_atom, std::string& text, std::int64_t offset, const std::string& errors) {
      return serve<std::uint64_t>(
        self, [text = std::move(text), offset, errors](mapped_region& r) -> result<std::uint64_t> {
          auto policy = parse_utf8_errors(errors, "write_str");
          if (!policy)
            return std::move(policy).error();
          auto clean = decode_utf8(text, *policy, "write_str");
          if (!clean)
            return failure{clean.error().code, "write_str", r.path(), clean.error().detail};
          return r.write(clean->data(), clean->size(), offset);
        });
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
    [=](caf::delete_atom, std::int64_t offset, std::int64_t size) {
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
    [=](copy_range_atom, std::int64_t src, std::int64_t dst, std::int64_t size) {
      return serve<std::uint64_t>(self,
                                  [=](mapped_region& r) { return r.copy_range(src, dst, size); });
    },
    [=](move_atom, std::int64_t dest, std::int64_t src, std::int64_t count) {
      return serve<void>(self, [=](mapped_region& r) { return r.move(dest, src, count); });
    },
    [=](compare_atom, const caf::actor& other, std::int64_t size, std::int64_t offset_self,
        std::int64_t offset_other) {
      return with_other<bool>(
        self, other, size, offset_self, offset_other, "compare",
        [](std::string_view a, std::string_view b) { return equal_bytes(a, b); });
    },
    [=](ham_bits_atom, const caf::actor& other, std::int64_t size, std::int64_t offset_self,
        std::int64_t offset_other) {
      return with_other<std::uint64_t>(
        self, other, size, offset_self, offset_other, "hamming_dist",
        [](std::string_view a, std::string_view b) { return hamming_bits(a, b); });
    },
    [=](ham_bytes_atom, const caf::actor& other, std::int64_t size, std::int64_t offset_self,
        std::int64_t offset_other) {
      return with_other<std::uint64_t>(
        self, other, size, offset_self, offset_other, "hamming_dist_bytes",
        [](std::string_view a, std::string_view b) { return hamming_bytes(a, b); });
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
    [=](madvise_atom, const std::string& advice, std::int64_t start, std::int64_t length) {
      return serve<void>(self, [=](mapped_region& r) -> status {
        auto code = parse_advice(advice, r.path());
        if (!code)
          return std::move(code).error();
        return r.madvise(*code, start, length);
      });
    },
    [=](caf::close_atom) {
      auto rp = self->make_response_promise<void>();
      auto region = self->state.region;
      self->state.pool->run(
        self, [region] { return region->close(); },
        [self, rp](status&& st) mutable {
          deliver(rp, std::move(st));
          self->quit();
        },
        true);
      return rp;
    },
  };
}

} // namespace actorio::detail
