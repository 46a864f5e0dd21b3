#define BOOST_TEST_MODULE pending_test
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/bulk_calls.hpp"
#include "support/files.hpp"
#include "support/runtime_fixture.hpp"

// Completion callbacks (actorio/pending.hpp): every facade call can hand its result to a callback
// instead of a waiting thread.

namespace fs = std::filesystem;
using namespace actorio;
using namespace actorio::test;
using namespace std::chrono_literals;

namespace {

/// What one callback received, how often, and on which thread.
template <class R>
struct callback_box {
  std::mutex mutex;
  std::condition_variable cv;
  std::optional<R> got;
  int calls = 0;
  std::thread::id thread;

  void put(R r) {
    std::lock_guard<std::mutex> guard{mutex};
    ++calls;
    thread = std::this_thread::get_id();
    got.emplace(std::move(r));
    cv.notify_all();
  }

  int count() {
    std::lock_guard<std::mutex> guard{mutex};
    return calls;
  }

  bool fired() {
    return count() > 0;
  }

  /// The result, once the callback ran; fails the test after 20 s.
  R take() {
    std::unique_lock<std::mutex> guard{mutex};
    BOOST_REQUIRE(cv.wait_for(guard, 20s, [this] { return got.has_value(); }));
    BOOST_TEST(calls == 1);
    return std::move(*got);
  }
};

/// Attaches a callback to `p` (a pending or an operation) that fills a box, counting into `fired`.
template <class P>
auto attach(P& p, std::atomic<int>* fired = nullptr) {
  using R = typename std::decay_t<P>::result_type;
  auto box = std::make_shared<callback_box<R>>();
  p.then([box, fired](R r) {
    if (fired)
      ++*fired;
    box->put(std::move(r));
  });
  BOOST_TEST(!p.valid());
  return box;
}

/// The result `p` hands its callback.
template <class P>
auto via_then(P&& p, std::atomic<int>* fired = nullptr) {
  return attach(p, fired)->take();
}

/// The value `p` hands its callback; fails the test on a failure.
template <class P>
auto value_via_then(P&& p, std::atomic<int>* fired = nullptr) {
  auto r = via_then(std::forward<P>(p), fired);
  if (!r.ok())
    BOOST_FAIL(to_string(r.error()));
  return std::move(r).value();
}

bytes to_bytes(const std::string& s) {
  return bytes(s.begin(), s.end());
}

std::string sha256_of(const fs::path& p) {
  return run_command("sha256sum '" + p.string() + "'").substr(0, 64);
}

/// One call of the facade and the checks of what its callback got.
struct row {
  const char* name;
  std::function<void()> run;
};

void run_rows(const std::vector<row>& rows, const std::atomic<int>& fired) {
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      auto before = fired.load();
      r.run();
      BOOST_TEST(fired.load() - before >= 1);
    }
  }
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(pending_then, runtime_fixture)

BOOST_AUTO_TEST_CASE(a_callback_runs_once_with_the_value) {
  write_file(path("f"), "0123456789");
  auto f = mgr.open(path("f")).get();
  auto p = f.size();
  auto box = attach(p);
  auto r = box->take();
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r == 10u);
  std::this_thread::sleep_for(50ms);
  BOOST_TEST(box->count() == 1);
}

BOOST_AUTO_TEST_CASE(a_callback_gets_the_failure_with_errno_op_and_path) {
  write_file(path("f"), "0123456789");
  auto f = mgr.open(path("f")).get();
  auto g = f;
  g.close().get();
  auto r = via_then(f.read());
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == EBADF);
  BOOST_TEST(r.error().op == "read");
  BOOST_TEST(r.error().path == path("f"));
  // A failure from the map's actor, not from the handle: errno and path as the future has them.
  auto h = mgr.open(path("f")).get();
  auto e = via_then(h.read(-4));
  BOOST_REQUIRE(!e.ok());
  BOOST_TEST(e.error().code == EINVAL);
  BOOST_TEST(e.error().path == path("f"));
}

BOOST_AUTO_TEST_CASE(a_void_call_hands_its_callback_a_status) {
  write_file(path("f"), "0123456789");
  auto f = mgr.open(path("f")).get();
  BOOST_TEST(via_then(f.flush()).ok());
  auto r = via_then(f.madvise(static_cast<map_advice>(9)));
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == EINVAL);
}

