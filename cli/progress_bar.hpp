#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace actorio::cli {

/// "1.5 MiB", "812 B": binary units with one decimal from KiB up.
std::string human_bytes(double bytes);

/// One progress line of at most `width - 1` columns (the last column stays free so the terminal
/// never wraps): percentage, a bar, bytes done/total, rate and ETA, e.g.
/// " 42% [########......] 1.2 GiB/2.9 GiB 310.5 MiB/s ETA 0:06". A `total` of 0 means unknown:
/// then only the bytes done and the rate are shown. The bar is dropped before the numbers when
/// the terminal is narrow. Pure; no terminal control characters.
std::string render_progress(std::uint64_t done, std::uint64_t total,
                            std::chrono::duration<double> elapsed, std::size_t width);

} // namespace actorio::cli
