// The "ours" side of bench/run: each command is one whole process doing one case through the
// public facade only, so bench/run can time it and read its peak RSS exactly as it does a peer's.
//
//   actorio_bench checksum ALGORITHM FILE...  one bulk_checksum; prints "HEX  PATH" per file, as
//                                             sha256sum / xxhsum -H2 do
//   actorio_bench find PATTERN FILE...        one find_in_files; prints "PATH:COUNT" per file, as
//                                             grep -F -c -a does
//   actorio_bench copy DST_DIR FILE...        one bulk_copy of the files into DST_DIR
//   actorio_bench latency ITERATIONS          facade latencies (incl. a 1-byte couple write→read,
//                                             "pipe_write_read_1B") and manager throughput, one
//                                             JSON object per line
//   actorio_bench pipe BYTES                  pushes BYTES through a double-ended pipe in 64 KiB
//                                             writes; prints {"op": "pipe", "bytes", "seconds"}
//                                             as peers/raw_pipe.cpp does
//   actorio_bench commands                    the commands above, one per line
//
// Files come on the command line, as they do to the peers, so both sides do the same work. The
// file commands end with one JSON summary line on stderr: {"op", "files", "seconds"} (seconds
// measured inside the process, from the request to its answer). Exit status 1 if any file failed
// (each failure is reported on stderr).
#include <actorio/actors.hpp>

#include "latency.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

void print_summary(const char* op, std::size_t files, double seconds) {
  std::fprintf(stderr, "{\"op\": \"%s\", \"files\": %zu, \"seconds\": %.6f}\n", op, files, seconds);
}

/// Prints each failed result; returns how many failed.
template <class Results>
int report_failures(const Results& results) {
  int failed = 0;
  for (auto& [path, r] : results)
    if (!r) {
      std::fprintf(stderr, "actorio_bench: %s\n", actorio::to_string(r.error()).c_str());
      ++failed;
    }
  return failed;
}

int run_checksum(const std::string& algorithm, const std::vector<fs::path>& files) {
  actorio::runtime rt;
  auto start = clock_type::now();
  auto sums = rt.manager().bulk_checksum(files, algorithm).get();
  auto seconds = seconds_since(start);
  for (auto& f : files)
    if (auto& r = sums.at(f))
      std::printf("%s  %s\n", r->c_str(), f.c_str());
  print_summary("checksum", files.size(), seconds);
  return report_failures(sums) == 0 ? 0 : 1;
}

int run_find(const std::string& pattern, const std::vector<fs::path>& files) {
  std::map<fs::path, std::int64_t> starts;
  for (auto& f : files)
    starts.emplace(f, 0);
  actorio::runtime rt;
  auto start = clock_type::now();
  auto hits = rt.manager().find_in_files(pattern, starts).get();
  auto seconds = seconds_since(start);
  for (auto& f : files) {
    auto i = hits.find(f);
    std::size_t count = i != hits.end() && i->second ? i->second->size() : 0;
    std::printf("%s:%zu\n", f.c_str(), count);
  }
  print_summary("find", files.size(), seconds);
  return report_failures(hits) == 0 ? 0 : 1;
}

int run_copy(const fs::path& dst_dir, const std::vector<fs::path>& files) {
  std::vector<std::pair<fs::path, fs::path>> pairs;
  for (auto& f : files)
    pairs.emplace_back(f, dst_dir / f.filename());
  actorio::runtime rt;
  auto start = clock_type::now();
  auto copied = rt.manager().bulk_copy(pairs).get();
  auto seconds = seconds_since(start);
  int failed = 0;
  for (std::size_t i = 0; i < copied.size(); ++i)
    if (!copied[i]) {
      std::fprintf(stderr, "actorio_bench: %s\n", actorio::to_string(copied[i].error()).c_str());
      ++failed;
    }
  print_summary("copy", files.size(), seconds);
  return failed == 0 ? 0 : 1;
}

using actorio::bench::measure;

void print_latency(const char* call, actorio::bench::latency s) {
  std::printf("{\"call\": \"%s\", \"median_us\": %.2f, \"p99_us\": %.2f}\n", call, s.median_us,
              s.p99_us);
}

/// Facade calls per second through the manager from `threads` caller threads, each keeping
/// `window` calls in flight, as a server with many clients would.
double calls_per_second(const actorio::mmap_manager& mgr, int threads, int calls_per_thread) {
  constexpr std::size_t window = 16;
  std::atomic<bool> go{false};
  std::vector<std::thread> callers;
  for (int t = 0; t < threads; ++t)
    callers.emplace_back([&] {
      while (!go.load())
        std::this_thread::yield();
      std::deque<std::future<std::uint64_t>> in_flight;
      for (int i = 0; i < calls_per_thread; ++i) {
        if (in_flight.size() == window) {
          in_flight.front().get();
          in_flight.pop_front();
        }
        in_flight.push_back(mgr.currently_open());
      }
      for (auto& f : in_flight)
        f.get();
    });
  auto start = clock_type::now();
  go = true;
  for (auto& c : callers)
    c.join();
  return threads * static_cast<double>(calls_per_thread) / seconds_since(start);
}

