// Round-trip latency of one facade call (`currently_open`: a request to the manager and back) and
// of a 4 KiB mapped_file read, under each CAF scheduler policy, measured in one run so the
// comparison holds on a noisy machine.
//
//   facade_latency [ITERATIONS]     (default 20000)
#include <actorio/actorio.hpp>

#include "latency.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

using actorio::bench::measure;

int main(int argc, char** argv) {
  int iterations = argc > 1 ? std::atoi(argv[1]) : 20000;
  std::string tmpl = (std::filesystem::temp_directory_path() / "actorio-bench-XXXXXX").string();
  std::filesystem::path dir = ::mkdtemp(tmpl.data());
  std::printf("%-10s %-22s %12s %12s\n", "policy", "call", "median_us", "p99_us");
  for (auto policy : {actorio::scheduler_policy::sharing, actorio::scheduler_policy::stealing}) {
    actorio::runtime_config cfg;
    cfg.scheduler = policy;
    actorio::runtime rt{cfg};
    auto mgr = rt.manager();
    auto file = mgr.create(dir / "f", 1 << 20, false).get();
    const char* name = policy == actorio::scheduler_policy::sharing ? "sharing" : "stealing";
    auto trip = measure(iterations, [&] { mgr.currently_open().get(); });
    std::printf("%-10s %-22s %12.1f %12.1f\n", name, "currently_open", trip.median_us, trip.p99_us);
    auto read = measure(iterations, [&] { file.read(8192, 4096).get(); });
    std::printf("%-10s %-22s %12.1f %12.1f\n", name, "mapped_file.read 4KiB", read.median_us,
                read.p99_us);
  }
  std::filesystem::remove_all(dir);
}
