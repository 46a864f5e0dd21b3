#define BOOST_TEST_MODULE runtime_test
#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <chrono>
#include <sstream>
#include <string>
#include <thread>

#include <caf/all.hpp>

#include "actorio/actors.hpp"
#include "support/files.hpp"
#include "support/runtime_fixture.hpp"
#include "support/temp_dir.hpp"

using namespace actorio;
using namespace actorio::test;

namespace {

runtime_config quick_config() {
  runtime_config cfg;
  cfg.request_timeout = std::chrono::seconds(20);
  return cfg;
}

} // namespace

BOOST_AUTO_TEST_SUITE(runtime_lifetime)

BOOST_AUTO_TEST_CASE(several_runtimes_live_and_die_in_one_process) {
  temp_dir dir;
  runtime outer{quick_config()};
  for (int i = 0; i < 5; ++i) {
    runtime rt{quick_config()};
    auto f = rt.manager().create((dir / ("f" + std::to_string(i))).string()).get();
    f.write("run " + std::to_string(i)).get();
  }
  for (int i = 0; i < 5; ++i)
    BOOST_TEST(read_file(dir / ("f" + std::to_string(i))) == "run " + std::to_string(i));
  BOOST_TEST(outer.manager().currently_open().get() == 0u);
}

BOOST_AUTO_TEST_CASE(destroying_a_runtime_with_written_maps_keeps_the_data) {
  temp_dir dir;
  {
    runtime rt{quick_config()};
    auto mgr = rt.manager();
    for (int i = 0; i < 4; ++i) {
      auto f = mgr.create((dir / ("d" + std::to_string(i))).string(), 1 << 20).get();
      f.write(std::string(100000, char('0' + i)), 4096).get();
    }
    // The handles above are gone, but keep one alive across the runtime's end.
    auto kept = mgr.open((dir / "d0").string()).get();
    kept.write("kept", 0).get();
    rt.shutdown();
    BOOST_TEST(error_of(kept.read()).code().value() == EBADF);
  }
  for (int i = 0; i < 4; ++i) {
    auto content = read_file(dir / ("d" + std::to_string(i)));
    BOOST_TEST(content.size() == std::size_t(1 << 20));
    BOOST_TEST(content.substr(4096, 100000) == std::string(100000, char('0' + i)));
  }
  BOOST_TEST(read_file(dir / "d0").substr(0, 4) == "kept");
}

BOOST_AUTO_TEST_CASE(handle_outliving_its_runtime_fails_with_ebadf_and_does_not_hang) {
  temp_dir dir;
  write_file(dir / "f", "x");
  mapped_file survivor;
  std::optional<mmap_manager> orphan_manager;
  {
    runtime rt{quick_config()};
    survivor = rt.manager().open((dir / "f").string()).get();
    orphan_manager = rt.manager();
  }
  BOOST_TEST(error_of(survivor.read()).code().value() == EBADF);
  BOOST_TEST(error_of(orphan_manager->currently_open()).code().value() == EBADF);
  survivor.close().get();
}

BOOST_AUTO_TEST_CASE(
  dropping_everything_as_a_reply_lands_never_ends_the_runtime_on_its_own_thread) {
  // A reply is settled on the thread that sent it. Were that thread left holding the last
  // reference to the runtime, the actor system would be destroyed on one of its own threads.
  temp_dir dir;
  write_file(dir / "f", "x");
  for (int i = 0; i < 200; ++i) {
    runtime rt{quick_config()};
    rt.manager().open((dir / "f").string()).get();
  }
}

BOOST_AUTO_TEST_CASE(shutdown_is_idempotent) {
  runtime rt{quick_config()};
  rt.shutdown();
  rt.shutdown();
}