BOOST_AUTO_TEST_CASE(a_callback_attached_after_completion_runs_at_once_in_the_calling_thread) {
  write_file(path("f"), "0123456789");
  auto f = mgr.open(path("f")).get();
  auto p = f.size();
  p.wait();
  bool ran = false;
  std::thread::id where;
  p.then([&](result<std::uint64_t> r) {
    ran = true;
    where = std::this_thread::get_id();
    BOOST_TEST(r.ok());
    BOOST_TEST(*r == 10u);
  });
  BOOST_TEST(ran);
  BOOST_TEST((where == std::this_thread::get_id()));
  BOOST_TEST(!p.valid());
}

BOOST_AUTO_TEST_CASE(a_callback_attached_before_completion_runs_on_the_completing_thread) {
  auto [a, b] = rt.double_ended_binary_pipe();
  auto op = b.read1();
  auto box = attach(op);
  std::this_thread::sleep_for(20ms);
  BOOST_TEST(!box->fired()); // nothing written yet: the read waits
  a.write("ping").get();
  a.flush().get();
  auto r = box->take();
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r == "ping");
  std::lock_guard<std::mutex> guard{box->mutex};
  BOOST_TEST((box->thread != std::this_thread::get_id()));
}

BOOST_AUTO_TEST_CASE(cancelling_an_operation_with_a_callback_hands_it_ecanceled) {
  auto [a, b] = rt.double_ended_binary_pipe();
  auto op = b.read1();
  auto box = attach(op);
  op.cancel();
  auto r = box->take();
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == ECANCELED);
}

BOOST_AUTO_TEST_CASE(cancelling_a_bulk_operation_with_a_callback_hands_it_ecanceled) {
  auto srcs = make_files(dir, "src", 8, std::size_t{16} << 20);
  // Owned by the progress callback: a report already on its way when the cancel comes may still
  // run after the operation ended.
  auto first = std::make_shared<std::promise<void>>();
  auto started = first->get_future();
  auto once = std::make_shared<std::once_flag>();
  bulk_options opts{
    [first, once](const progress&) { std::call_once(*once, [&] { first->set_value(); }); }, 1ms};
  auto op = mgr.bulk_copy(copy_pairs(dir, srcs), false, opts);
  auto box = attach(op);
  BOOST_REQUIRE(started.wait_for(30s) == std::future_status::ready);
  op.cancel();
  auto r = box->take();
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == ECANCELED);
  BOOST_TEST(r.error().op == "bulk_copy");
}

BOOST_AUTO_TEST_CASE(dropping_an_operation_with_a_callback_lets_the_work_finish) {
  auto [a, b] = rt.double_ended_binary_pipe();
  std::shared_ptr<callback_box<result<std::string>>> box;
  {
    auto op = b.read1();
    box = attach(op);
  }
  a.write("late").get();
  a.flush().get();
  auto r = box->take();
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r == "late");
}

BOOST_AUTO_TEST_CASE(a_callback_may_make_the_next_call_and_attach_to_it) {
  write_file(path("f"), "0123456789");
  auto f = mgr.open(path("f")).get();
  auto box = std::make_shared<callback_box<result<bytes>>>();
  // No assertion in the callbacks: they run on actorio's threads; the box carries the result.
  f.write("ab", 10).then([f, box](result<std::uint64_t> written) {
    if (!written.ok())
      return box->put(std::move(written).error());
    f.read(8).then([box](result<bytes> r) { box->put(std::move(r)); });
  });
  auto r = box->take();
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(text(*r) == "89ab");
}

BOOST_AUTO_TEST_CASE(every_one_of_many_racing_calls_fires_exactly_once) {
  write_file(path("f"), "0123456789");
  auto f = mgr.open(path("f")).get();
  constexpr int calls = 500;
  std::atomic<int> fired{0};
  std::atomic<int> right{0};
  std::promise<void> all;
  for (int i = 0; i < calls; ++i)
    f.size().then([&](result<std::uint64_t> r) {
      right += r.ok() && *r == 10u;
      if (++fired == calls)
        all.set_value();
    });
  BOOST_REQUIRE(all.get_future().wait_for(20s) == std::future_status::ready);
  std::this_thread::sleep_for(50ms);
  BOOST_TEST(fired.load() == calls);
  BOOST_TEST(right.load() == calls);
}

