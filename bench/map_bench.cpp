// Random 4 KiB reads and writes of one file through a map, against the same work done with
// pread/pwrite in this process, in one run (bench/run's "maps" rows). Prints one JSON object per
// line: {"case", "threads", "per_s"} (operations per second, all threads together).
//
//   map_bench FILE SECONDS_PER_CASE [CASE...]      (only the named cases; all by default)
//
// FILE should be large (bench/run uses 1 GiB) and in the page cache: every read is of a page the
// kernel holds. Cases:
//   pread / map_read           one map, pages already touched through it, 1, 2 and 8 threads
//   pread_first / map_first    pages in the page cache but never touched through this map
//   actor_read                 a CAF actor's own request loop to the map actor (no facade)
//   pwrite / map_write         random 4 KiB writes of the same data
//   pread_2t_100k / bulk_read  100,000 random ranges: two pread threads against one bulk_read
//   manager                    currently_open calls per second from 1 and 8 threads
#include <actorio/actors.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::int64_t page = 4096;

void print(const char* name, int threads, double per_s) {
  std::printf("{\"case\": \"%s\", \"threads\": %d, \"per_s\": %.0f}\n", name, threads, per_s);
  std::fflush(stdout);
}

/// Page-aligned offsets, a fixed sequence per thread.
std::vector<std::int64_t> random_offsets(std::int64_t file_size, int seed, std::size_t n) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
  std::uniform_int_distribution<std::int64_t> pick(0, file_size / page - 1);
  std::vector<std::int64_t> v(n);
  for (auto& x : v)
    x = pick(rng) * page;
  return v;
}

/// Runs `op(thread, i)` from `threads` threads for `seconds`; operations per second in all.
///
/// The window opens once every thread is running and closes when they are told to stop, so that
/// neither starting the threads nor joining them is timed: with more threads than cores, a
/// thread preempted when the window closes may wait a scheduler period (tens of milliseconds on
/// a busy machine) before it runs again, sees the stop and can be joined, and that wait said
/// nothing about the operation measured.
double run_for(int threads, double seconds, const std::function<void(int, std::size_t)>& op) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> total{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load())
        std::this_thread::yield();
      std::uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed))
        op(t, n++);
      total += n;
    });
  while (ready.load() < threads)
    std::this_thread::yield();
  auto start = clock_type::now();
  go = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  auto elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  for (auto& th : ts)
    th.join();
  // Operations under way when the window closed are counted: at most one per thread.
  return static_cast<double>(total) / elapsed;
}

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "map_bench: %s\n", what);
    std::exit(1);
  }
}

/// What the actor_read case's actor shares with main.
struct actor_loop {
  const std::vector<std::int64_t>* offsets;
  std::atomic<bool> stop;
  std::atomic<std::uint64_t> done;
};

/// Sends read number `i` to `map` and, on its answer, the next one, until told to stop.
void read_next(caf::event_based_actor* self, const actorio::mapped_file_actor& map,
               actor_loop* loop, std::size_t i) {
  if (loop->stop.load(std::memory_order_relaxed)) {
    self->quit();
    return;
  }
  auto offset = (*loop->offsets)[i % loop->offsets->size()];
  self->request(map, caf::infinite, actorio::read_atom_v, offset, page)
    .then([self, map, loop, i](actorio::bytes& b) {
      check(b.size() == page, "short actor read");
      loop->done.fetch_add(1, std::memory_order_relaxed);
      read_next(self, map, loop, i + 1);
    });
}

/// The file every case reads: its descriptor for the peer rows and the random page offsets each
/// of up to 8 threads reads in turn.
struct bench_file {
  static constexpr std::size_t per_thread = 1 << 16;
  std::string path;
  int fd = -1;
  std::int64_t size = 0;
  std::vector<std::vector<std::int64_t>> offsets;

  std::int64_t at(int t, std::size_t i) const {
    return offsets[static_cast<std::size_t>(t)][i % per_thread];
  }
};

bench_file open_bench_file(std::string path) {
  bench_file b;
  b.path = std::move(path);
  b.fd = ::open(b.path.c_str(), O_RDWR);
  check(b.fd >= 0, "cannot open the file");
  struct stat st {};
  ::fstat(b.fd, &st);
  b.size = static_cast<std::int64_t>(st.st_size);
  check(b.size >= 64 * page, "the file must hold at least 64 pages");
  for (int t = 0; t < 8; ++t)
    b.offsets.push_back(random_offsets(b.size, t + 1, bench_file::per_thread));
  return b;
}

/// A CAF actor that keeps one read in flight to the map actor, as an embedder's would.
void actor_read_case(actorio::runtime& rt, const actorio::mapped_file& file, const bench_file& b,
                     double seconds) {
  actor_loop loop{&b.offsets[0], {false}, {0}};
  auto reader = rt.system().spawn([&loop, map = actor_of(file)](caf::event_based_actor* self) {
    read_next(self, map, &loop, 0);
  });
  auto start = clock_type::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  loop.stop = true;
  auto elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  print("actor_read", 1, static_cast<double>(loop.done.load()) / elapsed);
  caf::scoped_actor self{rt.system()};
  self->wait_for(reader);
}

