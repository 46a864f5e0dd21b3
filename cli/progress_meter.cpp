#include "cli/progress_meter.hpp"

#include <string>

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/progress_bar.hpp"

namespace actorio::cli {

namespace {

constexpr auto first_draw_after = std::chrono::seconds(1);
constexpr auto redraw_every = std::chrono::milliseconds(100);

std::size_t terminal_width() {
  winsize ws{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return ws.ws_col;
  return 80;
}

void put(const std::string& text) {
  // Best effort: a failed write to the terminal must not fail the job.
  auto n = ::write(STDERR_FILENO, text.data(), text.size());
  (void)n;
}

} // namespace

std::uint64_t total_size(const global_options& g, const std::vector<std::string>& paths) {
  if (!g.remote.empty())
    return 0;
  std::uint64_t total = 0;
  for (const auto& p : paths) {
    struct stat st;
    if (::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode))
      total += static_cast<std::uint64_t>(st.st_size);
  }
  return total;
}

bool progress_meter::wanted(const global_options& g) {
  return !g.quiet && !g.no_progress && ::isatty(STDERR_FILENO) == 1;
}

progress_meter::progress_meter(bool enabled, std::uint64_t total)
  : enabled_(enabled)
  , total_(total) {
  if (enabled_)
    drawer_ = std::thread{[this] { draw_loop(); }};
}

progress_meter::~progress_meter() {
  if (!enabled_)
    return;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stop_ = true;
  }
  stop_cv_.notify_all();
  drawer_.join();
}

void progress_meter::report(std::size_t id, std::uint64_t done) {
  std::lock_guard<std::mutex> guard{mutex_};
  active_[id] = done;
}

void progress_meter::finish(std::size_t id) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (auto i = active_.find(id); i != active_.end()) {
    finished_bytes_ += i->second;
    active_.erase(i);
  }
}

bulk_options progress_meter::options_for(std::size_t id) {
  bulk_options opts;
  if (enabled_)
    opts.on_progress = [this, id](const progress& p) { report(id, p.bytes_done); };
  return opts;
}

bulk_options progress_meter::options_for_whole_job(std::size_t id) {
  bulk_options opts;
  if (enabled_)
    opts.on_progress = [this, id](const progress& p) {
      std::lock_guard<std::mutex> guard{mutex_};
      if (p.bytes_total > 0)
        total_ = p.bytes_total;
      active_[id] = p.bytes_done;
    };
  return opts;
}

void progress_meter::draw_loop() {
  std::unique_lock<std::mutex> lock{mutex_};
  if (stop_cv_.wait_until(lock, start_ + first_draw_after, [this] { return stop_; }))
    return;
  std::string shown;
  do {
    auto done = finished_bytes_;
    for (auto& [id, bytes] : active_)
      done += bytes;
    auto elapsed = std::chrono::steady_clock::now() - start_;
    auto line = render_progress(done, total_, elapsed, terminal_width());
    lock.unlock();
    if (line != shown) {
      // "\r" back to the start, the line, then erase whatever a longer previous line left.
      put("\r" + line + "\x1b[K");
      shown = std::move(line);
    }
    lock.lock();
  } while (!stop_cv_.wait_for(lock, redraw_every, [this] { return stop_; }));
  if (!shown.empty())
    put("\r\x1b[K");
}

} // namespace actorio::cli
