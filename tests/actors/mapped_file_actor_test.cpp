#define BOOST_TEST_MODULE mapped_file_actor_test
#include <boost/test/unit_test.hpp>

#include "actors/mapped_file_actor.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actorio/actors.hpp"
#include "actorio/system_config.hpp"
#include "support/files.hpp"
#include "support/runtime_fixture.hpp"
#include "support/temp_dir.hpp"

// The map actor alone, with an io worker pool of one worker that a test can keep busy: an answer
// that arrives while the worker is busy was served without it; one that waits for the worker was
// not. Then the same actor through the facade, with readers, a writer, a resizer and a truncating
// process at once.

using namespace actorio;
using namespace actorio::detail;
using actorio::test::read_file;
using actorio::test::temp_dir;
using actorio::test::write_file;

namespace {

constexpr auto timeout = std::chrono::seconds(20);
constexpr std::int64_t page = 4096;

/// A map actor over `path` with one io worker, and a way to keep that worker busy.
struct map_fixture {
  temp_dir dir;
  system_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<io_worker_pool> pool = std::make_shared<io_worker_pool>(sys, 1);
  caf::scoped_actor self{sys};
  std::promise<void> release_worker;

  ~map_fixture() {
    pool->stop();
  }

  mapped_file_actor spawn_map(const std::string& path) {
    auto r = mapped_region::open(path, open_mode::read_write, 0, false);
    BOOST_REQUIRE_MESSAGE(r, (r ? "" : to_string(r.error())));
    return sys.spawn<mapped_file_class>(std::make_shared<mapped_region>(std::move(*r)), pool,
                                        std::string{"sha256"}, self->address());
  }

  /// Occupies the one worker until `release_worker` is set; returns once the job runs.
  void occupy_worker() {
    auto started = std::make_shared<std::promise<void>>();
    auto running = started->get_future();
    auto until = release_worker.get_future().share();
    sys.spawn([this, started, until](caf::event_based_actor* s) {
      pool->run(
        s,
        [started, until]() -> result<int> {
          started->set_value();
          until.wait();
          return 0;
        },
        [s](result<int>&&) { s->quit(); }, false);
    });
    running.wait();
  }

  caf::expected<bytes> read(const mapped_file_actor& map, std::int64_t offset, std::int64_t size,
                            caf::timespan wait = timeout) {
    caf::expected<bytes> r{caf::error{}};
    self->request(map, wait, read_atom_v, offset, size)
      .receive([&](bytes& b) { r = std::move(b); }, [&](caf::error& err) { r = std::move(err); });
    return r;
  }
};

std::string text(const bytes& b) {
  return std::string(b.begin(), b.end());
}

/// Drops `path`'s pages from the page cache -> false when the kernel kept some (then the test
/// cannot tell the paths apart).
bool drop_from_page_cache(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0)
    return false;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  struct stat st {};
  ::fstat(fd, &st);
  void* p = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED)
    return false;
  std::vector<unsigned char> vec(static_cast<std::size_t>((st.st_size + page - 1) / page));
  bool dropped = ::mincore(p, static_cast<std::size_t>(st.st_size), vec.data()) == 0;
  for (auto v : vec)
    dropped = dropped && (v & 1) == 0;
  ::munmap(p, static_cast<std::size_t>(st.st_size));
  return dropped;
}