/// First touch: a fresh map whose pages were never touched in this process, read in random page
/// order, each page once; pread reads the same pages from the page cache. Returns the fresh map,
/// which replaces `file` (closed here).
actorio::mapped_file first_touch_case(actorio::mmap_manager& mgr, actorio::mapped_file& file,
                                      const bench_file& b) {
  std::vector<std::int64_t> pages(static_cast<std::size_t>(b.size / page));
  for (std::size_t i = 0; i < pages.size(); ++i)
    pages[i] = static_cast<std::int64_t>(i) * page;
  std::shuffle(pages.begin(), pages.end(), std::mt19937_64{7});
  file.close().get();
  auto fresh = mgr.open(b.path).get();
  std::size_t n = std::min<std::size_t>(pages.size(), 1 << 17);
  auto start = clock_type::now();
  for (std::size_t i = 0; i < n; ++i)
    check(fresh.read(pages[i], page).get().size() == page, "short first-touch read");
  print("map_first", 1,
        static_cast<double>(n) / std::chrono::duration<double>(clock_type::now() - start).count());
  start = clock_type::now();
  for (std::size_t i = 0; i < n; ++i) {
    char buf[page];
    check(::pread(b.fd, buf, page, pages[i]) == page, "short pread");
  }
  print("pread_first", 1,
        static_cast<double>(n) / std::chrono::duration<double>(clock_type::now() - start).count());
  return fresh;
}

/// 4 KiB random writes of the bytes already there, through the map and by pwrite.
void write_case(const actorio::mapped_file& file, const bench_file& b, double seconds) {
  std::vector<char> orig(page);
  print("pwrite", 1, run_for(1, seconds, [&](int, std::size_t i) {
          auto off = b.at(0, i);
          check(::pread(b.fd, orig.data(), page, off) == page, "short pread");
          check(::pwrite(b.fd, orig.data(), page, off) == page, "short pwrite");
        }));
  print("map_write", 1, run_for(1, seconds, [&](int, std::size_t i) {
          auto off = b.at(0, i);
          auto data = file.read(off, page).get();
          check(file.write(std::string_view{data.data(), data.size()}, off).get() == page,
                "short map write");
        }));
}

/// 100,000 random 4 KiB ranges in one bulk_read, against two pread threads doing the same work by
/// hand (`pread_2t_100k`): each reads its half of the ranges into its half of one new buffer that
/// keeps them all, as bulk_read's caller gets them, placed as byte_pieces places its buffers (one
/// cache line past a page boundary, where the kernel's copy runs fastest). `pread_2t_100k_l1`
/// reads every range into one 4 KiB buffer on the stack instead: it keeps nothing, and its
/// destination never leaves the L1 cache, so it is printed as the floor of the reads alone.
void bulk_read_case(actorio::mmap_manager& mgr, const bench_file& b) {
  constexpr std::size_t ranges = 100000;
  std::vector<actorio::byte_range> rs;
  for (std::size_t i = 0; i < ranges; ++i)
    rs.push_back({b.at(static_cast<int>(i % 8), i / 8), page});
  auto two_threads = [&](const char* name, auto read_half) {
    auto start = clock_type::now();
    std::vector<std::thread> ts;
    for (std::size_t t = 0; t < 2; ++t)
      ts.emplace_back([&, t] { read_half(t * ranges / 2, (t + 1) * ranges / 2); });
    for (auto& th : ts)
      th.join();
    print(name, 2, ranges / std::chrono::duration<double>(clock_type::now() - start).count());
  };
  two_threads("pread_2t_100k_l1", [&](std::size_t first, std::size_t last) {
    char buf[page];
    for (std::size_t i = first; i < last; ++i)
      check(::pread(b.fd, buf, page, rs[i].offset) == page, "short pread");
  });
  {
    // Allocating maps no page: the pages are faulted in by the reads, inside the timed window.
    std::unique_ptr<char[]> kept(new char[ranges * page + 2 * page]);
    auto* at = kept.get() + (page - reinterpret_cast<std::uintptr_t>(kept.get()) % page) + 64;
    two_threads("pread_2t_100k", [&](std::size_t first, std::size_t last) {
      for (std::size_t i = first; i < last; ++i)
        check(::pread(b.fd, at + i * page, page, rs[i].offset) == page, "short pread");
    });
  }
  auto start = clock_type::now();
  auto r = mgr.bulk_read({{b.path, rs}}).get();
  check(r.at(b.path) && r.at(b.path)->size() == ranges, "bulk_read failed");
  print("bulk_read_100k", 1,
        ranges / std::chrono::duration<double>(clock_type::now() - start).count());
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: map_bench FILE SECONDS_PER_CASE [CASE...]\n");
    return 2;
  }
  std::vector<std::string> only(argv + 3, argv + argc);
  auto want = [&](const char* name) {
    return only.empty() || std::find(only.begin(), only.end(), name) != only.end();
  };
  double seconds = std::atof(argv[2]);
  auto b = open_bench_file(argv[1]);

  actorio::runtime rt;
  auto mgr = rt.manager();
  auto file = mgr.open(b.path).get();
  // Touches every page through the map once, so the map_read rows see resident, mapped pages.
  for (std::int64_t off = 0; off < b.size; off += std::int64_t{1} << 24)
    file.read(off, std::int64_t{1} << 24).get();

  for (int threads : {1, 2, 8}) {
    if (want("pread"))
      print("pread", threads, run_for(threads, seconds, [&](int t, std::size_t i) {
              char buf[page];
              check(::pread(b.fd, buf, page, b.at(t, i)) == page, "short pread");
            }));
    if (want("map_read"))
      print("map_read", threads, run_for(threads, seconds, [&](int t, std::size_t i) {
              check(file.read(b.at(t, i), page).get().size() == page, "short map read");
            }));
  }
  if (want("actor_read"))
    actor_read_case(rt, file, b, seconds);
  if (want("map_first"))
    file = first_touch_case(mgr, file, b);
  if (want("map_write"))
    write_case(file, b, seconds);
  if (want("bulk_read"))
    bulk_read_case(mgr, b);
  for (int threads : {1, 8})
    if (want("manager"))
      print("manager", threads,
            run_for(threads, seconds, [&](int, std::size_t) { mgr.currently_open().get(); }));
  file.close().get();
  ::close(b.fd);
  return 0;
}