/// The floor of any call that hands its work to another thread and waits for the answer: two
/// threads wake each other through a condition variable each way, with no actor system involved.
/// A facade call costs at least this (a CAF worker is woken for the request, the caller for the
/// reply); on an idle virtual machine each wake-up of a halted CPU costs tens of microseconds.
actorio::bench::latency thread_ping_pong(int iterations) {
  std::mutex lock;
  std::condition_variable changed;
  std::uint64_t sent = 0;
  std::uint64_t answered = 0;
  bool stop = false;
  std::thread echo{[&] {
    std::unique_lock<std::mutex> guard{lock};
    for (;;) {
      changed.wait(guard, [&] { return stop || sent > answered; });
      if (stop)
        return;
      answered = sent;
      changed.notify_all();
    }
  }};
  auto result = measure(iterations, [&] {
    std::unique_lock<std::mutex> guard{lock};
    auto mine = ++sent;
    changed.notify_all();
    changed.wait(guard, [&] { return answered >= mine; });
  });
  {
    std::lock_guard<std::mutex> guard{lock};
    stop = true;
  }
  changed.notify_all();
  echo.join();
  return result;
}

int run_latency(int iterations) {
  std::string tmpl = (fs::temp_directory_path() / "actorio-bench-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("actorio_bench: mkdtemp");
    return 1;
  }
  fs::path dir = tmpl;
  {
    actorio::runtime rt;
    auto mgr = rt.manager();
    auto file = mgr.create(dir / "f", 1 << 20, false).get();
    print_latency("thread_ping_pong", thread_ping_pong(iterations));
    print_latency("currently_open", measure(iterations, [&] { mgr.currently_open().get(); }));
    print_latency("mapped_file.read_4KiB",
                  measure(iterations, [&] { file.read(8192, 4096).get(); }));
    // The peer: the same request sent by message from a blocking CAF actor, with no facade.
    caf::scoped_actor self{rt.system()};
    auto manager = actor_of(mgr);
    print_latency("raw_caf_request", measure(iterations, [&] {
                    self->request(manager, caf::infinite, actorio::currently_open_atom_v)
                      .receive([](std::uint64_t) {}, [](caf::error&) { std::abort(); });
                  }));
    // The same with the facade's finite timeout, which CAF registers with its clock thread: the
    // difference is what one timeout per request costs.
    auto timeout = rt.config().request_timeout;
    print_latency("raw_caf_request_with_timeout", measure(iterations, [&] {
                    self->request(manager, timeout, actorio::currently_open_atom_v)
                      .receive([](std::uint64_t) {}, [](caf::error&) { std::abort(); });
                  }));
    for (int threads : {1, 2, 8})
      std::printf("{\"call\": \"currently_open_throughput\", \"threads\": %d, \"per_s\": %.0f}\n",
                  threads, calls_per_second(mgr, threads, std::max(iterations / threads, 16)));
    file.close().get();
    auto [a, b] = rt.double_ended_binary_pipe();
    print_latency("pipe_write_read_1B", measure(iterations, [&] {
                    a.write("x").get();
                    a.flush().get();
                    b.read1(1).get();
                  }));
  }
  fs::remove_all(dir);
  return 0;
}

/// The couples' throughput case: a writer thread makes 64 KiB writes to one end of a double-ended
/// pipe without waiting for each (calls from one thread arrive in order), while this thread reads
/// the other end, keeping a few reads in flight, as a pipeline stage would.
int run_pipe(std::uint64_t total) {
  constexpr std::size_t chunk = 64 * 1024;
  constexpr std::size_t window = 8;
  actorio::runtime rt;
  auto [a, b] = rt.double_ended_binary_pipe();
  auto start = clock_type::now();
  std::thread writer([&, &a = a] {
    std::string data(chunk, 'x');
    std::deque<std::future<std::uint64_t>> in_flight;
    for (std::uint64_t sent = 0; sent < total; sent += chunk) {
      if (in_flight.size() == window) {
        in_flight.front().get();
        in_flight.pop_front();
      }
      in_flight.push_back(a.write(data.substr(0, std::min<std::uint64_t>(chunk, total - sent))));
    }
    for (auto& f : in_flight)
      f.get();
    a.flush().get();
  });
  std::uint64_t got = 0;
  std::deque<actorio::operation<std::string>> reads;
  while (got < total) {
    while (reads.size() < window)
      reads.push_back(b.read1(static_cast<std::int64_t>(chunk)));
    auto s = reads.front().get();
    reads.pop_front();
    if (s.empty())
      break;
    got += s.size();
  }
  writer.join();
  auto seconds = seconds_since(start);
  std::printf("{\"op\": \"pipe\", \"bytes\": %llu, \"seconds\": %.6f}\n",
              static_cast<unsigned long long>(got), seconds);
  return got == total ? 0 : 1;
}

int usage() {
  std::fputs("usage: actorio_bench checksum ALGORITHM FILE... | find PATTERN FILE... | copy DST_DIR"
             " FILE... | latency ITERATIONS | pipe BYTES | commands\n",
             stderr);
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view{argv[1]} == "commands") {
    std::puts("checksum\nfind\ncopy\nlatency\npipe");
    return 0;
  }
  if (argc < 3)
    return usage();
  std::string command = argv[1];
  std::vector<fs::path> files(argv + std::min(argc, 3), argv + argc);
  try {
    if (command == "checksum" && !files.empty())
      return run_checksum(argv[2], files);
    if (command == "find" && !files.empty())
      return run_find(argv[2], files);
    if (command == "copy" && !files.empty())
      return run_copy(argv[2], files);
    if (command == "pipe" && argc == 3)
      return run_pipe(std::strtoull(argv[2], nullptr, 10));
    if (command == "latency" && argc == 3)
      return run_latency(std::max(std::atoi(argv[2]), 10));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "actorio_bench: %s\n", e.what());
    return 1;
  }
  return usage();
}
