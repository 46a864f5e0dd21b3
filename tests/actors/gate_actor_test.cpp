#define BOOST_TEST_MODULE gate_actor_test
#include <boost/test/unit_test.hpp>

#include "actors/gate_actor.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actorio/actors.hpp"
#include "actorio/remote.hpp"
#include "support/describe.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "support/waiting.hpp"

// The gate in one process: a server (serve) and clients (connect, or a plain CAF actor system
// talking to the gate as an embedder would), each in an actor system of its own and so a node
// of its own, over TCP on 127.0.0.1.

namespace fs = std::filesystem;
using namespace actorio;
using actorio::test::errno_of;
using actorio::test::eventually;
using actorio::test::read_file;
using actorio::test::start_watch;
using actorio::test::temp_dir;
using actorio::test::write_file;

namespace {

constexpr auto timeout = std::chrono::seconds(20);

connect_options short_timeout() {
  connect_options o;
  o.timeout = timeout;
  return o;
}

/// The errno and operation of a CAF error, as the facade would report them.
failure failure_of(const caf::error& err) {
  return to_failure(err, "?", "");
}

std::string text(const bytes& b) {
  return std::string(b.begin(), b.end());
}

/// A served directory with limits, in this process.
struct served_here {
  temp_dir root;
  server srv;

  explicit served_here(serve_limits limits = {}, std::size_t workers = 0)
    : srv(serve(options(root.path(), limits, workers))) {}

  static serve_options options(const fs::path& root, serve_limits limits, std::size_t workers) {
    serve_options o;
    o.root = root;
    o.limits = limits;
    if (workers > 0)
      o.runtime.workers = workers;
    return o;
  }

  mmap_manager connect() const {
    return actorio::connect("127.0.0.1", srv.port(), {}, short_timeout());
  }
};

/// A client node that speaks to the gate in messages, as an embedder's actors would.
struct raw_client {
  system_config cfg = make_config();
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  mmap_manager_actor gate;

  static system_config make_config() {
    system_config c;
    c.load<caf::io::middleman>();
    return c;
  }

  explicit raw_client(std::uint16_t port) {
    auto found = sys.middleman().remote_actor<mmap_manager_actor>("127.0.0.1", port);
    BOOST_REQUIRE_MESSAGE(found, "no gate at port " << port);
    gate = *found;
  }

  /// The reply to `xs...` sent to `to`, or its error.
  template <class T, class Handle, class... Ts>
  caf::expected<T> ask(const Handle& to, Ts&&... xs) {
    caf::expected<T> r{caf::error{}};
    self->request(to, timeout, std::forward<Ts>(xs)...)
      .receive([&](T& value) { r = std::move(value); },
               [&](caf::error& err) { r = std::move(err); });
    return r;
  }

  /// The error of a request with an empty reply; none on success.
  template <class Handle, class... Ts>
  caf::error ask_void(const Handle& to, Ts&&... xs) {
    caf::error r;
    self->request(to, timeout, std::forward<Ts>(xs)...)
      .receive([] {}, [&](caf::error& err) { r = std::move(err); });
    return r;
  }

  /// Who answered the gate's reply to `xs...`.
  template <class T, class... Ts>
  caf::actor_addr replier(Ts&&... xs) {
    caf::actor_addr from;
    self->request(gate, timeout, std::forward<Ts>(xs)...)
      .receive([&](T&) { from = caf::actor_cast<caf::actor_addr>(self->current_sender()); },
               [&](caf::error& err) { BOOST_FAIL(sys.render(err)); });
    return from;
  }