BOOST_AUTO_TEST_CASE(a_pending_is_a_std_future) {
  write_file(path("f"), "0123456789");
  auto f = mgr.open(path("f")).get();
  std::future<std::uint64_t> plain = f.size();
  BOOST_TEST(plain.get() == 10u);
  auto p = f.size();
  BOOST_TEST((p.wait_for(20s) == std::future_status::ready));
  BOOST_TEST(p.get() == 10u);
}

BOOST_AUTO_TEST_CASE(then_on_an_empty_pending_throws_no_state) {
  actorio::pending<int> p;
  try {
    p.then([](result<int>) {});
    BOOST_FAIL("then on an empty pending did not throw");
  } catch (const std::future_error& e) {
    BOOST_TEST((e.code() == std::future_errc::no_state));
  }
}

BOOST_AUTO_TEST_CASE(a_callback_fires_once_with_the_right_value_for_every_mapped_file_call) {
  const std::string content = "hello world\nsecond line\n";
  write_file(path("f"), content);
  write_file(path("g"), "hello world\nsecond lime\n");
  write_file(path("h"), "0123456789");
  auto f = mgr.open(path("f")).get();
  auto g = mgr.open(path("g")).get();
  auto h = mgr.open(path("h")).get();
  std::atomic<int> fired{0};
  auto* n = &fired;
  std::vector<row> reads = {
    {"read", [&] { BOOST_TEST(text(value_via_then(f.read(0, 5), n)) == "hello"); }},
    {"size", [&] { BOOST_TEST(value_via_then(f.size(), n) == content.size()); }},
    {"read_str", [&] { BOOST_TEST(value_via_then(f.read_str(6, 5), n) == "world"); }},
    {"checksum",
     [&] { BOOST_TEST(value_via_then(f.checksum("sha256"), n) == sha256_of(path("f"))); }},
    {"readline",
     [&] {
       auto s = value_via_then(f.readline(0), n);
       BOOST_TEST(text(s.data) == "hello world");
       BOOST_TEST(s.next_offset == 12u);
     }},
    {"readlines",
     [&] {
       auto v = value_via_then(f.readlines(), n);
       BOOST_REQUIRE(v.size() == 2u);
       BOOST_TEST(text(v[1]) == "second line\n");
     }},
    {"read_until",
     [&] {
       auto s = value_via_then(f.read_until("o"), n);
       BOOST_TEST(text(s.data) == "hello");
       BOOST_TEST(s.next_offset == 5u);
     }},
    {"lines",
     [&] {
       auto page = value_via_then(f.lines(0), n);
       BOOST_TEST(page.lines.size() == 2u);
       BOOST_TEST(page.next_offset == content.size());
     }},
    {"compare", [&] { BOOST_TEST(value_via_then(f.compare(g), n) == false); }},
    {"stat", [&] { BOOST_TEST(value_via_then(f.stat(), n).size == content.size()); }},
    {"hamming_dist", [&] { BOOST_TEST(value_via_then(f.hamming_dist(g), n) == 2u); }},
    {"hamming_dist_bytes", [&] { BOOST_TEST(value_via_then(f.hamming_dist_bytes(g), n) == 1u); }},
    {"find",
     [&] { BOOST_TEST((value_via_then(f.find("world"), n) == std::optional<std::uint64_t>{6})); }},
    {"rfind",
     [&] { BOOST_TEST((value_via_then(f.rfind("l"), n) == std::optional<std::uint64_t>{19})); }},
    {"search",
     [&] {
       auto hits = value_via_then(f.search("o"), n);
       BOOST_TEST(hits == (std::vector<std::uint64_t>{4, 7, 15}), boost::test_tools::per_element());
     }},
    {"search_page_at",
     [&] {
       auto page = value_via_then(f.search_page_at("o", 0, 2), n);
       BOOST_TEST(page.hits == (std::vector<std::uint64_t>{4, 7}),
                  boost::test_tools::per_element());
     }},
    {"flush", [&] { BOOST_TEST(via_then(f.flush(), n).ok()); }},
    {"sync", [&] { BOOST_TEST(via_then(f.sync(), n).ok()); }},
    {"clear_error", [&] { BOOST_TEST(via_then(f.clear_error(), n).ok()); }},
    {"madvise", [&] { BOOST_TEST(via_then(f.madvise(map_advice::willneed), n).ok()); }},
  };
  // Each edit of h, in order, with the file's content after it in the comments.
  std::vector<row> edits = {
    {"write", [&] { BOOST_TEST(value_via_then(h.write("ab", 0), n) == 2u); }},         // ab23456789
    {"write_str", [&] { BOOST_TEST(value_via_then(h.write_str("cd", 2), n) == 2u); }}, // abcd456789
    {"smart_write",
     [&] { BOOST_TEST(value_via_then(h.smart_write(to_bytes("e"), 4), n) == 1u); }}, // abcde56789
    {"insert", [&] { BOOST_TEST(value_via_then(h.insert("X", 0), n) == 11u); }},     // Xabcde56789
    {"erase", [&] { BOOST_TEST(value_via_then(h.erase(0, 1), n) == 1u); }},          // abcde56789
    {"replace", [&] { BOOST_TEST(value_via_then(h.replace("5", "F"), n) == 1u); }},  // abcdeF6789
    {"fill", [&] { BOOST_TEST(value_via_then(h.fill("z", 10, 2), n) == 2u); }},      // abcdeF6789zz
    {"copy_within",
     [&] { BOOST_TEST(value_via_then(h.copy_within(12, 0, 2), n) == 2u); }}, // abcdeF6789zzab
    {"move", [&] { BOOST_TEST(via_then(h.move(0, 10, 2), n).ok()); }},       // zzcdeF6789zzab
    {"writelines", [&] { BOOST_TEST(value_via_then(h.writelines({"L"}, "\n", 14), n) == 16u); }},
    {"resize", [&] { BOOST_TEST(value_via_then(h.resize(20), n) == 20u); }},
    {"compact", [&] { BOOST_TEST(value_via_then(h.compact(), n) == 4u); }},
    {"close",
     [&] {
       BOOST_TEST(via_then(h.close(), n).ok());
       BOOST_TEST(read_file(path("h")) == "zzcdeF6789zzabL\n");
     }},
  };
  run_rows(reads, fired);
  run_rows(edits, fired);
  std::this_thread::sleep_for(50ms);
  BOOST_TEST(fired.load() == static_cast<int>(reads.size() + edits.size()));
}

