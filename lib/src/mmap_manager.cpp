#include "actorio/mmap_manager.hpp"

#include "actorio/actors.hpp"
#include "lib/src/facade_access.hpp"
#include "lib/src/request.hpp"

namespace actorio {

mmap_manager::mmap_manager(std::shared_ptr<detail::runtime_core> core)
  : core_(std::move(core)) {}

mmap_manager_actor detail::facade_access::actor(const mmap_manager& manager) {
  return manager.core_ ? manager.core_->manager : mmap_manager_actor{};
}

std::string detail::facade_access::node_url(const mmap_manager& manager) {
  if (!manager.core_ || manager.core_->peer.empty())
    return {};
  return (manager.core_->peer_tls ? "tls://" : "tcp://") + manager.core_->peer;
}

mmap_manager_actor actor_of(const mmap_manager& manager) {
  return detail::facade_access::actor(manager);
}

namespace {

/// Turns the manager's reply to an open into a facade handle that releases it when it goes.
auto adopt(const std::shared_ptr<detail::runtime_core>& core, std::filesystem::path path,
           open_mode mode) {
  return detail::with_core(
    core, [path = std::move(path), mode](const std::shared_ptr<detail::runtime_core>& core,
                                         mapped_file_actor&& file) {
      return detail::facade_access::adopt(core, std::move(file), path, mode);
    });
}

} // namespace

pending<mapped_file> mmap_manager::open(const std::filesystem::path& path, std::int64_t init_size,
                                        open_mode mode) const {
  return detail::ask<mapped_file_actor>(core_, core_->manager, "open", path.string(),
                                        adopt(core_, path, mode), caf::open_atom_v, path.string(),
                                        mode, init_size);
}

pending<mapped_file> mmap_manager::create(const std::filesystem::path& path, std::int64_t init_size,
                                          bool exclusive) const {
  auto mode = exclusive ? open_mode::create_exclusive : open_mode::create;
  return detail::ask<mapped_file_actor>(core_, core_->manager, "create", path.string(),
                                        adopt(core_, path, mode), caf::open_atom_v, path.string(),
                                        mode, init_size);
}

pending<mapped_file> mmap_manager::create_sparse(const std::filesystem::path& path,
                                                 std::int64_t total_size,
                                                 std::vector<chunk> chunks) const {
  return detail::ask<mapped_file_actor>(core_, core_->manager, "create_sparse", path.string(),
                                        adopt(core_, path, open_mode::create_exclusive),
                                        create_sparse_atom_v, path.string(), total_size,
                                        std::move(chunks));
}

pending<std::uint64_t> mmap_manager::copy_file(const std::filesystem::path& src,
                                               const std::filesystem::path& dst, bool flush) const {
  return copy_file(src, dst, copy_options{.flush = flush});
}

pending<std::uint64_t> mmap_manager::copy_file(const std::filesystem::path& src,
                                               const std::filesystem::path& dst,
                                               const copy_options& copy) const {
  return detail::ask<std::uint64_t>(core_, core_->manager, "copy", src.string(), detail::as_is{},
                                    copy_file_atom_v, src.string(), dst.string(), copy);
}

pending<std::string> mmap_manager::checksum(const std::filesystem::path& path,
                                            std::string algorithm) const {
  return detail::ask<std::string>(core_, core_->manager, "checksum", path.string(), detail::as_is{},
                                  checksum_atom_v, path.string(), std::move(algorithm));
}

pending<std::uint64_t> mmap_manager::stage(const std::filesystem::path& dst) const {
  return detail::ask<std::uint64_t>(core_, core_->manager, "stage", dst.string(), detail::as_is{},
                                    stage_atom_v, dst.string());
}

pending<std::uint64_t> mmap_manager::write_staged(std::uint64_t id, std::int64_t offset,
                                                  byte_pieces data) const {
  return detail::ask<std::uint64_t>(core_, core_->manager, "write_staged", "", detail::as_is{},
                                    write_staged_atom_v, id, offset, std::move(data));
}

pending<std::string> mmap_manager::commit_staged(std::uint64_t id, std::string expected_digest,
                                                 std::string algorithm, bool flush) const {
  return detail::ask<std::string>(core_, core_->manager, "commit_staged", "", detail::as_is{},
                                  commit_staged_atom_v, id, std::move(expected_digest),
                                  std::move(algorithm), flush);
}

operation<std::uint64_t> mmap_manager::pull(const std::string& source,
                                            const std::filesystem::path& src,
                                            const std::filesystem::path& dst,
                                            const node_copy_options& options,
                                            const bulk_options& opts) const {
  return detail::ask_bulk<std::uint64_t>(core_, core_->manager, "pull", opts, detail::as_is{},
                                         pull_atom_v, source, src.string(), dst.string(), options);
}

pending<void> mmap_manager::discard_staged(std::uint64_t id) const {
  return detail::ask<>(core_, core_->manager, "discard_staged", "", detail::as_is{},
                       discard_staged_atom_v, id);
}

pending<std::uint64_t> mmap_manager::currently_open() const {
  return detail::ask<std::uint64_t>(core_, core_->manager, "currently_open", "", detail::as_is{},
                                    currently_open_atom_v);
}

pending<std::map<std::pair<std::filesystem::path, open_mode>, mapped_file>>
mmap_manager::open_files() const {
  return detail::ask<std::vector<open_file>>(
    core_, core_->manager, "open_files", "",
    detail::with_core(
      core_,
      [](const std::shared_ptr<detail::runtime_core>& core, std::vector<open_file>&& files) {
        std::map<std::pair<std::filesystem::path, open_mode>, mapped_file> out;
        for (auto& f : files)
          out.emplace(std::pair{std::filesystem::path{f.path}, f.mode},
                      detail::facade_access::adopt(core, std::move(f.file), f.path, f.mode));
        return out;
      }),
    open_files_atom_v);
}

pending<std::map<std::filesystem::path, open_mode>> mmap_manager::open_paths() const {
  return detail::ask<std::map<std::string, open_mode>>(
    core_, core_->manager, "open_paths", "",
    [](std::map<std::string, open_mode>&& paths) {
      return std::map<std::filesystem::path, open_mode>(paths.begin(), paths.end());
    },
    open_paths_atom_v);
}

pending<std::vector<map_info>> mmap_manager::open_mmaps() const {
  return detail::ask<std::vector<map_info>>(core_, core_->manager, "open_mmaps", "",
                                            detail::as_is{}, open_mmaps_atom_v);
}

pending<std::uint64_t> mmap_manager::approx_memory_usage() const {
  return detail::ask<std::uint64_t>(core_, core_->manager, "approx_memory_usage", "",
                                    detail::as_is{}, approx_memory_usage_atom_v);
}

namespace {

/// Pairs each result with the path of the same index (a later duplicate wins).
template <class T, class Paths>
mmap_manager::per_path<T> by_path(const Paths& paths, std::vector<result<T>>&& results) {
  mmap_manager::per_path<T> out;
  // Hinted at the end: paths given in order (a sorted listing, a glob, a map's keys) cost one
  // comparison each instead of a search, and comparing paths is slow (component by component).
  for (std::size_t i = 0; i < results.size() && i < paths.size(); ++i)
    out.insert_or_assign(out.end(), paths[i], std::move(results[i]));
  return out;
}

template <class Map>
std::vector<std::filesystem::path> keys_of(const Map& m) {
  std::vector<std::filesystem::path> out;
  out.reserve(m.size());
  for (const auto& [k, v] : m)
    out.push_back(k);
  return out;
}

} // namespace

operation<mmap_manager::per_path<byte_pieces>> mmap_manager::bulk_read(
  const std::map<std::filesystem::path, std::optional<std::vector<byte_range>>>& files,
  const bulk_options& opts) const {
  std::vector<read_job> jobs;
  jobs.reserve(files.size());
  for (const auto& [path, ranges] : files)
    jobs.push_back(
      read_job{path.string(), ranges.value_or(std::vector<byte_range>{}), !ranges.has_value()});
  return detail::ask_bulk<std::vector<result<byte_pieces>>>(
    core_, core_->manager, "bulk_read", opts,
    [paths = keys_of(files)](std::vector<result<byte_pieces>>&& r) {
      return by_path(paths, std::move(r));
    },
    bulk_read_atom_v, std::move(jobs));
}

operation<mmap_manager::per_path<std::uint64_t>>
mmap_manager::bulk_write(const std::map<std::filesystem::path, std::vector<chunk>>& files,
                         const bulk_options& opts) const {
  std::vector<write_job> jobs;
  for (const auto& [path, chunks] : files)
    jobs.push_back(write_job{path.string(), chunks});
  return detail::ask_bulk<std::vector<result<std::uint64_t>>>(
    core_, core_->manager, "bulk_write", opts,
    [paths = keys_of(files)](std::vector<result<std::uint64_t>>&& r) {
      return by_path(paths, std::move(r));
    },
    bulk_write_atom_v, std::move(jobs));
}

operation<mmap_manager::per_path<std::uint64_t>>
mmap_manager::bulk_resize(const std::map<std::filesystem::path, std::int64_t>& sizes,
                          const bulk_options& opts) const {
  std::vector<resize_job> jobs;
  for (const auto& [path, size] : sizes)
    jobs.push_back(resize_job{path.string(), size});
  return detail::ask_bulk<std::vector<result<std::uint64_t>>>(
    core_, core_->manager, "bulk_resize", opts,
    [paths = keys_of(sizes)](std::vector<result<std::uint64_t>>&& r) {
      return by_path(paths, std::move(r));
    },
    bulk_resize_atom_v, std::move(jobs));
}

operation<std::vector<result<std::uint64_t>>> mmap_manager::bulk_copy(
  const std::vector<std::pair<std::filesystem::path, std::filesystem::path>>& pairs, bool flush,
  const bulk_options& opts) const {
  return bulk_copy(pairs, copy_options{.flush = flush}, opts);
}

operation<std::vector<result<std::uint64_t>>> mmap_manager::bulk_copy(
  const std::vector<std::pair<std::filesystem::path, std::filesystem::path>>& pairs,
  const copy_options& copy, const bulk_options& opts) const {
  std::vector<copy_job> jobs;
  for (const auto& [src, dst] : pairs)
    jobs.push_back(copy_job{src.string(), dst.string()});
  return detail::ask_bulk<std::vector<result<std::uint64_t>>>(
    core_, core_->manager, "bulk_copy", opts, detail::as_is{}, bulk_copy_atom_v, std::move(jobs),
    copy);
}

operation<mmap_manager::per_path<std::string>>
mmap_manager::bulk_checksum(const std::vector<std::filesystem::path>& paths, std::string algorithm,
                            const bulk_options& opts) const {
  std::vector<std::string> texts(paths.begin(), paths.end());
  return detail::ask_bulk<std::vector<result<std::string>>>(
    core_, core_->manager, "bulk_checksum", opts,
    [paths](std::vector<result<std::string>>&& r) { return by_path(paths, std::move(r)); },
    bulk_checksum_atom_v, std::move(texts), std::move(algorithm));
}

operation<mmap_manager::per_path<std::vector<std::uint64_t>>> mmap_manager::find_in_files(
  std::string_view pattern, const std::map<std::filesystem::path, std::int64_t>& starts,
  std::uint64_t max_per_file, bool allow_overlapping, const bulk_options& opts) const {
  return find_in_files(std::vector<std::string>{std::string{pattern}}, starts, max_per_file,
                       allow_overlapping, opts);
}

operation<mmap_manager::per_path<std::vector<std::uint64_t>>>
mmap_manager::find_in_files(const std::vector<std::string>& patterns,
                            const std::map<std::filesystem::path, std::int64_t>& starts,
                            std::uint64_t max_per_file, bool allow_overlapping,
                            const bulk_options& opts) const {
  std::vector<find_job> jobs;
  for (const auto& [path, start] : starts)
    jobs.push_back(find_job{path.string(), start});
  return detail::ask_bulk<std::vector<result<std::vector<std::uint64_t>>>>(
    core_, core_->manager, "find_in_files", opts,
    [paths = keys_of(starts)](std::vector<result<std::vector<std::uint64_t>>>&& r) {
      auto all = by_path(paths, std::move(r));
      std::erase_if(all, [](const auto& kv) { return kv.second.ok() && kv.second->empty(); });
      return all;
    },
    find_in_files_atom_v, patterns, std::move(jobs), max_per_file, allow_overlapping);
}

operation<std::vector<result<std::vector<std::uint64_t>>>>
mmap_manager::find_in_file_list(const std::vector<std::string>& patterns,
                                std::vector<find_job> jobs, std::uint64_t max_per_file,
                                bool allow_overlapping, const bulk_options& opts) const {
  return detail::ask_bulk<std::vector<result<std::vector<std::uint64_t>>>>(
    core_, core_->manager, "find_in_files", opts, detail::as_is{}, find_in_files_atom_v, patterns,
    std::move(jobs), max_per_file, allow_overlapping);
}

operation<mmap_manager::per_path<size_change>>
mmap_manager::compact_files(const std::vector<std::filesystem::path>& paths,
                            const bulk_options& opts) const {
  std::vector<std::string> texts(paths.begin(), paths.end());
  return detail::ask_bulk<std::vector<result<size_change>>>(
    core_, core_->manager, "compact_files", opts,
    [paths](std::vector<result<size_change>>&& r) { return by_path(paths, std::move(r)); },
    compact_files_atom_v, std::move(texts));
}

operation<walk_page> mmap_manager::walk(const std::filesystem::path& root,
                                        const walk_options& options, std::string after,
                                        const bulk_options& opts) const {
  return detail::ask_bulk<walk_page>(core_, core_->manager, "walk", opts, detail::as_is{},
                                     walk_atom_v, root.string(), options, std::move(after));
}

operation<mmap_manager::prefetched>
mmap_manager::prefetch_files(const std::vector<std::filesystem::path>& paths,
                             std::int64_t init_size, const bulk_options& opts) const {
  std::vector<std::string> texts(paths.begin(), paths.end());
  return detail::ask_bulk<std::vector<result<mapped_file_actor>>>(
    core_, core_->manager, "prefetch_files", opts,
    detail::with_core(core_,
                      [paths](const std::shared_ptr<detail::runtime_core>& core,
                              std::vector<result<mapped_file_actor>>&& r) {
                        prefetched out;
                        for (std::size_t i = 0; i < r.size() && i < paths.size(); ++i) {
                          if (r[i])
                            out.files.emplace_back(
                              paths[i], detail::facade_access::adopt(
                                          core, std::move(*r[i]), paths[i], open_mode::read_write));
                          else
                            out.files.emplace_back(paths[i], result<mapped_file>{r[i].error()});
                        }
                        return out;
                      }),
    prefetch_files_atom_v, std::move(texts), init_size);
}

} // namespace actorio
