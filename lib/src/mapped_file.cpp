#include "actorio/mapped_file.hpp"

#include <atomic>

#include "actorio/actors.hpp"
#include "actors/mapped_file_actor.hpp"
#include "lib/src/facade_access.hpp"
#include "lib/src/request.hpp"

namespace actorio {

struct mapped_file::state {
  std::shared_ptr<detail::runtime_core> core;
  mapped_file_actor file;
  std::filesystem::path path;
  open_mode mode = open_mode::read_write;
  std::atomic<bool> released{false};
  /// The map itself when its actor runs in this process (not through a gate): small reads of
  /// resident pages are then done here, in the caller's thread, without a message.
  std::shared_ptr<detail::shared_map> local;

  ~state() {
    // In the bridge's name: a served manager refuses anonymous requests (it could not tell whose
    // reference to release).
    if (!released.exchange(true))
      caf::send_as(caf::actor_cast<caf::actor>(core->bridge), core->manager, caf::close_atom_v,
                   file);
  }
};

namespace {

const std::filesystem::path empty_path;

} // namespace

mapped_file detail::facade_access::adopt(std::shared_ptr<runtime_core> core, mapped_file_actor file,
                                         std::filesystem::path path, open_mode mode) {
  mapped_file result;
  result.state_ = std::make_shared<mapped_file::state>();
  result.state_->core = std::move(core);
  result.state_->file = std::move(file);
  result.state_->path = std::move(path);
  result.state_->mode = mode;
  if (auto* local = dynamic_cast<detail::mapped_file_class*>(
        caf::actor_cast<caf::abstract_actor*>(result.state_->file)))
    result.state_->local = local->map();
  return result;
}

const std::filesystem::path& mapped_file::path() const noexcept {
  return state_ ? state_->path : empty_path;
}

open_mode mapped_file::mode() const noexcept {
  return state_ ? state_->mode : open_mode::read_write;
}

bool mapped_file::closed() const noexcept {
  return !state_ || state_->released.load();
}

mapped_file_actor detail::facade_access::actor(const mapped_file& file) {
  return file.state_ ? file.state_->file : mapped_file_actor{};
}

mapped_file_actor actor_of(const mapped_file& file) {
  return detail::facade_access::actor(file);
}

template <class... Replies, class Convert, class... Ts>
auto mapped_file::ask(const char* op, Convert convert, Ts&&... xs) const {
  using T = std::invoke_result_t<Convert, Replies&&...>;
  const auto& st = state_;
  if (!st || st->released.load())
    return detail::failed_pending<T>(
      failure{EBADF, op, st ? st->path.string() : "", "handle is closed"});
  return detail::ask<Replies...>(st->core, st->file, op, st->path.string(), std::move(convert),
                                 std::forward<Ts>(xs)...);
}

namespace {

bytes to_bytes(std::string_view data) {
  return bytes(data.begin(), data.end());
}

/// find's and rfind's answer: the messages' -1 is "not found".
std::optional<std::uint64_t> found(std::int64_t at) {
  if (at < 0)
    return std::nullopt;
  return static_cast<std::uint64_t>(at);
}

} // namespace

pending<bytes> mapped_file::read(std::int64_t offset, std::optional<std::int64_t> size) const {
  // What the map's actor would answer at once, without the hand-off; anything else, errors
  // included, takes the message path and is answered as usual.
  if (state_ && state_->local && !detail::negative(size) &&
      !state_->released.load(std::memory_order_acquire))
    if (auto r = state_->local->try_read_cached(offset, detail::on_wire(size)); r && *r) {
      return detail::ready_pending<bytes>(std::move(**r));
    }
  return ask<bytes>("read", detail::as_is{}, read_atom_v, offset, size);
}

pending<std::uint64_t> mapped_file::write(std::string_view data, std::int64_t offset) const {
  return ask<std::uint64_t>("write", detail::as_is{}, write_atom_v, to_bytes(data), offset);
}

pending<std::uint64_t> mapped_file::resize(std::int64_t new_size) const {
  return ask<std::uint64_t>("resize", detail::as_is{}, resize_atom_v, new_size);
}

pending<std::uint64_t> mapped_file::size() const {
  return ask<std::uint64_t>("size", detail::as_is{}, size_atom_v);
}

pending<void> mapped_file::flush(std::int64_t offset, std::optional<std::int64_t> size) const {
  return ask<>("flush", detail::as_is{}, caf::flush_atom_v, offset, size);
}

pending<void> mapped_file::sync() const {
  return ask<>("sync", detail::as_is{}, sync_atom_v);
}

pending<void> mapped_file::clear_error() const {
  return ask<>("clear_error", detail::as_is{}, clear_error_atom_v);
}

pending<std::string> mapped_file::checksum(std::string algorithm) const {
  return ask<std::string>("checksum", detail::as_is{}, checksum_atom_v, std::move(algorithm));
}

pending<std::string> mapped_file::read_str(std::int64_t offset, std::optional<std::int64_t> size,
                                           utf8_errors errors) const {
  return ask<std::string>("read_str", detail::as_is{}, read_str_atom_v, offset, size, errors);
}

pending<std::uint64_t> mapped_file::write_str(std::string text, std::int64_t offset,
                                              utf8_errors errors) const {
  return ask<std::uint64_t>("write_str", detail::as_is{}, write_str_atom_v, std::move(text), offset,
                            errors);
}

pending<std::uint64_t> mapped_file::smart_write(std::variant<std::string, bytes> data,
                                                std::int64_t offset, utf8_errors errors) const {
  if (auto* text = std::get_if<std::string>(&data))
    return write_str(std::move(*text), offset, errors);
  return ask<std::uint64_t>("write", detail::as_is{}, write_atom_v,
                            std::get<bytes>(std::move(data)), offset);
}

pending<mapped_file::read_step> mapped_file::readline(std::int64_t offset,
                                                      std::optional<std::int64_t> size,
                                                      bool incl_newline) const {
  return ask<bytes, std::uint64_t>("readline", detail::as<read_step>{}, readline_atom_v, offset,
                                   size, incl_newline);
}

pending<std::vector<bytes>> mapped_file::readlines(std::int64_t hint) const {
  return ask<std::vector<bytes>>("readlines", detail::as_is{}, readlines_atom_v, hint);
}

pending<mapped_file::read_step> mapped_file::read_until(std::string_view delim, std::int64_t offset,
                                                        std::optional<std::int64_t> maxsize) const {
  return ask<bytes, std::uint64_t>("read_until", detail::as<read_step>{}, read_until_atom_v,
                                   to_bytes(delim), offset, maxsize);
}

pending<mapped_file::lines_page> mapped_file::lines(std::int64_t offset,
                                                    std::uint64_t max_bytes) const {
  return ask<std::vector<bytes>, std::uint64_t>("lines", detail::as<lines_page>{}, lines_atom_v,
                                                offset, max_bytes);
}

pending<std::uint64_t> mapped_file::writelines(std::vector<std::string> lines, std::string_view sep,
                                               std::int64_t offset) const {
  std::vector<bytes> data;
  data.reserve(lines.size());
  for (auto& line : lines)
    data.push_back(to_bytes(line));
  return ask<std::uint64_t>("writelines", detail::as_is{}, writelines_atom_v, std::move(data),
                            to_bytes(sep), offset);
}

pending<std::uint64_t> mapped_file::insert(std::string_view data, std::int64_t offset) const {
  return ask<std::uint64_t>("insert", detail::as_is{}, insert_atom_v, to_bytes(data), offset);
}

pending<std::uint64_t> mapped_file::erase(std::int64_t offset, std::int64_t size) const {
  return ask<std::uint64_t>("erase", detail::as_is{}, erase_atom_v, offset, size);
}

pending<std::uint64_t> mapped_file::replace(std::string_view old_bytes, std::string_view new_bytes,
                                            std::int64_t offset,
                                            std::optional<std::int64_t> count) const {
  return ask<std::uint64_t>("replace", detail::as_is{}, replace_atom_v, to_bytes(old_bytes),
                            to_bytes(new_bytes), offset, count);
}

pending<std::uint64_t> mapped_file::fill(std::string_view pattern, std::int64_t offset,
                                         std::int64_t count) const {
  return ask<std::uint64_t>("fill", detail::as_is{}, fill_atom_v, to_bytes(pattern), offset, count);
}

pending<std::uint64_t> mapped_file::copy_within(std::int64_t dest, std::int64_t src,
                                                std::optional<std::int64_t> size) const {
  return ask<std::uint64_t>("copy_within", detail::as_is{}, copy_within_atom_v, dest, src, size);
}

pending<void> mapped_file::move(std::int64_t dest, std::int64_t src, std::int64_t count) const {
  return ask<>("move", detail::as_is{}, move_atom_v, dest, src, count);
}

pending<std::uint64_t> mapped_file::compact() const {
  return ask<std::uint64_t>("compact", detail::as_is{}, compact_atom_v);
}

pending<bool> mapped_file::compare(const mapped_file& other, std::optional<std::int64_t> size,
                                   std::int64_t offset_self, std::int64_t offset_other) const {
  return ask<bool>("compare", detail::as_is{}, compare_atom_v,
                   caf::actor_cast<caf::actor>(actor_of(other)), size, offset_self, offset_other);
}

pending<std::uint64_t> mapped_file::hamming_dist(const mapped_file& other,
                                                 std::optional<std::int64_t> size,
                                                 std::int64_t offset_self,
                                                 std::int64_t offset_other) const {
  return ask<std::uint64_t>("hamming_dist", detail::as_is{}, hamming_dist_atom_v,
                            caf::actor_cast<caf::actor>(actor_of(other)), size, offset_self,
                            offset_other);
}

pending<std::uint64_t> mapped_file::hamming_dist_bytes(const mapped_file& other,
                                                       std::optional<std::int64_t> size,
                                                       std::int64_t offset_self,
                                                       std::int64_t offset_other) const {
  return ask<std::uint64_t>("hamming_dist_bytes", detail::as_is{}, hamming_dist_bytes_atom_v,
                            caf::actor_cast<caf::actor>(actor_of(other)), size, offset_self,
                            offset_other);
}

pending<std::optional<std::uint64_t>> mapped_file::find(std::string_view sub, std::int64_t start,
                                                        std::optional<std::int64_t> end) const {
  return ask<std::int64_t>("find", found, find_atom_v, to_bytes(sub), start, end);
}

pending<std::optional<std::uint64_t>> mapped_file::rfind(std::string_view sub, std::int64_t start,
                                                         std::optional<std::int64_t> end) const {
  return ask<std::int64_t>("rfind", found, rfind_atom_v, to_bytes(sub), start, end);
}

pending<std::vector<std::uint64_t>> mapped_file::search(std::string_view pattern,
                                                        std::int64_t offset,
                                                        std::optional<std::int64_t> max_results,
                                                        bool overlapping) const {
  return ask<std::vector<std::uint64_t>, std::uint64_t>(
    "search", [](std::vector<std::uint64_t>&& hits, std::uint64_t&&) { return std::move(hits); },
    search_atom_v, to_bytes(pattern), offset, max_results, overlapping);
}

pending<mapped_file::search_page>
mapped_file::search_page_at(std::string_view pattern, std::int64_t offset,
                            std::optional<std::int64_t> max_results, bool overlapping) const {
  return ask<std::vector<std::uint64_t>, std::uint64_t>("search", detail::as<search_page>{},
                                                        search_atom_v, to_bytes(pattern), offset,
                                                        max_results, overlapping);
}

pending<void> mapped_file::madvise(map_advice advice, std::int64_t start,
                                   std::optional<std::int64_t> length) const {
  return ask<>("madvise", detail::as_is{}, madvise_atom_v, advice, start, length);
}

pending<mapped_file::file_status> mapped_file::stat() const {
  return ask<std::uint64_t, std::int64_t, std::uint32_t>(
    "stat",
    [](std::uint64_t size, std::int64_t mtime_ns, std::uint32_t mode) {
      using clock = std::chrono::system_clock;
      return file_status{size,
                         clock::time_point{std::chrono::duration_cast<clock::duration>(
                           std::chrono::nanoseconds{mtime_ns})},
                         static_cast<std::filesystem::perms>(mode) & std::filesystem::perms::mask};
    },
    stat_atom_v);
}

pending<void> mapped_file::close() {
  // A stopped runtime has closed every map already.
  if (!state_ || state_->released.exchange(true) || state_->core->stopped.load()) {
    return detail::ready_pending<void>();
  }
  return detail::ask<>(state_->core, state_->core->manager, "close", state_->path.string(),
                       detail::as_is{}, caf::close_atom_v, state_->file);
}

} // namespace actorio