BOOST_AUTO_TEST_CASE(runtime_attached_to_a_host_system_leaves_it_running) {
  temp_dir dir;
  caf::actor_system_config cfg;
  add_message_types(cfg);
  caf::actor_system sys{cfg};
  auto host_actor = sys.spawn([]() -> caf::behavior { return {[](int x) { return x + 1; }}; });
  for (int i = 0; i < 3; ++i) {
    runtime rt{sys, quick_config()};
    BOOST_TEST(&rt.system() == &sys);
    auto f = rt.manager().create((dir / ("h" + std::to_string(i))).string()).get();
    f.write("hosted").get();
  }
  caf::scoped_actor self{sys};
  int answer = 0;
  self->request(host_actor, std::chrono::seconds(5), 41)
    .receive([&](int y) { answer = y; }, [&](caf::error& e) { BOOST_FAIL(caf::to_string(e)); });
  BOOST_TEST(answer == 42);
  BOOST_TEST(read_file(dir / "h2") == "hosted");
  caf::anon_send_exit(host_actor, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(config_fills_in_machine_defaults) {
  runtime rt{quick_config()};
  BOOST_TEST(rt.config().workers >= 1u);
  BOOST_TEST(rt.config().root == std::filesystem::current_path());
  BOOST_TEST(rt.config().default_checksum == "blake2b512");
  BOOST_TEST(rt.config().minimize_writes);
  auto policy = caf::get_or(rt.system().config(), "scheduler.policy", caf::atom("none"));
  BOOST_TEST((policy == caf::atom("sharing")));
}

BOOST_AUTO_TEST_CASE(config_reads_actorio_keys_from_caf_config) {
  system_config cfg;
  cfg.set("actorio.workers", 3);
  cfg.set("actorio.default-checksum", "sha256");
  cfg.set("actorio.minimize-writes", false);
  cfg.set("actorio.request-timeout", caf::timespan{std::chrono::seconds(7)});
  cfg.set("actorio.scheduler-policy", caf::atom("stealing"));
  cfg.set("actorio.root", "/srv/data");
  auto rc = runtime_config::from_caf(cfg);
  BOOST_TEST(rc.workers == 3u);
  BOOST_TEST(rc.default_checksum == "sha256");
  BOOST_TEST(!rc.minimize_writes);
  BOOST_TEST(rc.request_timeout.count() == 7000);
  BOOST_TEST((rc.scheduler == scheduler_policy::stealing));
  BOOST_TEST(rc.root == "/srv/data");
  auto untouched = runtime_config::from_caf(caf::actor_system_config{});
  BOOST_TEST(untouched.default_checksum == "blake2b512");
}

BOOST_AUTO_TEST_CASE(config_options_parse_from_ini_text) {
  system_config cfg;
  std::istringstream ini{
    "[actorio]\nworkers=5\ndefault-checksum=\"sha512\"\nscheduler-policy='stealing'\n"};
  auto err = cfg.parse(caf::actor_system_config::string_list{}, ini);
  BOOST_TEST(!err, cfg.render(err));
  auto rc = runtime_config::from_caf(cfg);
  BOOST_TEST(rc.workers == 5u);
  BOOST_TEST(rc.default_checksum == "sha512");
  BOOST_TEST((rc.scheduler == scheduler_policy::stealing));
}

BOOST_AUTO_TEST_CASE(runtime_attached_without_config_reads_the_host_config) {
  system_config cfg;
  cfg.set("actorio.default-checksum", "sha1");
  caf::actor_system sys{cfg};
  runtime rt{sys};
  BOOST_TEST(rt.config().default_checksum == "sha1");
}

BOOST_AUTO_TEST_CASE(default_checksum_comes_from_the_config) {
  temp_dir dir;
  write_file(dir / "f", "abc");
  auto cfg = quick_config();
  cfg.default_checksum = "md5";
  runtime rt{cfg};
  BOOST_TEST(rt.manager().checksum((dir / "f").string()).get() ==
             "900150983cd24fb0d6963f7d28e17f72");
}

BOOST_AUTO_TEST_SUITE_END()
