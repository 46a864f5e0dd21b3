#include "cli/progress_bar.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace actorio::cli {

namespace {

std::string format(const char* fmt, double x) {
  std::array<char, 64> buf;
  std::snprintf(buf.data(), buf.size(), fmt, x);
  return buf.data();
}

/// "M:SS", or "H:MM:SS" from an hour up.
std::string clock_text(double seconds) {
  auto s = static_cast<std::uint64_t>(std::llround(seconds));
  std::array<char, 32> buf;
  if (s >= 3600)
    std::snprintf(
      buf.data(), buf.size(), "%llu:%02llu:%02llu", static_cast<unsigned long long>(s / 3600),
      static_cast<unsigned long long>(s / 60 % 60), static_cast<unsigned long long>(s % 60));
  else
    std::snprintf(buf.data(), buf.size(), "%llu:%02llu", static_cast<unsigned long long>(s / 60),
                  static_cast<unsigned long long>(s % 60));
  return buf.data();
}

} // namespace

std::string human_bytes(double bytes) {
  static constexpr std::array<const char*, 6> units{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024)
    return format("%.0f B", bytes);
  std::size_t unit = 0;
  bytes /= 1024;
  while (bytes >= 1024 && unit + 1 < units.size()) {
    bytes /= 1024;
    ++unit;
  }
  return format("%.1f ", bytes) + units[unit];
}

std::string render_progress(std::uint64_t done, std::uint64_t total,
                            std::chrono::duration<double> elapsed, std::size_t width) {
  if (width < 2)
    return {};
  auto cols = width - 1;
  bool known = total > 0;
  if (known)
    done = std::min(done, total);
  double secs = elapsed.count();
  double rate = secs > 0 ? static_cast<double>(done) / secs : 0.0;
  std::string numbers = human_bytes(static_cast<double>(done));
  if (known)
    numbers += "/" + human_bytes(static_cast<double>(total));
  numbers += " " + human_bytes(rate) + "/s";
  std::string head;
  if (known) {
    auto ratio = static_cast<double>(done) / static_cast<double>(total);
    head = format("%3.0f%%", std::floor(ratio * 100));
    if (done == total)
      numbers += " ETA 0:00";
    else if (rate > 0)
      numbers += " ETA " + clock_text(static_cast<double>(total - done) / rate);
    else
      numbers += " ETA --:--";
    // The bar takes what is left after "NNN% [" "] " and the numbers; below 10 cells it says
    // too little to be worth the room.
    auto fixed = head.size() + 3 + 1 + numbers.size();
    if (cols >= fixed + 10) {
      auto cells = cols - fixed;
      auto filled = static_cast<std::size_t>(ratio * static_cast<double>(cells));
      head += " [" + std::string(filled, '#') + std::string(cells - filled, '.') + "]";
    }
    head += " ";
  }
  auto line = head + numbers;
  if (line.size() > cols)
    line.resize(cols);
  return line;
}

} // namespace actorio::cli
