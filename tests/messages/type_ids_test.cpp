#define BOOST_TEST_MODULE type_ids_test
#include <boost/test/unit_test.hpp>

#include "actorio/actors.hpp"

#include "support/describe.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/all.hpp>

using actorio::chunk;
using actorio::failure;
using actorio::map_info;
using actorio::mapped_file_actor;
using actorio::mmap_manager_actor;
using actorio::open_file;
using actorio::open_mode;
using actorio::test::describe;
using actorio::test::temp_dir;

namespace {

constexpr auto timeout = std::chrono::seconds(20);

/// What an embedding server does: its own config with actorio's types registered.
struct test_config : caf::actor_system_config {
  test_config() {
    actorio::add_message_types(*this);
    set("scheduler.policy", caf::atom("sharing"));
  }
};

/// A fresh actor system per test whose config saw `add_message_types`, and a temp dir.
/// Declared so that the system goes before its config and the directory goes last.
struct fixture {
  temp_dir dir;
  test_config cfg;
  caf::actor_system sys{cfg};

  std::string path(const std::string& leaf) const {
    return (dir / leaf).string();
  }

  /// Serializes `x` as the middleman would and reads it back into a fresh value.
  template <class T>
  T round_trip(const T& x) {
    std::vector<char> buf;
    {
      caf::binary_serializer sink{sys, buf};
      auto copy = x;
      auto err = sink(copy);
      BOOST_REQUIRE_MESSAGE(!err, "serialize: " + sys.render(err));
    }
    BOOST_REQUIRE(!buf.empty());
    T y{};
    caf::binary_deserializer source{sys, buf};
    auto err = source(y);
    BOOST_REQUIRE_MESSAGE(!err, "deserialize: " + sys.render(err));
    BOOST_TEST(source.remaining() == 0u);
    return y;
  }

