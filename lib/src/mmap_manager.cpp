#include "actorio/mmap_manager.hpp"

#include "lib/src/request.hpp"

namespace actorio {

mmap_manager::mmap_manager(std::shared_ptr<detail::runtime_core> core)
  : core_(std::move(core)) {}

mmap_manager_actor mmap_manager::actor() const {
  return core_->manager;
}

namespace {

/// Turns the manager's reply to an open into a facade handle that releases it when it goes.
auto adopt(std::shared_ptr<detail::runtime_core> core, std::filesystem::path path,
           std::string mode) {
  return [core = std::move(core), path = std::move(path),
          mode = std::move(mode)](mapped_file_actor&& file) {
    return mapped_file::adopt(core, std::move(file), path, mode);
  };
}

} // namespace

std::future<mapped_file> mmap_manager::open(const std::filesystem::path& path,
                                            std::int64_t init_size, std::string mode) const {
  return detail::ask<mapped_file_actor>(core_, core_->manager, "open", path.string(),
                                        adopt(core_, path, mode), caf::open_atom_v, path.string(),
                                        mode, init_size);
}

std::future<mapped_file> mmap_manager::create(const std::filesystem::path& path,
                                              std::int64_t init_size, bool exclusive) const {
  std::string mode = exclusive ? "x+b" : "w+b";
  return detail::ask<mapped_file_actor>(core_, core_->manager, "create", path.string(),
                                        adopt(core_, path, mode), caf::open_atom_v, path.string(),
                                        mode, init_size);
}

std::future<mapped_file> mmap_manager::create_sparse(const std::filesystem::path& path,
                                                     std::int64_t total_size,
                                                     std::vector<sparse_chunk> chunks) const {
  return detail::ask<mapped_file_actor>(core_, core_->manager, "create_sparse", path.string(),
                                        adopt(core_, path, "x+b"), sparse_atom_v, path.string(),
                                        total_size, std::move(chunks));
}

std::future<std::uint64_t> mmap_manager::copy_file(const std::filesystem::path& src,
                                                   const std::filesystem::path& dst,
                                                   bool flush) const {
  return detail::ask<std::uint64_t>(core_, core_->manager, "copy", src.string(), detail::as_is{},
                                    copy_atom_v, src.string(), dst.string(), flush);
}

std::future<std::string> mmap_manager::checksum(const std::filesystem::path& path,
                                                std::string algorithm) const {
  return detail::ask<std::string>(core_, core_->manager, "checksum", path.string(), detail::as_is{},
                                  digest_atom_v, path.string(), std::move(algorithm));
}

std::future<std::uint64_t> mmap_manager::currently_open() const {
  return detail::ask<std::uint64_t>(core_, core_->manager, "currently_open", "", detail::as_is{},
                                    count_atom_v);
}

std::future<std::map<std::pair<std::filesystem::path, std::string>, mapped_file>>
mmap_manager::open_files() const {
  auto core = core_;
  return detail::ask<std::vector<open_file>>(
    core_, core_->manager, "open_files", "",
    [core](std::vector<open_file>&& files) {
      std::map<std::pair<std::filesystem::path, std::string>, mapped_file> out;
      for (auto& f : files)
        out.emplace(std::pair{std::filesystem::path{f.path}, f.mode},
                    mapped_file::adopt(core, std::move(f.file), f.path, f.mode));
      return out;
    },
    files_atom_v);
}

std::future<std::map<std::filesystem::path, std::string>> mmap_manager::open_paths() const {
  return detail::ask<std::map<std::string, std::string>>(
    core_, core_->manager, "open_paths", "",
    [](std::map<std::string, std::string>&& paths) {
      return std::map<std::filesystem::path, std::string>(paths.begin(), paths.end());
    },
    paths_atom_v);
}

std::future<std::vector<map_info>> mmap_manager::open_mmaps() const {
  return detail::ask<std::vector<map_info>>(core_, core_->manager, "open_mmaps", "",
                                            detail::as_is{}, mmaps_atom_v);
}

std::future<std::uint64_t> mmap_manager::approx_memory_usage() const {
  return detail::ask<std::uint64_t>(core_, core_->manager, "approx_memory_usage", "",
                                    detail::as_is{}, memuse_atom_v);
}

} // namespace actorio
