#include "actorio/mapped_file.hpp"

#include <atomic>

#include "lib/src/request.hpp"

namespace actorio {

struct mapped_file::state {
  std::shared_ptr<detail::runtime_core> core;
  mapped_file_actor file;
  std::filesystem::path path;
  std::string mode;
  std::atomic<bool> released{false};

  ~state() {
    if (!released.exchange(true))
      caf::anon_send(core->manager, caf::close_atom_v, file);
  }
};

namespace {

const std::filesystem::path empty_path;
const std::string empty_mode;

} // namespace

mapped_file mapped_file::adopt(std::shared_ptr<detail::runtime_core> core,
                               mapped_file_actor file, std::filesystem::path path,
                               std::string mode) {
  mapped_file result;
  result.state_ = std::make_shared<state>();
  result.state_->core = std::move(core);
  result.state_->file = std::move(file);
  result.state_->path = std::move(path);
  result.state_->mode = std::move(mode);
  return result;
}

const std::filesystem::path& mapped_file::path() const noexcept {
  return state_ ? state_->path : empty_path;
}

const std::string& mapped_file::mode() const noexcept {
  return state_ ? state_->mode : empty_mode;
}

bool mapped_file::closed() const noexcept {
  return !state_ || state_->released.load();
}

mapped_file_actor mapped_file::actor() const {
  return state_ ? state_->file : mapped_file_actor{};
}

template <class Reply, class... Ts>
std::future<Reply> mapped_file::ask(const char* op, Ts&&... xs) const {
  const auto& st = state_;
  if (!st || st->released.load())
    return detail::failed_future<Reply>(
      failure{EBADF, op, st ? st->path.string() : "", "handle is closed"});
  return detail::ask<Reply>(st->core, st->file, op, st->path.string(), detail::as_is{},
                            std::forward<Ts>(xs)...);
}

std::future<bytes> mapped_file::read(std::int64_t offset, std::int64_t size) const {
  return ask<bytes>("read", read_atom_v, offset, size);
}

std::future<std::uint64_t> mapped_file::write(std::string_view data, std::int64_t offset) const {
  return ask<std::uint64_t>("write", write_atom_v, bytes(data.begin(), data.end()),
                                 offset);
}

std::future<std::uint64_t> mapped_file::resize(std::int64_t new_size) const {
  return ask<std::uint64_t>("resize", resize_atom_v, new_size);
}

std::future<std::uint64_t> mapped_file::size() const {
  return ask<std::uint64_t>("size", size_atom_v);
}

std::future<void> mapped_file::flush() const {
  return ask<void>("flush", caf::flush_atom_v);
}

std::future<void> mapped_file::sync() const {
  return ask<void>("sync", sync_atom_v);
}

std::future<std::string> mapped_file::checksum(std::string algorithm) const {
  return ask<std::string>("checksum", digest_atom_v, std::move(algorithm));
}

std::future<void> mapped_file::close() {
  // A stopped runtime has closed every map already.
  if (!state_ || state_->released.exchange(true) || state_->core->stopped.load()) {
    std::promise<void> done;
    done.set_value();
    return done.get_future();
  }
  return detail::ask<void>(state_->core, state_->core->manager, "close", state_->path.string(),
                           detail::as_is{}, caf::close_atom_v, state_->file);
}

} // namespace actorio
