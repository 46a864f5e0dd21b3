#include "actors/gate_actor.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "actorio/messages/error.hpp"
#include "lib/src/file_scan.hpp"

namespace actorio::detail {

namespace {

using self_pointer = mmap_manager_actor::stateful_pointer<gate_state>;

/// Reports the sender's node the first time it shows up.
void note_client(self_pointer self) {
  const auto& sender = self->current_sender();
  if (!sender || sender->node() == self->node())
    return;
  if (self->state.clients.insert(sender->node()).second && self->state.options.on_client)
    self->state.options.on_client(caf::to_string(sender->node()));
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

} // namespace

mmap_manager_actor::behavior_type gate_impl(self_pointer self, mmap_manager_actor manager,
                                            std::shared_ptr<io_worker_pool> pool,
                                            gate_options options) {
  self->state.manager = std::move(manager);
  self->state.pool = std::move(pool);
  self->state.options = std::move(options);
  // A client may send anything; what the interface does not name is answered with an error
  // and otherwise ignored.
  self->set_default_handler(caf::drop);
  auto& m = self->state.manager;
  return {
    [=, &m](caf::open_atom, std::string& path, std::string& mode,
            std::int64_t size) -> caf::delegated<mapped_file_actor> {
      note_client(self);
      return self->delegate(m, caf::open_atom_v, std::move(path), std::move(mode), size);
    },
    [=, &m](sparse_atom, std::string& path, std::int64_t size,
            std::vector<chunk>& chunks) -> caf::delegated<mapped_file_actor> {
      note_client(self);
      return self->delegate(m, sparse_atom_v, std::move(path), size, std::move(chunks));
    },
    [=, &m](caf::close_atom, mapped_file_actor& file) -> caf::delegated<void> {
      return self->delegate(m, caf::close_atom_v, std::move(file));
    },
    [=, &m](copy_atom, std::string& src, std::string& dst, bool flush,
            bool verify) -> caf::delegated<std::uint64_t> {
      note_client(self);
      return self->delegate(m, copy_atom_v, std::move(src), std::move(dst), flush, verify);
    },
    [=, &m](digest_atom, std::string& path, std::string& alg) -> caf::delegated<std::string> {
      note_client(self);
      return self->delegate(m, digest_atom_v, std::move(path), std::move(alg));
    },
    [=, &m](count_atom) -> caf::delegated<std::uint64_t> {
      note_client(self);
      return self->delegate(m, count_atom_v);
    },
    [=, &m](files_atom) -> caf::delegated<std::vector<open_file>> {
      note_client(self);
      return self->delegate(m, files_atom_v);
    },
    [=, &m](paths_atom) -> caf::delegated<std::map<std::string, std::string>> {
      note_client(self);
      return self->delegate(m, paths_atom_v);
    },
    [=, &m](mmaps_atom) -> caf::delegated<std::vector<map_info>> {
      note_client(self);
      return self->delegate(m, mmaps_atom_v);
    },
    [=, &m](memuse_atom) -> caf::delegated<std::uint64_t> {
      note_client(self);
      return self->delegate(m, memuse_atom_v);
    },
    [=](shutdown_atom) -> caf::result<void> {
      // Closing every map under the other clients' feet is the server's decision, not a client's.
      return make_error(
        failure{EPERM, "shutdown", "", "a served manager is stopped by its server"});
    },
    [=, &m](bulk_read_atom, std::vector<read_job>& jobs,
            report_progress every) -> caf::result<std::vector<result<std::vector<bytes>>>> {
      note_client(self);
      auto rp = self->make_response_promise<std::vector<result<std::vector<bytes>>>>();
      auto all = std::make_shared<std::vector<read_job>>(std::move(jobs));
      std::filesystem::path root{self->state.options.root};
      auto limit = self->state.options.max_bulk_read_bytes;
      self->state.pool->run(
        self,
        [all, root]() -> result<std::uint64_t> {
          std::uint64_t total = 0;
          for (const auto& job : *all)
            total += reply_bytes(root, job);
          return total;
        },
        [self, rp, all, every, limit](result<std::uint64_t> total) mutable {
          if (total.ok() && *total > limit)
            rp.deliver(
              make_error(failure{EFBIG, "bulk_read", "",
                                 "the reply would hold " + std::to_string(*total) +
                                   " bytes; this server's limit is " + std::to_string(limit)}));
          else
            rp.delegate(self->state.manager, bulk_read_atom_v, std::move(*all), every);
        },
        false);
      return rp;
    },
    [=, &m](bulk_write_atom, std::vector<write_job>& jobs,
            report_progress every) -> caf::delegated<std::vector<result<std::uint64_t>>> {
      note_client(self);
      return self->delegate(m, bulk_write_atom_v, std::move(jobs), every);
    },
    [=, &m](bulk_resize_atom, std::vector<resize_job>& jobs,
            report_progress every) -> caf::delegated<std::vector<result<std::uint64_t>>> {
      note_client(self);
      return self->delegate(m, bulk_resize_atom_v, std::move(jobs), every);
    },
    [=, &m](bulk_copy_atom, std::vector<copy_job>& jobs, bool flush, bool verify,
            report_progress every) -> caf::delegated<std::vector<result<std::uint64_t>>> {
      note_client(self);
      return self->delegate(m, bulk_copy_atom_v, std::move(jobs), flush, verify, every);
    },
    // Delegated, so the manager sees the client that made the request it names.
    [=, &m](cancel_atom, std::uint64_t request) -> caf::delegated<void> {
      return self->delegate(m, cancel_atom_v, request);
    },
    [=, &m](bulk_digest_atom, std::vector<std::string>& paths, std::string& alg,
            report_progress every) -> caf::delegated<std::vector<result<std::string>>> {
      note_client(self);
      return self->delegate(m, bulk_digest_atom_v, std::move(paths), std::move(alg), every);
    },
    [=,
     &m](find_files_atom, bytes& pattern, std::vector<find_job>& jobs, std::uint64_t max,
         bool overlapping,
         report_progress every) -> caf::delegated<std::vector<result<std::vector<std::uint64_t>>>> {
      note_client(self);
      return self->delegate(m, find_files_atom_v, std::move(pattern), std::move(jobs), max,
                            overlapping, every);
    },
    [=, &m](compact_files_atom, std::vector<std::string>& paths,
            report_progress every) -> caf::delegated<std::vector<result<std::uint64_t>>> {
      note_client(self);
      return self->delegate(m, compact_files_atom_v, std::move(paths), every);
    },
    [=, &m](prefetch_atom, std::vector<std::string>& paths, std::int64_t size,
            report_progress every) -> caf::delegated<std::vector<result<mapped_file_actor>>> {
      note_client(self);
      return self->delegate(m, prefetch_atom_v, std::move(paths), size, every);
    },
  };
}

} // namespace actorio::detail