/// Precondition of the tests that tell a read from the page cache from one that faults pages in.
boost::test_tools::assertion_result page_cache_can_be_dropped(boost::unit_test::test_unit_id) {
  actorio::test::temp_dir probe;
  auto path = (probe / "probe").string();
  actorio::test::write_file(path, std::string(4 * page, 'p'));
  if (drop_from_page_cache(path))
    return {true};
  boost::test_tools::assertion_result res(false);
  res.message() << "the kernel keeps the pages of a file in " << probe.path().string();
  return res;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(mapped_file_actor_alone, map_fixture)

BOOST_AUTO_TEST_CASE(close_and_grow_from_anyone_but_the_manager_are_eperm_and_the_map_stays) {
  auto path = (dir / "f").string();
  write_file(path, "kept open");
  auto map = spawn_map(path); // `self` is its manager
  // Untyped, as a peer could send them: the public interface has neither.
  caf::scoped_actor stranger{sys};
  caf::error refused;
  stranger->request(caf::actor_cast<caf::actor>(map), timeout, caf::close_atom_v)
    .receive([] {}, [&](caf::error& err) { refused = std::move(err); });
  BOOST_REQUIRE(refused);
  BOOST_TEST(to_failure(refused, "close", "").code == EPERM);
  refused = caf::error{};
  stranger->request(caf::actor_cast<caf::actor>(map), timeout, grow_atom_v, std::int64_t{1 << 20})
    .receive([](std::uint64_t) {}, [&](caf::error& err) { refused = std::move(err); });
  BOOST_REQUIRE(refused);
  BOOST_TEST(to_failure(refused, "grow", "").code == EPERM);
  BOOST_TEST(std::filesystem::file_size(path) == 9u);
  auto r = read(map, 0, 4);
  BOOST_REQUIRE_MESSAGE(r, (r ? "" : sys.render(r.error())));
  BOOST_TEST(text(*r) == "kept");
  caf::error closed;
  self->request(caf::actor_cast<mapped_file_internal>(map), timeout, caf::close_atom_v)
    .receive([] {}, [&](caf::error& err) { closed = std::move(err); });
  BOOST_TEST(!closed);
}

BOOST_AUTO_TEST_CASE(a_read_of_resident_pages_is_answered_while_the_worker_is_busy) {
  auto path = (dir / "f").string();
  write_file(path, std::string(3 * page, 'r'));
  auto map = spawn_map(path);
  BOOST_REQUIRE(read(map, 0, -1)); // resident now, whatever the page cache held before
  occupy_worker();
  auto r = read(map, page, 10, std::chrono::seconds(5));
  release_worker.set_value();
  BOOST_REQUIRE_MESSAGE(r, (r ? "" : sys.render(r.error())));
  BOOST_TEST(text(*r) == std::string(10, 'r'));
}

BOOST_AUTO_TEST_CASE(a_read_of_pages_not_in_the_page_cache_waits_for_the_worker,
                     *boost::unit_test::precondition(page_cache_can_be_dropped)) {
  auto path = (dir / "f").string();
  write_file(path, std::string(4 * page, 'c'));
  BOOST_REQUIRE(drop_from_page_cache(path));
  auto map = spawn_map(path);
  occupy_worker();
  std::atomic<bool> answered{false};
  std::string got;
  std::thread reader{[&] {
    caf::scoped_actor me{sys};
    me->request(map, timeout, read_atom_v, std::int64_t{2 * page}, std::int64_t{8})
      .receive([&](bytes& b) { got = text(b); }, [&](caf::error& err) { got = sys.render(err); });
    answered = true;
  }};
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  BOOST_TEST(!answered.load());
  release_worker.set_value();
  reader.join();
  BOOST_TEST(got == std::string(8, 'c'));
}

BOOST_AUTO_TEST_CASE(a_read_sent_after_a_queued_write_sees_that_write) {
  auto path = (dir / "f").string();
  write_file(path, std::string(2 * page, 'a'));
  auto map = spawn_map(path);
  BOOST_REQUIRE(read(map, 0, -1));
  occupy_worker();
  // The write grows the file, so it waits for the worker; the read of resident pages after it
  // from the same sender must wait behind it instead of being answered at once.
  self->send(map, write_atom_v, bytes{'b', 'b', 'b', 'b'}, std::int64_t{2 * page - 2});
  std::atomic<bool> done{false};
  std::thread later{[&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    release_worker.set_value();
    done = true;
  }};
  auto r = read(map, 2 * page - 4, 6);
  later.join();
  BOOST_REQUIRE_MESSAGE(r, (r ? "" : sys.render(r.error())));
  BOOST_TEST(text(*r) == "aabbbb");
  BOOST_TEST(done.load());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(mapped_file_actor_shared, actorio::test::runtime_fixture)

BOOST_AUTO_TEST_CASE(a_write_then_a_read_from_one_thread_and_from_one_actor_stay_in_order) {
  write_file(path("f"), std::string(8 * page, '0'));
  auto f = mgr.open(path("f")).get();
  f.read().get();
  for (int i = 0; i < 200; ++i) {
    auto at = static_cast<std::int64_t>((i * 7919) % (8 * page - 8));
    auto word = std::to_string(10000000 + i);
    f.write(word, at); // not awaited: the read must still see it
    BOOST_TEST(text(f.read(at, 8).get()) == word);
  }
  // The same from an actor that sends both without waiting for the first answer.
  std::promise<std::string> seen;
  rt.system().spawn([map = actor_of(f), &seen](caf::event_based_actor* self) {
    self
      ->request(map, timeout, write_atom_v, bytes{'a', 'c', 't', 'o', 'r'}, std::int64_t{page + 1})
      .then([](std::uint64_t) {});
    self->request(map, timeout, read_atom_v, std::int64_t{page + 1}, std::int64_t{5})
      .then([&seen](bytes& b) { seen.set_value(text(b)); },
            [&seen](caf::error& err) { seen.set_value(to_string(err)); });
  });
  BOOST_TEST(seen.get_future().get() == "actor");
}

BOOST_AUTO_TEST_CASE(a_handle_reads_pages_not_in_the_page_cache_through_the_actor,
                     *boost::unit_test::precondition(page_cache_can_be_dropped)) {
  // The handle reads resident pages itself; these are not resident, so the read must still be
  // answered, by the map's actor and its worker.
  write_file(path("f"), std::string(3 * page, 'x') + std::string(page, 'y'));
  auto f = mgr.open(path("f")).get();
  BOOST_REQUIRE(drop_from_page_cache(path("f")));
  BOOST_TEST(text(f.read(3 * page - 2, 4).get()) == "xxyy");
  BOOST_TEST(text(f.read(3 * page + 10, 2).get()) == "yy");
}

BOOST_AUTO_TEST_CASE(readers_a_writer_and_a_resizer_at_once_never_see_a_torn_block) {
  // Each block of 4 KiB holds one byte value throughout: the writer rewrites whole blocks, so a
  // read that saw a write half done would hold two values. The resizer grows and shrinks the
  // file past the blocks the others use, which remaps the map under them.
  constexpr int blocks = 64;
  write_file(path("f"), std::string(blocks * page, 'A'));
  auto f = mgr.open(path("f")).get();
  f.read().get();
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0}, failed{0}, reads{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      while (!stop) {
        auto b = static_cast<std::int64_t>(rng() % blocks);
        try {
          auto data = f.read(b * page, page).get();
          if (data.size() != page ||
              std::count(data.begin(), data.end(), data[0]) != static_cast<long>(page))
            ++torn;
          ++reads;
        } catch (const io_error&) {
          ++failed;
        }
      }
    });
  std::vector<char> model(blocks, 'A');
  threads.emplace_back([&] {
    std::mt19937 rng(99);
    for (int i = 0; i < 400; ++i) {
      auto b = static_cast<int>(rng() % blocks);
      char v = static_cast<char>('B' + i % 20);
      f.write(std::string(page, v), std::int64_t{b} * page).get();
      model[static_cast<std::size_t>(b)] = v;
    }
    stop = true;
  });
  std::thread resizer{[&] {
    for (int i = 0; !stop; ++i)
      f.resize(std::int64_t{blocks} * page + (i % 2 == 0 ? 64 * page + 7 : 0)).get();
  }};
  for (auto& t : threads)
    t.join();
  resizer.join();
  f.resize(std::int64_t{blocks} * page).get();
  BOOST_TEST(torn.load() == 0);
  BOOST_TEST(failed.load() == 0);
  BOOST_TEST(reads.load() > 0);
  f.sync().get();
  auto content = read_file(path("f"));
  BOOST_REQUIRE(content.size() == static_cast<std::size_t>(blocks * page));
  for (int b = 0; b < blocks; ++b)
    BOOST_TEST(content[static_cast<std::size_t>(b) * page] == model[static_cast<std::size_t>(b)]);
}

BOOST_AUTO_TEST_CASE(a_file_truncated_under_eight_readers_gives_eio_never_sigbus) {
  constexpr int blocks = 256;
  write_file(path("f"), std::string(blocks * page, 't'));
  auto f = mgr.open(path("f")).get();
  f.read().get();
  std::atomic<bool> stop{false};
  std::atomic<int> eio{0}, other{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 8; ++t)
    readers.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      while (!stop) {
        auto b = static_cast<std::int64_t>(rng() % blocks);
        try {
          f.read(b * page, page).get();
        } catch (const io_error& e) {
          (e.code().value() == EIO ? eio : other)++;
        }
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // Another process's truncation: the map's size does not change, its pages past the new end
  // fault.
  BOOST_REQUIRE(::truncate(path("f").c_str(), 16 * page) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  for (auto& t : readers)
    t.join();
  BOOST_TEST(eio.load() > 0);
  BOOST_TEST(other.load() == 0);
  BOOST_TEST(text(f.read(0, 4).get()) == "tttt");
}

BOOST_AUTO_TEST_SUITE_END()