BOOST_AUTO_TEST_CASE(a_callback_fires_once_with_the_right_value_for_every_mmap_manager_call) {
  const std::string content = "hello world\nsecond line\n";
  write_file(path("f"), content);
  write_file(path("bw"), "");
  write_file(path("zeros"), std::string("ab\0\0", 4));
  fs::create_directory(dir / "w");
  write_file(dir / "w" / "a", "1");
  write_file(dir / "w" / "b", "2");
  const fs::path f = path("f");
  std::atomic<int> fired{0};
  auto* n = &fired;
  std::vector<row> rows = {
    {"open",
     [&] {
       auto m = value_via_then(mgr.open(f), n);
       BOOST_TEST(text(m.read().get()) == content);
     }},
    {"create",
     [&] {
       auto m = value_via_then(mgr.create(path("new"), 5), n);
       BOOST_TEST(m.size().get() == 5u);
       BOOST_TEST(fs::file_size(path("new")) == 5u);
     }},
    {"create_sparse",
     [&] {
       auto m =
         value_via_then(mgr.create_sparse(path("sparse"), 100, {chunk{10, to_bytes("x")}}), n);
       BOOST_TEST(fs::file_size(path("sparse")) == 100u);
       BOOST_TEST(read_file(path("sparse"))[10] == 'x');
     }},
    {"copy_file", [&] { BOOST_TEST(value_via_then(mgr.copy_file(f, path("c1")), n) == 24u); }},
    {"copy_file with options",
     [&] {
       BOOST_TEST(value_via_then(mgr.copy_file(f, path("c2"), copy_options{}), n) == 24u);
       BOOST_TEST(read_file(path("c2")) == content);
     }},
    {"checksum", [&] { BOOST_TEST(value_via_then(mgr.checksum(f, "sha256"), n) == sha256_of(f)); }},
    {"stage, write_staged, commit_staged",
     [&] {
       auto id = value_via_then(mgr.stage(path("staged")), n);
       std::vector<std::uint64_t> sizes{3};
       byte_pieces data{sizes};
       std::memcpy(data[0].data(), "abc", 3);
       BOOST_TEST(value_via_then(mgr.write_staged(id, 0, std::move(data)), n) == 3u);
       value_via_then(mgr.commit_staged(id), n);
       BOOST_TEST(read_file(path("staged")) == "abc");
     }},
    {"discard_staged",
     [&] {
       auto id = mgr.stage(path("dropped")).get();
       BOOST_TEST(via_then(mgr.discard_staged(id), n).ok());
       BOOST_TEST(!fs::exists(path("dropped")));
     }},
    {"currently_open",
     [&] { BOOST_TEST(value_via_then(mgr.currently_open(), n) == mgr.currently_open().get()); }},
    {"open_files",
     [&] {
       BOOST_TEST(value_via_then(mgr.open_files(), n).size() == mgr.open_files().get().size());
     }},
    {"open_paths",
     [&] { BOOST_TEST((value_via_then(mgr.open_paths(), n) == mgr.open_paths().get())); }},
    {"open_mmaps",
     [&] {
       BOOST_TEST(value_via_then(mgr.open_mmaps(), n).size() == mgr.open_mmaps().get().size());
     }},
    {"approx_memory_usage",
     [&] {
       BOOST_TEST(value_via_then(mgr.approx_memory_usage(), n) == mgr.approx_memory_usage().get());
     }},
    {"bulk_read",
     [&] {
       auto all = value_via_then(mgr.bulk_read({{f, std::nullopt}}), n);
       BOOST_REQUIRE(all.at(f).ok());
       BOOST_TEST(text(all.at(f).value()[0]) == content);
     }},
    {"bulk_write",
     [&] {
       auto all = value_via_then(mgr.bulk_write({{path("bw"), {chunk{0, to_bytes("hi")}}}}), n);
       BOOST_TEST(*all.at(path("bw")) == 2u);
       BOOST_TEST(read_file(path("bw")) == "hi");
     }},
    {"bulk_resize",
     [&] {
       auto all = value_via_then(mgr.bulk_resize({{path("bw"), 10}}), n);
       BOOST_TEST(*all.at(path("bw")) == 10u);
     }},
    {"bulk_copy",
     [&] {
       auto all = value_via_then(mgr.bulk_copy({{f, path("bc1")}}), n);
       BOOST_TEST(*all.at(0) == 24u);
     }},
    {"bulk_copy with options",
     [&] {
       auto all = value_via_then(mgr.bulk_copy({{f, path("bc2")}}, copy_options{}), n);
       BOOST_TEST(*all.at(0) == 24u);
     }},
    {"bulk_checksum",
     [&] {
       auto all = value_via_then(mgr.bulk_checksum({f}, "sha256"), n);
       BOOST_TEST(*all.at(f) == sha256_of(f));
     }},
    {"find_in_files",
     [&] {
       auto all = value_via_then(mgr.find_in_files("o", {{f, 0}}), n);
       BOOST_TEST(*all.at(f) == (std::vector<std::uint64_t>{4, 7, 15}),
                  boost::test_tools::per_element());
     }},
    {"find_in_files of several patterns",
     [&] {
       auto all =
         value_via_then(mgr.find_in_files(std::vector<std::string>{"o", "w"}, {{f, 0}}), n);
       BOOST_TEST(*all.at(f) == (std::vector<std::uint64_t>{4, 6, 7, 15}),
                  boost::test_tools::per_element());
     }},
    {"find_in_file_list",
     [&] {
       auto all = value_via_then(mgr.find_in_file_list({"o"}, {find_job{f.string(), 0}}), n);
       BOOST_REQUIRE(all.size() == 1u);
       BOOST_TEST(*all[0] == (std::vector<std::uint64_t>{4, 7, 15}),
                  boost::test_tools::per_element());
     }},
    {"compact_files",
     [&] {
       auto all = value_via_then(mgr.compact_files({path("zeros")}), n);
       BOOST_TEST(all.at(path("zeros"))->old_size == 4u);
       BOOST_TEST(all.at(path("zeros"))->new_size == 2u);
     }},
    {"walk",
     [&] {
       auto page = value_via_then(mgr.walk(dir / "w"), n);
       BOOST_TEST(page.done);
       BOOST_TEST(page.files.size() == 2u);
     }},
    {"prefetch_files",
     [&] {
       auto got = value_via_then(mgr.prefetch_files({f}), n);
       BOOST_REQUIRE(got.files.size() == 1u);
       BOOST_TEST(got.files[0].second.ok());
     }},
  };
  run_rows(rows, fired);
  std::this_thread::sleep_for(50ms);
  // Rows with several calls: stage + write_staged + commit_staged counts three.
  BOOST_TEST(fired.load() == static_cast<int>(rows.size()) + 2);
}