  mapped_file_actor open(const std::string& path) {
    auto h =
      ask<mapped_file_actor>(gate, caf::open_atom_v, path, open_mode::read_write, std::int64_t{0});
    if (!h) // Boost builds a check's message even when it passes: no error() on a value
      BOOST_FAIL("open " << path << ": " << sys.render(h.error()));
    return *h;
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(gate_actor)

BOOST_AUTO_TEST_CASE(closing_a_handle_releases_only_the_clients_reference) {
  served_here here;
  write_file(here.root / "f.txt", "shared file");
  auto a = here.connect();
  auto b = here.connect();
  auto fa = a.open("f.txt").get();
  auto fb = b.open("f.txt").get();
  BOOST_TEST(here.srv.manager().currently_open().get() == 1u);
  fa.close().get();
  // The manager still holds B's reference, and B's handle still reaches the map.
  BOOST_TEST(here.srv.manager().currently_open().get() == 1u);
  BOOST_TEST(text(fb.read(0, 6).get()) == "shared");
  BOOST_TEST(fb.write("SHARED", 0).get() == 6u);
  BOOST_TEST(read_file(here.root / "f.txt") == "SHARED file");
  BOOST_TEST(errno_of([&] { fa.read(0, 1).get(); }) == EBADF);
  fb.close().get();
  BOOST_TEST(here.srv.manager().currently_open().get() == 0u);
}

BOOST_AUTO_TEST_CASE(close_sent_to_a_handle_itself_releases_one_reference_and_ends_the_handle) {
  served_here here;
  write_file(here.root / "f.txt", "mine and yours");
  raw_client a{here.srv.port()};
  auto b = here.connect();
  auto fb = b.open("f.txt").get();
  auto h = a.open("f.txt");
  // Twice opened by A: the same handle, two references.
  auto again = a.open("f.txt");
  BOOST_TEST((again.address() == h.address()));
  // Sent untyped, as a peer may: the handle's interface does not offer close.
  auto untyped = caf::actor_cast<caf::actor>(h);
  BOOST_TEST(!a.ask_void(untyped, caf::close_atom_v));
  BOOST_TEST(text(*a.ask<bytes>(h, read_atom_v, std::int64_t{0}, std::int64_t{4})) == "mine");
  BOOST_TEST(!a.ask_void(untyped, caf::close_atom_v));
  // A's references are gone, the map stays for B.
  BOOST_TEST(here.srv.manager().currently_open().get() == 1u);
  BOOST_TEST(text(fb.read(9, 5).get()) == "yours");
  auto late = a.ask<bytes>(h, read_atom_v, std::int64_t{0}, std::int64_t{4});
  BOOST_REQUIRE(!late);
  BOOST_TEST(failure_of(late.error()).code == EBADF);
  // A client cannot release what it no longer holds: B's reference stays.
  BOOST_TEST(!a.ask_void(a.gate, caf::close_atom_v, h));
  BOOST_TEST(here.srv.manager().currently_open().get() == 1u);
}

BOOST_AUTO_TEST_CASE(requests_that_move_no_data_pass_through_a_handle_with_replies_and_errors) {
  served_here here;
  write_file(here.root / "f.txt", std::string("0123456789", 10));
  auto m = here.connect();
  auto f = m.open("f.txt").get();
  BOOST_TEST(f.size().get() == 10u);
  BOOST_TEST(f.resize(12).get() == 12u);
  f.flush().get();
  f.sync().get();
  f.clear_error().get();
  BOOST_TEST(f.copy_within(2, 0, 3).get() == 3u);
  f.move(0, 5, 2).get();
  BOOST_TEST(f.erase(0, 1).get() == 1u);
  f.madvise(map_advice::willneed).get();
  BOOST_TEST(f.compact().get() == 2u); // the two zero bytes resize added
  // 0123456789 -> 0101256789 -> 5601256789 -> 601256789
  BOOST_TEST(read_file(here.root / "f.txt") == "601256789");
  BOOST_TEST(f.stat().get().size == 9u);
  BOOST_TEST(f.checksum("sha256").get() == m.checksum("f.txt", "sha256").get());
  BOOST_TEST(errno_of([&] { f.move(0, 8, 5).get(); }) == EINVAL);
  BOOST_TEST(errno_of([&] { f.checksum("no-such-digest").get(); }) == EINVAL);
  // A handle the client closed answers EBADF to these too, from the proxy.
  raw_client a{here.srv.port()};
  auto h = a.open("f.txt");
  BOOST_TEST(*a.ask<std::uint64_t>(h, size_atom_v) == 9u);
  BOOST_TEST(!a.ask_void(a.gate, caf::close_atom_v, h));
  auto late = a.ask<std::uint64_t>(h, size_atom_v);
  BOOST_REQUIRE(!late);
  BOOST_TEST(failure_of(late.error()).code == EBADF);
  BOOST_TEST(failure_of(late.error()).op == "size");
  f.close().get();
}

BOOST_AUTO_TEST_CASE(a_handle_dropped_without_close_is_released) {
  serve_limits limits;
  limits.max_open_maps = 2;
  served_here here{limits};
  write_file(here.root / "f.txt", "dropped");
  auto m = here.connect();
  {
    auto f = m.open("f.txt").get();
    BOOST_TEST(text(f.read(0, 7).get()) == "dropped");
    auto again = m.open("f.txt").get();
    BOOST_TEST(here.srv.manager().currently_open().get() == 1u);
  }
  BOOST_TEST(eventually([&] { return here.srv.manager().currently_open().get() == 0u; }));
  // Both references went: the client may hold its two again.
  auto f = m.open("f.txt").get();
  auto g = m.open("f.txt").get();
  BOOST_TEST(errno_of([&] { m.open("f.txt").get(); }) == EMFILE);
}

BOOST_AUTO_TEST_CASE(a_client_gets_a_proxy_that_answers_for_the_map_never_the_map_itself) {
  served_here here;
  write_file(here.root / "f.txt", "behind the gate");
  auto local = here.srv.manager().open("f.txt").get();
  raw_client a{here.srv.port()};
  auto h = a.open("f.txt");
  BOOST_TEST((h.node() == actor_of(local).node()));
  BOOST_TEST(h.id() != actor_of(local).id());
  // Replies come from the proxy: the map's own handle never reaches the client.
  caf::actor_addr replied_by;
  a.self->request(h, timeout, info_atom_v)
    .receive(
      [&](map_info&) { replied_by = caf::actor_cast<caf::actor_addr>(a.self->current_sender()); },
      [&](caf::error& err) { BOOST_FAIL(a.sys.render(err)); });
  BOOST_TEST((replied_by == h.address()));
  // Errors pass through as the map gives them.
  auto bad = a.ask<bytes>(h, read_atom_v, std::int64_t{-1}, std::int64_t{4});
  BOOST_REQUIRE(!bad);
  BOOST_TEST(failure_of(bad.error()).code == EINVAL);
  BOOST_TEST(failure_of(bad.error()).op == "read");
}

BOOST_AUTO_TEST_CASE(answers_to_a_client_come_from_the_gate_never_the_manager) {
  served_here here;
  write_file(here.root / "f.txt", "x");
  raw_client a{here.srv.port()};
  BOOST_TEST((a.replier<std::uint64_t>(currently_open_atom_v) == a.gate.address()));
  auto digest = std::string{"sha256"};
  BOOST_TEST(
    (a.replier<std::string>(checksum_atom_v, std::string{"f.txt"}, digest) == a.gate.address()));
  BOOST_TEST((a.replier<std::vector<result<std::uint64_t>>>(
                bulk_resize_atom_v, std::vector<resize_job>{{"f.txt", 4}}, report_progress{}) ==
              a.gate.address()));
  BOOST_TEST(fs::file_size(here.root / "f.txt") == 4u);
}

BOOST_AUTO_TEST_CASE(map_reads_and_writes_over_the_clients_allowance_are_efbig) {
  serve_limits limits;
  limits.max_bytes_in_flight = 1000;
  served_here here{limits};
  write_file(here.root / "big.bin", std::string(3000, 'b'));
  write_file(here.root / "small.bin", std::string(500, 's'));
  auto m = here.connect();
  auto big = m.open("big.bin").get();
  auto small = m.open("small.bin").get();
  BOOST_TEST(errno_of([&] { big.write(std::string(2000, 'x'), 0).get(); }) == EFBIG);
  BOOST_TEST(errno_of([&] { big.insert(std::string(1001, 'x'), 0).get(); }) == EFBIG);
  BOOST_TEST(read_file(here.root / "big.bin") == std::string(3000, 'b'));
  // A read to the end is bounded by the rest of the map.
  BOOST_TEST(errno_of([&] { big.read(0).get(); }) == EFBIG);
  BOOST_TEST(errno_of([&] { big.readlines().get(); }) == EFBIG);
  BOOST_TEST(big.read(2200).get().size() == 800u);
  // A size asked for beyond the end counts only what is there.
  BOOST_TEST(small.read(0, std::int64_t{1} << 40).get().size() == 500u);
  // Each finished call gives its bytes back.
  for (int i = 0; i < 10; ++i)
    BOOST_TEST(small.write(std::string(900, 'w'), 0).get() == 900u);
  BOOST_TEST(read_file(here.root / "small.bin") == std::string(900, 'w'));
}

BOOST_AUTO_TEST_CASE(a_bulk_reads_size_check_never_looks_through_a_symlink_out_of_the_root) {
  serve_limits limits;
  limits.max_bulk_read_bytes = 1000;
  served_here here{limits};
  temp_dir outside;
  write_file(outside / "secret.bin", std::string(3000, 's'));
  fs::create_symlink(outside / "secret.bin", here.root / "link");
  write_file(here.root / "big.bin", std::string(3000, 'b'));
  auto m = here.connect();
  // Sized by following the link, the call would fail as a whole with EFBIG and its message
  // would tell the outside file's size; the item fails alone, as the manager refuses the link.
  auto r = m.bulk_read({{"link", std::nullopt}}).get();
  BOOST_TEST(r.at("link").error().code == EACCES);
  // A file inside the root is still sized.
  BOOST_TEST(errno_of([&] { m.bulk_read({{"big.bin", std::nullopt}}).get(); }) == EFBIG);
}

BOOST_AUTO_TEST_CASE(map_writes_while_the_allowance_is_held_are_eagain) {
  serve_limits limits;
  limits.max_bytes_in_flight = 1000;
  served_here here{limits, 1};
  { std::ofstream big(here.root / "big.bin"); }
  // Sparse: costs no disk; hashing it holds the server's only io worker until cancelled.
  fs::resize_file(here.root / "big.bin", std::uint64_t{1} << 40);
  write_file(here.root / "f.bin", "");
  write_file(here.root / "g.bin", "");
  auto m = here.connect();
  auto f = m.open("f.bin").get();
  start_watch watch;
  auto busy = m.bulk_checksum({"big.bin"}, "sha512", watch.opts);
  watch.started.wait();
  // Queued behind the checksum, so still in flight when the next ones come.
  auto first = f.write(std::string(600, 'a'), 0);
  BOOST_TEST(errno_of([&] { f.write(std::string(600, 'a'), 600).get(); }) == EAGAIN);
  // Map calls and bulk calls share the allowance.
  BOOST_TEST(errno_of([&] {
               m.bulk_write({{"g.bin", {chunk{0, bytes(600, 'g')}}}}).get();
             }) == EAGAIN);
  busy.cancel();
  BOOST_TEST(first.get() == 600u);
  BOOST_TEST(f.write(std::string(600, 'a'), 600).get() == 600u);
  BOOST_TEST(read_file(here.root / "f.bin") == std::string(1200, 'a'));
  BOOST_TEST(read_file(here.root / "g.bin").empty());
}

BOOST_AUTO_TEST_CASE(handles_from_open_files_prefetch_and_create_sparse_are_proxies_too) {
  served_here here;
  write_file(here.root / "f.txt", "listed");
  auto local = here.srv.manager().open("f.txt").get();
  auto m = here.connect();
  auto listed = m.open_files().get();
  BOOST_REQUIRE(listed.size() == 1u);
  auto& held = listed.begin()->second;
  BOOST_TEST(actor_of(held).id() != actor_of(local).id());
  BOOST_TEST(text(held.read(0, 6).get()) == "listed");
  auto pre = m.prefetch_files({"f.txt"}).get();
  BOOST_REQUIRE(pre.files.size() == 1u);
  BOOST_REQUIRE(pre.files[0].second.ok());
  BOOST_TEST((actor_of(pre.files[0].second.value()).address() == actor_of(held).address()));
  auto sparse = m.create_sparse("s.bin", 8, {chunk{2, {'h', 'i'}}}).get();
  BOOST_TEST(text(sparse.read(0, 8).get()) == std::string("\0\0hi\0\0\0\0", 8));
  // Comparing two handles goes through both proxies.
  BOOST_TEST(!sparse.compare(held, 4).get());
  BOOST_TEST(held.compare(held).get());
  BOOST_TEST(here.srv.manager().currently_open().get() == 2u);
  sparse.close().get();
  BOOST_TEST(here.srv.manager().currently_open().get() == 1u);
}

BOOST_AUTO_TEST_CASE(a_disconnected_clients_references_are_released) {
  served_here here;
  write_file(here.root / "f.txt", "x");
  write_file(here.root / "g.txt", "y");
  {
    raw_client a{here.srv.port()};
    a.open("f.txt");
    a.open("g.txt");
    a.open("f.txt");
    BOOST_TEST(here.srv.manager().currently_open().get() == 2u);
  }
  BOOST_TEST(eventually([&] { return here.srv.manager().currently_open().get() == 0u; }));
}

namespace {

/// Stands in for the manager behind a gate: holds each bulk_read open and, when told to, reports
/// progress for it and answers.
caf::behavior fake_manager(caf::event_based_actor* self,
                           std::shared_ptr<std::promise<std::uint64_t>> relayed) {
  auto held = std::make_shared<std::optional<caf::response_promise>>();
  auto id = std::make_shared<std::uint64_t>(0);
  auto gate = std::make_shared<caf::actor>();
  return {
    [=](bulk_read_atom, std::vector<read_job>&, report_progress) {
      *id = self->current_message_id().integer_value() & caf::message_id::request_id_mask;
      *gate = caf::actor_cast<caf::actor>(self->current_sender());
      *held = self->make_response_promise();
      relayed->set_value(*id);
    },
    [=](currently_open_atom) { return std::uint64_t{0}; },
    [=](progress_atom, progress& p) {
      self->send(*gate, progress_atom_v, *id, p);
      (*held)->deliver(std::vector<result<byte_pieces>>{});
    },
  };
}

} // namespace

BOOST_AUTO_TEST_CASE(progress_from_a_stranger_is_ignored) {
  temp_dir root;
  system_config cfg = raw_client::make_config();
  caf::actor_system sys{cfg};
  auto relayed = std::make_shared<std::promise<std::uint64_t>>();
  auto relayed_id = relayed->get_future();
  auto manager = sys.spawn(fake_manager, relayed);
  auto pool = std::make_shared<detail::io_worker_pool>(sys, 1);
  detail::gate_options opts;
  opts.root = root.path().string();
  auto gate =
    sys.spawn(detail::gate_impl, caf::actor_cast<mmap_manager_actor>(manager), pool, opts);
  auto port = sys.middleman().publish(gate, 0, "127.0.0.1", true);
  BOOST_REQUIRE(port);
  {
    raw_client client{*port};
    raw_client stranger{*port};
    report_progress every;
    every.every_ms = 1;
    auto call =
      client.self->request(client.gate, timeout, bulk_read_atom_v, std::vector<read_job>{}, every);
    BOOST_REQUIRE(relayed_id.wait_for(timeout) == std::future_status::ready);
    auto id = relayed_id.get();
    progress fake;
    fake.items_total = 666;
    caf::anon_send(caf::actor_cast<caf::actor>(stranger.gate), progress_atom_v, id, fake);
    // Answered after the report (one connection keeps order): the gate has handled it.
    BOOST_TEST(stranger.ask<std::uint64_t>(stranger.gate, currently_open_atom_v).value() == 0u);
    progress real;
    real.items_total = 42;
    caf::anon_send(manager, progress_atom_v, real);
    std::optional<progress> first;
    client.self->receive([&](progress_atom, std::uint64_t, progress& p) { first = p; },
                         caf::after(timeout) >> [] {});
    BOOST_REQUIRE(first.has_value());
    BOOST_TEST(first->items_total == 42u);
    bool answered = false;
    call.receive([&](std::vector<result<byte_pieces>>&) { answered = true; },
                 [&](caf::error& err) { BOOST_FAIL(sys.render(err)); });
    BOOST_TEST(answered);
  }
  caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
  pool->stop();
}

BOOST_AUTO_TEST_SUITE_END()