  /// Serializes a message holding `x`: this needs `x`'s type name, i.e. the registration.
  template <class T>
  T message_round_trip(const T& x) {
    auto msg = caf::make_message(x);
    auto back = round_trip(msg);
    BOOST_REQUIRE_MESSAGE(back.template match_elements<T>(),
                          "message came back as " + caf::to_string(back));
    return back.template get_as<T>(0);
  }
};

bool same(const failure& x, const failure& y) {
  return x.code == y.code && x.op == y.op && x.path == y.path && x.detail == y.detail;
}

bool same(const chunk& x, const chunk& y) {
  return x.offset == y.offset && x.data == y.data;
}

bool same(const map_info& x, const map_info& y) {
  return x.path == y.path && x.mode == y.mode && x.size == y.size &&
         x.mapped_length == y.mapped_length && x.modified_ns == y.modified_ns && x.links == y.links;
}

template <class T>
bool same(const std::vector<T>& xs, const std::vector<T>& ys) {
  if (xs.size() != ys.size())
    return false;
  for (std::size_t i = 0; i < xs.size(); ++i)
    if (!same(xs[i], ys[i]))
      return false;
  return true;
}

/// Bytes that trip up anything treating them as a C string: NULs, 0xff, high bit, newlines.
actorio::bytes binary_bytes() {
  actorio::bytes out;
  for (int i = 0; i < 256; ++i)
    out.push_back(static_cast<char>(i));
  out.push_back('\0');
  out.push_back('\0');
  out.push_back('x');
  out.push_back('\0');
  return out;
}

failure sample_failure() {
  return failure{ENOENT, "open", "/no/such/dir/f\xc3\xa9.bin", std::string("with\0nul", 8)};
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(type_ids, fixture)

BOOST_AUTO_TEST_CASE(every_type_of_the_id_block_and_the_handles_are_registered_by_name) {
  for (const char* name : {"actorio::failure",
                           "actorio::chunk",
                           "actorio::map_info",
                           "std::vector<char>",
                           "std::vector<actorio::chunk>",
                           "std::vector<actorio::map_info>",
                           "actorio::open_mode",
                           "actorio::utf8_errors",
                           "actorio::map_advice",
                           "std::map<std::string, actorio::open_mode>",
                           "std::vector<std::vector<char>>",
                           "std::vector<std::uint64_t>",
                           "actorio::byte_range",
                           "actorio::read_job",
                           "actorio::write_job",
                           "actorio::resize_job",
                           "actorio::copy_job",
                           "actorio::find_job",
                           "std::vector<actorio::result<std::uint64_t>>",
                           "std::vector<actorio::result<std::string>>",
                           "actorio::byte_pieces",
                           "std::vector<actorio::result<actorio::byte_pieces>>",
                           "std::vector<actorio::result<std::vector<std::uint64_t>>>",
                           "std::vector<actorio::result<actorio::mapped_file_actor>>",
                           "actorio::progress",
                           "actorio::report_progress",
                           "actorio::copy_options",
                           "actorio::walk_options",
                           "actorio::walk_page",
                           "actorio::node_copy_options",
                           "actorio::mapped_file_actor",
                           "actorio::mmap_manager_actor",
                           "actorio::couple_actor",
                           "actorio::open_file"}) {
    BOOST_TEST_CONTEXT(name) {
      auto value = sys.types().make_value(name);
      BOOST_TEST(static_cast<bool>(value));
    }
  }
}

BOOST_AUTO_TEST_CASE(the_enums_round_trip_as_their_values) {
  for (auto x : {open_mode::read_write, open_mode::read_only, open_mode::create,
                 open_mode::create_exclusive})
    BOOST_TEST((round_trip(x) == x), x);
  for (auto x :
       {actorio::utf8_errors::strict, actorio::utf8_errors::replace, actorio::utf8_errors::ignore})
    BOOST_TEST((message_round_trip(x) == x), x);
  for (auto x :
       {actorio::map_advice::normal, actorio::map_advice::random, actorio::map_advice::sequential,
        actorio::map_advice::willneed, actorio::map_advice::dontneed})
    BOOST_TEST((round_trip(x) == x), x);
}

BOOST_AUTO_TEST_CASE(a_failure_round_trips_with_every_field) {
  auto x = sample_failure();
  auto y = round_trip(x);
  BOOST_TEST(same(x, y), describe(y));
  auto z = message_round_trip(x);
  BOOST_TEST(same(x, z), describe(z));
  auto empty = round_trip(failure{});
  BOOST_TEST(same(empty, failure{}), describe(empty));
}

BOOST_AUTO_TEST_CASE(a_sparse_chunk_round_trips_with_binary_data) {
  chunk x{(std::int64_t{1} << 40) + 3, binary_bytes()};
  auto y = round_trip(x);
  BOOST_TEST(same(x, y));
  BOOST_TEST(y.data == x.data);
  auto z = message_round_trip(x);
  BOOST_TEST(same(x, z));
  chunk negative{-1, {}};
  BOOST_TEST(round_trip(negative).offset == -1);
}

BOOST_AUTO_TEST_CASE(line_lists_and_offset_lists_round_trip) {
  std::vector<actorio::bytes> lines{binary_bytes(), {}, {'a', '\n'}};
  auto y = round_trip(lines);
  BOOST_TEST(y.size() == 3u);
  BOOST_TEST((y == lines));
  BOOST_TEST((message_round_trip(lines) == lines));
  std::vector<std::uint64_t> hits{0, 1, std::uint64_t{1} << 40};
  BOOST_TEST(round_trip(hits) == hits, boost::test_tools::per_element());
  BOOST_TEST(message_round_trip(hits) == hits, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(per_item_results_round_trip_as_value_or_failure) {
  std::vector<actorio::result<std::string>> xs{std::string{"abc"}, sample_failure(), std::string{}};
  auto ys = round_trip(xs);
  BOOST_REQUIRE(ys.size() == 3u);
  BOOST_TEST(ys[0].ok());
  BOOST_TEST(*ys[0] == "abc");
  BOOST_TEST(!ys[1].ok());
  BOOST_TEST(same(ys[1].error(), sample_failure()), describe(ys[1].error()));
  BOOST_TEST(ys[2].ok());
  auto zs = message_round_trip(xs);
  BOOST_REQUIRE(zs.size() == 3u);
  BOOST_TEST(!zs[1].ok());
  BOOST_TEST(zs[1].error().code == ENOENT);
  std::vector<actorio::read_job> jobs{{"/a", {{1, 2}, {3, -1}}, false}, {"/b", {}, true}};
  auto back = round_trip(jobs);
  BOOST_REQUIRE(back.size() == 2u);
  BOOST_TEST(back[0].ranges.size() == 2u);
  BOOST_TEST(back[0].ranges[1].size == -1);
  BOOST_TEST(back[1].whole);
}

/// Pieces as a read fills them: sizes laid out first, bytes written in place.
actorio::byte_pieces pieces_of(const std::vector<std::string>& texts) {
  std::vector<std::uint64_t> sizes;
  for (const auto& t : texts)
    sizes.push_back(t.size());
  actorio::byte_pieces out{sizes};
  for (std::size_t i = 0; i < texts.size(); ++i)
    std::copy(texts[i].begin(), texts[i].end(), out[i].begin());
  return out;
}

std::vector<std::string> texts_of(const actorio::byte_pieces& pieces) {
  std::vector<std::string> out;
  for (auto piece : pieces)
    out.emplace_back(piece.begin(), piece.end());
  return out;
}

BOOST_AUTO_TEST_CASE(byte_pieces_round_trip_in_order_with_empty_and_binary_pieces) {
  auto bin = binary_bytes();
  std::vector<std::string> texts{"", "abc", std::string(bin.begin(), bin.end()), "", "z"};
  // Two buffers joined, the second piece cut short, as parts of a read are.
  auto x = pieces_of({"", "abcdef"});
  x.truncate(1, 3);
  x.append(pieces_of({texts[2], "", "z"}));
  BOOST_TEST(texts_of(x) == texts, boost::test_tools::per_element());
  for (const auto& y : {round_trip(x), message_round_trip(x)}) {
    BOOST_TEST(texts_of(y) == texts, boost::test_tools::per_element());
    BOOST_TEST((y == x));
  }
  std::vector<actorio::result<actorio::byte_pieces>> results{x, sample_failure(),
                                                             actorio::byte_pieces{}};
  auto back = message_round_trip(results);
  BOOST_REQUIRE(back.size() == 3u);
  BOOST_TEST((back[0].ok() && *back[0] == x));
  BOOST_TEST(!back[1].ok());
  BOOST_TEST(same(back[1].error(), sample_failure()), describe(back[1].error()));
  BOOST_TEST((back[2].ok() && back[2]->empty()));
  BOOST_TEST(caf::deep_to_string(x).find("byte_pieces") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(byte_pieces_whose_sizes_disagree_with_their_bytes_are_refused) {
  for (auto sizes :
       {std::vector<std::uint64_t>{2, 2}, std::vector<std::uint64_t>{1, 1},
        std::vector<std::uint64_t>{std::uint64_t{1} << 63, std::uint64_t{1} << 63, 3}}) {
    std::vector<char> buf;
    {
      caf::binary_serializer sink{sys, buf};
      std::vector<char> bytes{'a', 'b', 'c'};
      BOOST_REQUIRE(!sink(sizes, bytes));
    }
    actorio::byte_pieces y;
    caf::binary_deserializer source{sys, buf};
    BOOST_TEST(static_cast<bool>(source(y)));
  }
  // A count of bytes the message does not hold is not allocated.
  std::vector<char> buf;
  {
    caf::binary_serializer sink{sys, buf};
    std::vector<std::uint64_t> sizes{std::uint64_t{1} << 50};
    BOOST_REQUIRE(!sink(sizes));
    std::size_t count = std::size_t{1} << 50;
    BOOST_REQUIRE(!sink.begin_sequence(count));
  }
  actorio::byte_pieces y;
  caf::binary_deserializer source{sys, buf};
  BOOST_TEST(static_cast<bool>(source(y)));
}

BOOST_AUTO_TEST_CASE(progress_reports_and_their_request_round_trip) {
  actorio::progress x{1, std::uint64_t{5} << 32, 3, 4};
  BOOST_TEST((round_trip(x) == x));
  BOOST_TEST((message_round_trip(x) == x));
  actorio::report_progress every{250};
  BOOST_TEST(round_trip(every).every_ms == 250u);
  BOOST_TEST(message_round_trip(every).every_ms == 250u);
}

BOOST_AUTO_TEST_CASE(walk_options_and_pages_round_trip_with_every_field) {
  actorio::walk_options x{true, {"*.c", "*.h"}, {"*.o"}, {".git"}, 77};
  for (const auto& y : {round_trip(x), message_round_trip(x)}) {
    BOOST_TEST(y.follow_symlinks);
    BOOST_TEST(y.include == x.include, boost::test_tools::per_element());
    BOOST_TEST(y.exclude == x.exclude, boost::test_tools::per_element());
    BOOST_TEST(y.exclude_dir == x.exclude_dir, boost::test_tools::per_element());
    BOOST_TEST(y.page_size == 77u);
  }
  actorio::walk_page page{{"d/a", "d/new\nline"}, {sample_failure()}, "a/b", false};
  for (const auto& y : {round_trip(page), message_round_trip(page)}) {
    BOOST_TEST(y.files == page.files, boost::test_tools::per_element());
    BOOST_REQUIRE(y.errors.size() == 1u);
    BOOST_TEST(same(y.errors[0], sample_failure()), describe(y.errors[0]));
    BOOST_TEST(y.next == "a/b");
    BOOST_TEST(!y.done);
  }
}

BOOST_AUTO_TEST_CASE(copy_options_round_trip_with_every_field_and_target) {
  for (auto target : {actorio::copy_target::file, actorio::copy_target::directory,
                      actorio::copy_target::file_or_directory}) {
    actorio::copy_options x{.flush = true, .verify = false, .replace = true, .target = target};
    for (const auto& y : {round_trip(x), message_round_trip(x)}) {
      BOOST_TEST(y.flush);
      BOOST_TEST(!y.verify);
      BOOST_TEST(y.replace);
      BOOST_TEST(static_cast<int>(y.target) == static_cast<int>(target));
    }
  }
  auto defaults = round_trip(actorio::copy_options{});
  BOOST_TEST(!defaults.replace);
  BOOST_TEST(static_cast<int>(defaults.target) == static_cast<int>(actorio::copy_target::file));
}

BOOST_AUTO_TEST_CASE(node_copy_options_round_trip_with_every_field) {
  actorio::node_copy_options x{.verify = true,
                               .flush = true,
                               .chunk_bytes = std::size_t{3} << 20,
                               .window = 5,
                               .step_timeout = std::chrono::milliseconds(1234)};
  for (const auto& y : {round_trip(x), message_round_trip(x)}) {
    BOOST_TEST(y.verify);
    BOOST_TEST(y.flush);
    BOOST_TEST(y.chunk_bytes == std::size_t{3} << 20);
    BOOST_TEST(y.window == 5u);
    BOOST_TEST(y.step_timeout.count() == 1234);
  }
  auto defaults = round_trip(actorio::node_copy_options{});
  BOOST_TEST(!defaults.verify);
  BOOST_TEST(!defaults.flush);
  BOOST_TEST(defaults.window == actorio::node_copy_options{}.window);
}

BOOST_AUTO_TEST_CASE(a_map_info_round_trips_with_every_field) {
  map_info x{"/tmp/some dir/f.bin",  open_mode::read_write, 12345,
             std::uint64_t{1} << 33, 1700000000123456789,   3};
  auto y = round_trip(x);
  BOOST_TEST(same(x, y), caf::deep_to_string(y));
  auto z = message_round_trip(x);
  BOOST_TEST(same(x, z), caf::deep_to_string(z));
}

BOOST_AUTO_TEST_CASE(a_byte_vector_with_nuls_and_high_bytes_round_trips_unchanged) {
  auto x = binary_bytes();
  BOOST_TEST(round_trip(x) == x, boost::test_tools::per_element());
  BOOST_TEST(message_round_trip(x) == x, boost::test_tools::per_element());
  actorio::bytes all_nul(4096, '\0');
  BOOST_TEST(round_trip(all_nul) == all_nul);
  BOOST_TEST(round_trip(actorio::bytes{}).empty());
  BOOST_TEST(message_round_trip(actorio::bytes{}).empty());
}

BOOST_AUTO_TEST_CASE(vectors_of_sparse_chunks_and_map_infos_round_trip_in_order) {
  std::vector<chunk> chunks{{0, {'a', '\0', 'b'}}, {4096, binary_bytes()}, {7, {}}};
  BOOST_TEST(same(round_trip(chunks), chunks));
  BOOST_TEST(same(message_round_trip(chunks), chunks));
  BOOST_TEST(round_trip(std::vector<chunk>{}).empty());

  std::vector<map_info> infos{{"/a", open_mode::read_only, 1, 4096},
                              {"/b", open_mode::create, 0, 0},
                              {"/a", open_mode::read_write, 9, 8192}};
  BOOST_TEST(same(round_trip(infos), infos));
  BOOST_TEST(same(message_round_trip(infos), infos));
  BOOST_TEST(round_trip(std::vector<map_info>{}).empty());
}

BOOST_AUTO_TEST_CASE(a_path_to_mode_map_round_trips_with_every_pair) {
  std::map<std::string, open_mode> x{{"/tmp/a", open_mode::read_write},
                                     {"/tmp/b", open_mode::read_only},
                                     {"", open_mode::create},
                                     {std::string("n\0l", 3), open_mode::create_exclusive}};
  auto y = round_trip(x);
  BOOST_TEST((y == x));
  auto z = message_round_trip(x);
  BOOST_TEST((z == x));
  BOOST_TEST(round_trip(std::map<std::string, open_mode>{}).empty());
}

BOOST_AUTO_TEST_CASE(actor_handles_and_open_files_round_trip_to_the_same_live_actor) {
  auto f = path("data.bin");
  actorio::test::write_file(f, "hello");
  {
    actorio::runtime rt{sys};
    auto mgr = actor_of(rt.manager());
    caf::scoped_actor self{sys};

    mapped_file_actor file;
    caf::error err;
    self->request(mgr, timeout, caf::open_atom_v, f, open_mode::read_write, std::int64_t{0})
      .receive([&](mapped_file_actor& h) { file = std::move(h); },
               [&](caf::error& e) { err = std::move(e); });
    BOOST_REQUIRE_MESSAGE(!err, sys.render(err));
    BOOST_REQUIRE(file);

    // The handles themselves.
    auto file_back = round_trip(file);
    BOOST_TEST((file_back == file));
    auto file_msg = message_round_trip(file);
    BOOST_TEST((file_msg == file));
    auto mgr_back = round_trip(mgr);
    BOOST_TEST((mgr_back == mgr));
    BOOST_TEST((message_round_trip(mgr) == mgr));
    BOOST_TEST(!round_trip(mapped_file_actor{}));
    BOOST_TEST(!message_round_trip(mapped_file_actor{}));

    // An open_file entry, alone and in a vector.
    open_file entry{f, open_mode::read_write, file};
    auto entry_back = round_trip(entry);
    BOOST_TEST(entry_back.path == f);
    BOOST_TEST(entry_back.mode == open_mode::read_write);
    BOOST_TEST((entry_back.file == file));
    auto entry_msg = message_round_trip(entry);
    BOOST_TEST((entry_msg.file == file));
    auto entries =
      message_round_trip(std::vector<open_file>{entry, open_file{"/x", open_mode::read_only, {}}});
    BOOST_REQUIRE(entries.size() == 2u);
    BOOST_TEST((entries[0].file == file));
    BOOST_TEST(entries[1].path == "/x");
    BOOST_TEST(!entries[1].file);

    // The deserialized handle still reaches the map.
    map_info info;
    self->request(entry_msg.file, timeout, actorio::info_atom_v)
      .receive([&](map_info& i) { info = std::move(i); },
               [&](caf::error& e) { err = std::move(e); });
    BOOST_REQUIRE_MESSAGE(!err, sys.render(err));
    BOOST_TEST(info.path == f);
    BOOST_TEST(info.mode == open_mode::read_write);
    BOOST_TEST(info.size == 5u);

    self->request(mgr, timeout, caf::close_atom_v, file)
      .receive([] {}, [&](caf::error& e) { err = std::move(e); });
    BOOST_TEST(!err, sys.render(err));
  }
  // The runtime is gone: the fixture's system must now end without waiting on its actors.
}

BOOST_AUTO_TEST_CASE(couple_requests_and_a_couple_handle_round_trip_to_a_live_couple) {
  // Every couple atom travels in a message with its arguments.
  auto msg = round_trip(caf::make_message(actorio::readinto1_atom_v, std::int64_t{-1}));
  BOOST_TEST((msg.match_elements<actorio::readinto1_atom, std::int64_t>()));
  BOOST_TEST(msg.get_as<std::int64_t>(1) == -1);
  msg = round_trip(caf::make_message(actorio::ainput_atom_v, std::string{"? "}, true));
  BOOST_TEST((msg.match_elements<actorio::ainput_atom, std::string, bool>()));
  for (auto m :
       {caf::make_message(actorio::read1_atom_v), caf::make_message(actorio::readall_atom_v),
        caf::make_message(actorio::readinto_atom_v), caf::make_message(actorio::truncate_atom_v),
        caf::make_message(actorio::ready_atom_v), caf::make_message(actorio::cancel_atom_v)})
    BOOST_TEST(round_trip(m).size() == 1u);
  actorio::runtime rt{sys};
  auto [a, b] = rt.double_ended_binary_pipe();
  auto handle = message_round_trip(actor_of(a));
  BOOST_TEST((handle == actor_of(a)));
  caf::scoped_actor self{sys};
  caf::error err;
  self->request(handle, timeout, actorio::write_atom_v, std::string{"ping"})
    .receive([](std::uint64_t n) { BOOST_TEST(n == 4u); },
             [&](caf::error& e) { err = std::move(e); });
  self->request(handle, timeout, caf::flush_atom_v)
    .receive([] {}, [&](caf::error& e) { err = std::move(e); });
  BOOST_REQUIRE_MESSAGE(!err, sys.render(err));
  BOOST_TEST(b.read(4).get() == "ping");
}

BOOST_AUTO_TEST_CASE(make_error_keeps_code_op_path_and_detail_through_to_failure) {
  auto why = sample_failure();
  auto err = actorio::make_error(why);
  BOOST_TEST((err.category() == caf::atom("actorio")));
  BOOST_TEST((err == actorio::errc::os_error), caf::to_string(err));
  auto back = actorio::to_failure(err, "other-op", "/other/path");
  BOOST_TEST(same(back, why), describe(back));
}

BOOST_AUTO_TEST_CASE(make_error_picks_the_code_from_errno) {
  auto inval = actorio::make_error(failure{EINVAL, "open", "/p", "bad mode"});
  BOOST_TEST((inval == actorio::errc::invalid_argument), caf::to_string(inval));
  auto badf = actorio::make_error(failure{EBADF, "write", "/p", ""});
  BOOST_TEST((badf == actorio::errc::closed), caf::to_string(badf));
  auto exist = actorio::make_error(failure{EEXIST, "open", "/p", ""});
  BOOST_TEST((exist == actorio::errc::os_error), caf::to_string(exist));
  BOOST_TEST(actorio::to_failure(exist, "", "").code == EEXIST);
}

BOOST_AUTO_TEST_CASE(an_actorio_error_keeps_its_failure_through_serialization) {
  auto why = sample_failure();
  auto err = actorio::make_error(why);

  auto back = round_trip(err);
  BOOST_TEST((back == err), caf::to_string(back));
  BOOST_TEST((back == actorio::errc::os_error), caf::to_string(back));
  auto f = actorio::to_failure(back, "", "");
  BOOST_TEST(same(f, why), describe(f));

  // As a reply carries it: inside a message.
  auto in_msg = message_round_trip(err);
  auto g = actorio::to_failure(in_msg, "", "");
  BOOST_TEST(same(g, why), describe(g));

  auto inval = round_trip(actorio::make_error(failure{EINVAL, "read", "/p", "negative offset"}));
  BOOST_TEST((inval == actorio::errc::invalid_argument), caf::to_string(inval));
  BOOST_TEST(actorio::to_failure(inval, "", "").code == EINVAL);
}

BOOST_AUTO_TEST_CASE(to_failure_maps_caf_timeouts_and_dead_receivers_to_errno) {
  auto t = actorio::to_failure(caf::make_error(caf::sec::request_timeout), "read", "/p/t");
  BOOST_TEST(t.code == ETIMEDOUT, describe(t));
  BOOST_TEST(t.op == "read");
  BOOST_TEST(t.path == "/p/t");

  auto d = actorio::to_failure(caf::make_error(caf::sec::request_receiver_down), "write", "/p/d");
  BOOST_TEST(d.code == EBADF, describe(d));
  BOOST_TEST(d.op == "write");
  BOOST_TEST(d.path == "/p/d");

  // The reason an actor went down with, as a waiting call sees it.
  auto k = actorio::to_failure(caf::make_error(caf::exit_reason::kill), "read", "/p/k");
  BOOST_TEST(k.code == EBADF, describe(k));
  BOOST_TEST(k.detail.find("kill") != std::string::npos, describe(k));

  // Also after a trip over the wire.
  auto t2 = actorio::to_failure(round_trip(caf::make_error(caf::sec::request_timeout)), "a", "b");
  BOOST_TEST(t2.code == ETIMEDOUT, describe(t2));

  // Anything else is an I/O error that still names the operation and path.
  auto other = actorio::to_failure(caf::make_error(caf::sec::unexpected_message), "sync", "/p/o");
  BOOST_TEST(other.code == EIO, describe(other));
  BOOST_TEST(other.op == "sync");
  BOOST_TEST(other.path == "/p/o");
  BOOST_TEST(!other.detail.empty());
}

BOOST_AUTO_TEST_CASE(the_system_renders_actorio_errors_with_the_registered_renderer) {
  auto err = actorio::make_error(failure{ENOENT, "open", "/no/such", "gone"});
  auto text = sys.render(err);
  BOOST_TEST(text.find("actorio::") != std::string::npos, text);
  BOOST_TEST(text.find("os_error") != std::string::npos, text);
  BOOST_TEST(text.find("/no/such") != std::string::npos, text);
  BOOST_TEST(text.find("gone") != std::string::npos, text);
  auto inval = sys.render(actorio::make_error(failure{EINVAL, "open", "/p", ""}));
  BOOST_TEST(inval.find("actorio::invalid_argument") != std::string::npos, inval);
  auto closed = sys.render(actorio::make_error(failure{EBADF, "read", "/p", ""}));
  BOOST_TEST(closed.find("actorio::closed") != std::string::npos, closed);
}

BOOST_AUTO_TEST_SUITE_END()