BOOST_AUTO_TEST_CASE(a_callback_fires_once_with_the_right_value_for_every_couple_call) {
  auto [a, b] = rt.double_ended_binary_pipe();
  std::atomic<int> fired{0};
  auto* n = &fired;
  auto send = [&](const std::string& s) {
    a.write(s).get();
    a.flush().get();
  };
  std::vector<row> rows = {
    {"write", [&] { BOOST_TEST(value_via_then(a.write("hello\n"), n) == 6u); }},
    {"flush", [&] { BOOST_TEST(via_then(a.flush(), n).ok()); }},
    {"read1", [&] { BOOST_TEST(value_via_then(b.read1(), n) == "hello\n"); }},
    {"writelines",
     [&] {
       BOOST_TEST(via_then(a.writelines({"l1\n", "l2\n"}), n).ok());
       a.flush().get();
     }},
    {"readline", [&] { BOOST_TEST(value_via_then(b.readline(), n) == "l1\n"); }},
    {"readlines",
     [&] {
       auto v = value_via_then(b.readlines(1), n);
       BOOST_TEST(v == (std::vector<std::string>{"l2\n"}), boost::test_tools::per_element());
     }},
    {"read",
     [&] {
       send("abc");
       BOOST_TEST(value_via_then(b.read(3), n) == "abc");
     }},
    {"readinto",
     [&] {
       send("wxyz");
       std::vector<std::byte> buf(4);
       BOOST_TEST(value_via_then(b.readinto(buf), n) == 4u);
       BOOST_TEST(std::string(reinterpret_cast<const char*>(buf.data()), 4) == "wxyz");
     }},
    {"readinto1",
     [&] {
       send("q");
       std::vector<std::byte> buf(8);
       BOOST_TEST(value_via_then(b.readinto1(buf), n) == 1u);
       BOOST_TEST(static_cast<char>(buf[0]) == 'q');
     }},
    {"ainput",
     [&] {
       send("answer\n");
       BOOST_TEST(value_via_then(b.ainput(""), n) == "answer");
     }},
    {"truncate",
     [&] {
       auto r = via_then(a.truncate(), n);
       BOOST_REQUIRE(!r.ok());
       BOOST_TEST(r.error().code == ESPIPE);
     }},
    {"cancel_reads",
     [&] {
       auto waiting = b.read1();
       auto box = attach(waiting, n);
       BOOST_TEST(via_then(b.cancel_reads(), n).ok());
       auto r = box->take();
       BOOST_REQUIRE(!r.ok());
       BOOST_TEST(r.error().code == ECANCELED);
     }},
    {"readall",
     [&] {
       send("tail");
       a.close().get();
       BOOST_TEST(value_via_then(b.readall(), n) == "tail");
     }},
    {"close", [&] { BOOST_TEST(via_then(b.close(), n).ok()); }},
  };
  run_rows(rows, fired);
  std::this_thread::sleep_for(50ms);
  // cancel_reads counts its own callback and the cancelled read's.
  BOOST_TEST(fired.load() == static_cast<int>(rows.size()) + 1);
}

BOOST_AUTO_TEST_SUITE_END()
