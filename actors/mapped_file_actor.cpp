#include "actors/mapped_file_actor.hpp"
#include "actors/reply.hpp"

#include "lib/src/digest.hpp"

namespace actorio::detail {

namespace {

using self_pointer = mapped_file_actor::stateful_pointer<mapped_file_state>;

/// Runs `op(region)` on a worker and replies with its result; no other message is handled
/// in between.
template <class T, class Op>
caf::typed_response_promise<T> serve(self_pointer self, Op op) {
  auto rp = self->template make_response_promise<T>();
  auto region = self->state.region;
  self->state.pool->run(
    self, [region, op = std::move(op)]() mutable { return op(*region); },
    [rp](auto&& r) mutable { deliver(rp, std::move(r)); }, true);
  return rp;
}

} // namespace

mapped_file_actor::behavior_type
mapped_file_impl(self_pointer self, std::shared_ptr<mapped_region> region,
                 std::shared_ptr<io_worker_pool> pool, std::string default_digest) {
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
    [=](caf::flush_atom) {
      return serve<void>(self, [](mapped_region& r) { return r.flush(); });
    },
    [=](sync_atom) {
      return serve<void>(self, [](mapped_region& r) { return r.sync(); });
    },
    [=](digest_atom, const std::string& requested) {
      auto algorithm = requested.empty() ? self->state.default_digest : requested;
      return serve<std::string>(self, [algorithm](mapped_region& r) {
        return digest_fd(r.fd(), algorithm, r.path());
      });
    },
    [=](info_atom) -> caf::result<map_info> {
      const auto& r = *self->state.region;
      return map_info{r.path(), std::string(to_string(r.mode())), r.size(), r.mapped_length()};
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
