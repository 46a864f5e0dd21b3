#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actorio/operation.hpp"
#include "cli/command.hpp"

namespace actorio::cli {

/// Draws a progress line (render_progress) on stderr while a command works: only when `enabled`,
/// first after about a second (short jobs stay quiet), then every 100 ms, and erases it when the
/// job ends. Progress comes from several operations in flight, each known by an id.
///
/// Thread-safety: `report` and `finish` may be called from any thread (progress callbacks run on
/// actorio threads).
class progress_meter {
public:
  /// Whether a bar is wanted: stderr is a terminal and neither -q nor --no-progress was given.
  static bool wanted(const global_options& g);

  /// `total`: the bytes the whole job will process (0: unknown).
  progress_meter(bool enabled, std::uint64_t total);
  progress_meter(const progress_meter&) = delete;
  progress_meter& operator=(const progress_meter&) = delete;
  ~progress_meter();

  bool enabled() const noexcept {
    return enabled_;
  }

  /// Operation `id` has processed `done` bytes so far.
  void report(std::size_t id, std::uint64_t done);

  /// Operation `id` is complete: the bytes it reported last count as done for good.
  void finish(std::size_t id);

  /// Options for a bulk call that reports into this meter as operation `id` (none when the
  /// meter is off). The meter must outlive the call.
  bulk_options options_for(std::size_t id);

  /// Options for operation `id` when it is the whole job and knows its size: the `bytes_total`
  /// of its reports becomes the meter's total (a copy between nodes learns the source's size
  /// from its node, where this process cannot stat it).
  bulk_options options_for_whole_job(std::size_t id);

private:
  void draw_loop();

  bool enabled_;
  std::uint64_t total_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::uint64_t finished_bytes_ = 0;
  std::map<std::size_t, std::uint64_t> active_;
  std::thread drawer_;
};

/// The bytes of the regular files among `paths` (what cannot be stat'ed counts 0): the total a
/// progress bar shows. 0 with `--remote`: the paths name the server's files, not the client's.
std::uint64_t total_size(const global_options& g, const std::vector<std::string>& paths);

} // namespace actorio::cli
