#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace actorio::bench {

/// Median and 99th percentile of one call's round trip, in microseconds.
struct latency {
  double median_us;
  double p99_us;
};

/// Times `iterations` calls of `call`, one at a time, after a warm-up of a tenth as many.
template <class Call>
latency measure(int iterations, Call call) {
  using clock_type = std::chrono::steady_clock;
  for (int i = 0; i < iterations / 10; ++i)
    call();
  std::vector<double> samples;
  samples.reserve(iterations);
  for (int i = 0; i < iterations; ++i) {
    auto start = clock_type::now();
    call();
    samples.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - start).count());
  }
  std::sort(samples.begin(), samples.end());
  return {samples[samples.size() / 2], samples[samples.size() * 99 / 100]};
}

} // namespace actorio::bench
