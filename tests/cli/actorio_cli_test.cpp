// End-to-end tests of the `actorio` binary against the real coreutils, xxhsum, grep, cmp and stat
// on generated files.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#define BOOST_TEST_MODULE actorio_cli
#include <boost/test/unit_test.hpp>

#include "support/files.hpp"
#include "support/ports.hpp"
#include "support/temp_dir.hpp"
#include "support/tiny_tmpfs.hpp"

namespace fs = std::filesystem;
using actorio::test::read_file;
using actorio::test::temp_dir;
using actorio::test::unused_port;
using actorio::test::write_file;

namespace {

/// The exit status and both output streams of one shell command.
struct outcome {
  int status = -1;
  std::string out;
  std::string err;
};

/// `s` quoted for sh: any byte, including newlines, survives single quotes.
std::string q(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

/// Names that coreutils prints specially, and one that is plain UTF-8.
const std::vector<std::string> awkward_names{"plain.txt", "with space",       "back\\slash",
                                             "new\nline", "carriage\rreturn", "ünïcødé ✓.bin",
                                             "empty"};

struct cli_fixture {
  temp_dir data;
  temp_dir io;
  std::string cli = ACTORIO_CLI_PATH;

  /// Runs `cmd` with sh in the data directory; stdout and stderr go to files outside it.
  outcome sh(const std::string& cmd, const std::string& input = "") const {
    auto in = io / "stdin";
    write_file(in, input);
    auto out = io / "stdout";
    auto err = io / "stderr";
    auto full = "cd " + q(data.path().string()) + " && { " + cmd + "\n} <" + q(in.string()) + " >" +
                q(out.string()) + " 2>" + q(err.string());
    int rc = std::system(full.c_str());
    outcome r;
    r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    r.out = read_file(out);
    r.err = read_file(err);
    return r;
  }

  /// `actorio ARGS` (ARGS already quoted as needed).
  outcome actorio(const std::string& args, const std::string& input = "") const {
    return sh(q(cli) + " " + args, input);
  }

  fs::path file(const std::string& name, const std::string& content) const {
    write_file(data / name, content);
    return data / name;
  }

  /// The awkward names, each with content of its own (the empty one empty), quoted and joined.
  std::string make_awkward_files() const {
    std::string args;
    for (std::size_t i = 0; i < awkward_names.size(); ++i) {
      file(awkward_names[i], awkward_names[i] == "empty" ? "" : "content " + std::to_string(i));
      args += " " + q(awkward_names[i]);
    }
    return args;
  }
};

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng{seed};
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(rng() & 0xff);
  return s;
}

/// coreutils' stderr with its program name replaced by ours.
std::string as_ours(std::string text, const std::string& prog) {
  std::string out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(prog + ": ", 0) == 0)
      line = "actorio: " + line.substr(prog.size() + 2);
    out += line + '\n';
  }
  return out;
}

/// What a command showed on a terminal.
struct pty_outcome {
  int status = -1;
  std::string screen;
  std::chrono::duration<double> elapsed{};
};

/// Runs `cmd` with sh in `dir`, its stdin and stderr on a 100-column pseudo-terminal.
pty_outcome run_on_pty(const fs::path& dir, const std::string& cmd) {
  winsize ws{};
  ws.ws_col = 100;
  ws.ws_row = 24;
  int master = -1;
  auto start = std::chrono::steady_clock::now();
  pid_t pid = ::forkpty(&master, nullptr, nullptr, &ws);
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::chdir(dir.c_str()) != 0)
      ::_exit(126);
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  pty_outcome r;
  char buf[4096];
  for (;;) {
    auto n = ::read(master, buf, sizeof buf);
    if (n > 0)
      r.screen.append(buf, static_cast<std::size_t>(n));
    else if (n < 0 && errno == EINTR)
      continue;
    else
      break; // EIO once the child's side is closed
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  ::close(master);
  r.elapsed = std::chrono::steady_clock::now() - start;
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

/// A sparse file big enough that `actorio sum -a sha512 -j 1` on it runs for at least `at_least`
/// on this machine (holes read as zeros, so no disk space is used); returns its size.
std::uint64_t make_slow_file(const fs::path& p, std::chrono::duration<double> at_least,
                             const std::string& cli) {
  std::uint64_t size = 256u << 20;
  for (;;) {
    fs::resize_file(p, 0);
    fs::resize_file(p, size);
    auto start = std::chrono::steady_clock::now();
    auto cmd = q(cli) + " -j 1 sum -a sha512 " + q(p.string()) + " >/dev/null 2>&1";
    BOOST_REQUIRE(std::system(cmd.c_str()) == 0);
    if (std::chrono::steady_clock::now() - start >= at_least || size >= (64ull << 30))
      return size;
    size *= 2;
  }
}

/// Whether `dir` holds a name starting with `prefix`.
bool has_entry_starting_with(const fs::path& dir, const std::string& prefix) {
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0)
      return true;
  return false;
}

/// Fills `p` with `mib` MiB of non-zero bytes (no holes: every byte must be copied).
void write_dense(const fs::path& p, std::size_t mib) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  std::string block(1 << 20, 'x');
  for (std::size_t i = 0; i < mib; ++i) {
    block[i % block.size()] = static_cast<char>('a' + i % 26);
    out.write(block.data(), static_cast<std::streamsize>(block.size()));
  }
  BOOST_REQUIRE(out.good());
}

/// Starts `args` (args[0] the program) in `dir` with stdout to `out`; returns its pid.
pid_t spawn_in(const fs::path& dir, std::vector<std::string> args, const fs::path& out) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  auto cwd = fs::current_path();
  fs::current_path(dir);
  pid_t pid = -1;
  int spawned = ::posix_spawn(&pid, args[0].c_str(), &fa, nullptr, argv.data(), environ);
  fs::current_path(cwd);
  posix_spawn_file_actions_destroy(&fa);
  BOOST_REQUIRE(spawned == 0);
  return pid;
}

/// Whether process `pid` has `file` open.
bool holds_open(pid_t pid, const fs::path& file) {
  std::error_code ec;
  auto target = fs::canonical(file);
  for (auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec))
    if (fs::read_symlink(fd.path(), ec) == target)
      return true;
  return false;
}

/// Whether the uid `nobody` (65534) may run `cli`: every directory above it must let it pass.
bool nobody_can_run(const std::string& cli) {
  auto cmd =
    "setpriv --reuid=65534 --regid=65534 --clear-groups test -x " + q(cli) + " 2>/dev/null";
  return ::geteuid() == 0 && std::system(cmd.c_str()) == 0;
}

/// Precondition of the cases that run the CLI as `nobody`: root, to switch to it, and a path to
/// the binary that it may follow.
boost::test_tools::assertion_result nobody_can_run_the_cli(boost::unit_test::test_unit_id) {
  if (nobody_can_run(ACTORIO_CLI_PATH))
    return {true};
  boost::test_tools::assertion_result res(false);
  res.message() << "not root, or uid 65534 cannot reach " << ACTORIO_CLI_PATH;
  return res;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(actorio_cli, cli_fixture)

BOOST_AUTO_TEST_CASE(sum_output_is_byte_identical_to_coreutils_for_awkward_names) {
  auto names = make_awkward_files();
  for (std::string alg : {"sha256", "md5", "sha1", "sha512"}) {
    BOOST_TEST_CONTEXT("algorithm " << alg) {
      auto ours = actorio("sum -a " + alg + " --" + names);
      auto theirs = sh(alg + "sum --" + names);
      BOOST_TEST(theirs.status == 0);
      BOOST_TEST(ours.status == 0);
      BOOST_TEST(ours.out == theirs.out);
      BOOST_TEST(ours.err == "");
    }
  }
}

BOOST_AUTO_TEST_CASE(sha256_is_the_default_algorithm) {
  auto names = make_awkward_files();
  BOOST_TEST(actorio("sum" + names).out == sh("sha256sum" + names).out);
}

BOOST_AUTO_TEST_CASE(sum_reports_a_missing_file_and_a_directory_and_sums_the_rest) {
  file("a", "alpha");
  fs::create_directory(data / "dir");
  auto args = std::string{" a missing dir a"};
  auto ours = actorio("sum" + args);
  auto theirs = sh("sha256sum" + args);
  BOOST_TEST(theirs.status == 1);
  BOOST_TEST(ours.status == 1);
  BOOST_TEST(ours.out == theirs.out);
  BOOST_TEST(ours.err ==
             "actorio: missing: No such file or directory\nactorio: dir: Is a directory\n");
  BOOST_TEST(ours.err == as_ours(theirs.err, "sha256sum"));
}

BOOST_AUTO_TEST_CASE(sum_of_standard_input_matches_coreutils_and_xxhsum) {
  auto input = random_bytes(3 << 20, 7);
  file("f", "file");
  BOOST_TEST(actorio("sum - f", input).out == sh("sha256sum - f", input).out);
  BOOST_TEST(actorio("sum", input).out == sh("sha256sum", input).out);
  BOOST_TEST(actorio("sum -a md5 -", input).out == sh("md5sum -", input).out);
  BOOST_TEST(actorio("sum -a xxh64 -", input).out == sh("xxhsum -H1 - 2>/dev/null", input).out);
}

BOOST_AUTO_TEST_CASE(xxh64_and_xxh128_print_as_xxhsum_does) {
  auto names = make_awkward_files();
  file("big", random_bytes(5 << 20, 3));
  names += " big";
  auto h1 = sh("xxhsum -H1" + names + " 2>/dev/null");
  auto h2 = sh("xxhsum -H2" + names + " 2>/dev/null");
  BOOST_TEST(!h1.out.empty());
  BOOST_TEST(actorio("sum -a xxh64" + names).out == h1.out);
  BOOST_TEST(actorio("sum -a xxh128" + names).out == h2.out);
  BOOST_TEST(actorio("sum -a xxh3 big").out == sh("xxhsum -H3 big 2>/dev/null").out);
}

BOOST_AUTO_TEST_CASE(openssl_digest_names_match_openssl_dgst) {
  file("f", random_bytes(100000, 5));
  auto ours = actorio("sum -a blake2b512 f");
  auto theirs = sh("openssl dgst -blake2b512 -r f");
  BOOST_TEST(ours.status == 0);
  // openssl -r prints "HEX *f"; the hex is what must agree.
  BOOST_TEST(ours.out.substr(0, 128) == theirs.out.substr(0, 128));
  BOOST_TEST(ours.out.substr(128) == "  f\n");
}

BOOST_AUTO_TEST_CASE(an_unknown_algorithm_is_one_message_and_a_usage_error) {
  file("f", "x");
  auto r = actorio("sum -a nosuchdigest f missing");
  BOOST_TEST(r.status == 2);
  BOOST_TEST(r.out == "");
  BOOST_TEST(r.err == "actorio: unknown digest algorithm 'nosuchdigest'\n");
}

BOOST_AUTO_TEST_CASE(check_round_trip_passes_like_coreutils) {
  auto names = make_awkward_files();
  auto list = q((io / "list").string());
  BOOST_REQUIRE(sh("sha256sum" + names + " > " + list).status == 0);
  auto ours = actorio("sum -c " + list);
  auto theirs = sh("sha256sum -c " + list);
  BOOST_TEST(theirs.status == 0);
  BOOST_TEST(ours.status == 0);
  BOOST_TEST(ours.out == theirs.out);
  BOOST_TEST(ours.err == "");
  BOOST_TEST(actorio("sum -c --quiet " + list).out == "");
}

BOOST_AUTO_TEST_CASE(check_reports_corrupted_missing_and_malformed_like_coreutils) {
  auto names = make_awkward_files();
  BOOST_REQUIRE(sh("sha256sum" + names + " > " + q((io / "list").string())).status == 0);
  auto list_text = read_file(io / "list") + "not a checksum line\n# a comment\n\n";
  write_file(io / "list", list_text);
  write_file(data / "plain.txt", "corrupted");
  write_file(data / "new\nline", "also changed");
  fs::remove(data / "with space");
  auto list = q((io / "list").string());
  for (std::string opts : {"", "--quiet ", "--status ", "-w ", "--strict "}) {
    BOOST_TEST_CONTEXT("options '" << opts << "'") {
      auto ours = actorio("sum -c " + opts + list);
      auto theirs = sh("sha256sum -c " + opts + list);
      BOOST_TEST(theirs.status == 1);
      BOOST_TEST(ours.status == 1);
      BOOST_TEST(ours.out == theirs.out);
      // coreutils quotes names with blanks in its messages ('with space'); the rest is the same.
      auto expected = as_ours(theirs.err, "sha256sum");
      auto quoted = expected.find("'with space'");
      if (quoted != std::string::npos)
        expected.replace(quoted, 12, "with space");
      BOOST_TEST(ours.err == expected);
    }
  }
  auto theirs = sh("sha256sum -c " + list);
  BOOST_TEST(theirs.err.find("WARNING: 1 line is improperly formatted") != std::string::npos);
  BOOST_TEST(theirs.err.find("WARNING: 1 listed file could not be read") != std::string::npos);
  BOOST_TEST(theirs.err.find("WARNING: 2 computed checksums did NOT match") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(check_of_a_list_without_checksums_fails_like_coreutils) {
  write_file(io / "list", "hello\n");
  auto list = q((io / "list").string());
  auto ours = actorio("sum -c " + list);
  auto theirs = sh("sha256sum -c " + list);
  BOOST_TEST(ours.status == theirs.status);
  BOOST_TEST(ours.err == as_ours(theirs.err, "sha256sum"));
  BOOST_TEST(actorio("sum -c " + q((io / "nolist").string())).status == 1);
}

BOOST_AUTO_TEST_CASE(check_reads_md5_lists_and_the_list_from_stdin) {
  auto names = make_awkward_files();
  auto list = sh("md5sum" + names).out;
  auto ours = actorio("sum -a md5 -c", list);
  auto theirs = sh("md5sum -c", list);
  BOOST_TEST(ours.status == 0);
  BOOST_TEST(ours.out == theirs.out);
}

/// grep -F -o -b -a's offsets of `pattern` in `name`, one per line.
std::vector<std::string> grep_offsets(const cli_fixture& f, const std::string& pattern,
                                      const std::string& name) {
  auto r = f.sh("grep -F -o -b -a " + q(pattern) + " " + q(name) + " | cut -d: -f1");
  std::vector<std::string> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    out.push_back(line);
  return out;
}

BOOST_AUTO_TEST_CASE(find_offsets_and_counts_match_grep) {
  // 20 MiB with the pattern planted at random places, some across the 8 MiB scan windows.
  std::string pattern = "needle-in-hay";
  auto hay = random_bytes(20 << 20, 11);
  // No newline in the pattern or the planted copies, so grep's line-wise matching agrees.
  std::mt19937 rng{13};
  std::vector<std::size_t> planted{0, (8u << 20) - 5, (16u << 20) - 1, hay.size() - pattern.size()};
  for (int i = 0; i < 40; ++i)
    planted.push_back(rng() % (hay.size() - pattern.size()));
  for (auto at : planted)
    hay.replace(at, pattern.size(), pattern);
  file("hay.bin", hay);
  file("small", "x needle-in-hay y needle-in-hay");
  auto r = actorio("find " + q(pattern) + " hay.bin small");
  BOOST_TEST(r.status == 0);
  std::vector<std::string> expected;
  for (std::string name : {"hay.bin", "small"})
    for (auto& offset : grep_offsets(*this, pattern, name))
      expected.push_back(name + ":" + offset);
  BOOST_TEST(expected.size() > 40u);
  std::vector<std::string> ours;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    ours.push_back(line);
  BOOST_TEST(ours == expected, boost::test_tools::per_element());
  auto counts = actorio("find -c " + q(pattern) + " small hay.bin");
  auto grep_hay = sh("grep -F -o -a " + q(pattern) + " hay.bin | wc -l").out;
  BOOST_TEST(counts.out == "small:2\nhay.bin:" + std::to_string(std::stoul(grep_hay)) + "\n");
}

BOOST_AUTO_TEST_CASE(find_options_limit_overlap_start_and_hex) {
  file("a", "aaaa");
  BOOST_TEST(actorio("find aa a").out == "a:0\na:2\n");
  BOOST_TEST(actorio("find --overlapping aa a").out == "a:0\na:1\na:2\n");
  BOOST_TEST(actorio("find --max-per-file 1 aa a").out == "a:0\n");
  BOOST_TEST(actorio("find --from a=1 aa a").out == "a:1\n");
  BOOST_TEST(actorio("find --hex 6161 a").out == "a:0\na:2\n");
  BOOST_TEST(actorio("find --hex 616 a").status == 2);
}

BOOST_AUTO_TEST_CASE(find_e_and_f_give_grep_F_o_b_offsets) {
  // Patterns that are prefixes of each other and overlap each other, planted around the 8 MiB
  // scan window's end, where the longest pattern at an offset only shows in the next window.
  auto hay = random_bytes(9 << 20, 29);
  std::vector<std::size_t> planted{0, (8u << 20) - 3, (8u << 20) - 11, hay.size() - 13};
  std::mt19937 rng{31};
  for (int i = 0; i < 40; ++i)
    planted.push_back(rng() % (hay.size() - 13));
  for (std::size_t k = 0; k < planted.size(); ++k)
    hay.replace(planted[k], 13, k % 2 == 0 ? "needle-in-hay" : "le-in-hay!!!!");
  file("hay.bin", hay);
  file("pats", "le-in\nhay!\n\nneedle\n");
  auto expected =
    sh("grep -obaF -e needle-in-hay -f pats hay.bin | cut -d: -f1 | sed 's/^/hay.bin:/'");
  auto r = actorio("find -e needle-in-hay -f pats hay.bin");
  BOOST_TEST(r.status == 0);
  BOOST_TEST(r.out == expected.out);
  auto lines = static_cast<std::size_t>(std::count(r.out.begin(), r.out.end(), '\n'));
  BOOST_TEST(lines > 40u);
  BOOST_TEST(actorio("find -c -f pats -e needle-in-hay hay.bin").out ==
             "hay.bin:" + std::to_string(lines) + "\n");
  // From standard input; the positional argument is a file once -f is given.
  BOOST_TEST(actorio("find -f - hay.bin", "needle-in-hay\nle-in\nhay!\n").out == expected.out);
  file("a", "abcd aaaa");
  BOOST_TEST(actorio("find -e ab -e abc -e bcd -e a a").out == "a:0\na:5\na:6\na:7\na:8\n");
  BOOST_TEST(actorio("find --overlapping -e ab -e bcd a").out == "a:0\na:1\n");
  BOOST_TEST(actorio("find --hex -e 6263 -e 61 a").out == "a:0\na:1\na:5\na:6\na:7\na:8\n");
  BOOST_TEST(actorio("find -e '' a").status == 2);
  BOOST_TEST(actorio("find -f missing a").status == 2);
}

BOOST_AUTO_TEST_CASE(find_exit_status_is_grep_s) {
  file("a", "abc");
  file("b", "xyz");
  BOOST_TEST(actorio("find b a b").status == 0);
  auto none = actorio("find nothing a b");
  BOOST_TEST(none.status == 1);
  BOOST_TEST(none.out == "");
  auto err = actorio("find abc a missing");
  BOOST_TEST(err.status == 2);
  BOOST_TEST(err.out == "a:0\n");
  BOOST_TEST(err.err == "actorio: missing: No such file or directory\n");
  BOOST_TEST(actorio("find '' a").status == 2);
}

BOOST_AUTO_TEST_CASE(copy_keeps_bytes_mode_and_holes) {
  auto src = file("src", "");
  {
    // 64 MiB with data at both ends and a hole between.
    write_file(src, random_bytes(1 << 20, 17));
    fs::resize_file(src, 64 << 20);
    auto f = sh("printf tail >> src");
    BOOST_REQUIRE(f.status == 0);
  }
  fs::permissions(src, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                         fs::perms::others_exec);
  auto r = actorio("copy src dst");
  BOOST_TEST(r.status == 0);
  BOOST_TEST(r.err == "");
  BOOST_TEST(sh("cmp src dst").status == 0);
  BOOST_TEST(sh("stat -c %a src").out == sh("stat -c %a dst").out);
  // The hole stays a hole: far fewer blocks than bytes.
  auto blocks = std::stoul(sh("stat -c %b dst").out);
  BOOST_TEST(blocks * 512 < (16u << 20));
}

BOOST_AUTO_TEST_CASE(copy_into_a_directory_and_over_an_existing_file) {
  file("a", "alpha");
  file("b", "bravo");
  fs::create_directory(data / "dir");
  BOOST_TEST(actorio("copy a b dir").status == 0);
  BOOST_TEST(sh("cmp a dir/a && cmp b dir/b").status == 0);
  file("old", "something longer than alpha");
  BOOST_TEST(actorio("copy a old").status == 0);
  BOOST_TEST(read_file(data / "old") == "alpha");
  // Nothing but the files themselves is left in the directory.
  auto listing = sh("ls -A").out;
  BOOST_TEST(listing == "a\nb\ndir\nold\n");
}

BOOST_AUTO_TEST_CASE(copy_verify_checks_each_copy_against_its_source) {
  write_file(file("v", ""), random_bytes(3 << 20, 5));
  file("w", "small");
  fs::create_directory(data / "out");
  auto r = actorio("copy --verify v w out");
  BOOST_TEST(r.status == 0);
  BOOST_TEST(r.err == "");
  BOOST_TEST(sh("cmp v out/v && cmp w out/w").status == 0);
  // A failure is still per file and leaves nothing.
  auto missing = actorio("copy --verify missing out/m");
  BOOST_TEST(missing.status == 1);
  BOOST_TEST(!fs::exists(data / "out" / "m"));
}

BOOST_AUTO_TEST_CASE(copy_failures_leave_no_destination) {
  file("a", "alpha");
  auto missing = actorio("copy missing dst");
  BOOST_TEST(missing.status == 1);
  BOOST_TEST(missing.err == "actorio: missing: No such file or directory\n");
  BOOST_TEST(!fs::exists(data / "dst"));
  auto not_dir = actorio("copy a a2 nodir");
  BOOST_TEST(not_dir.status == 1);
  BOOST_TEST(not_dir.err == "actorio: target 'nodir' is not a directory\n");
  BOOST_TEST(actorio("copy a a").status == 1);
  BOOST_TEST(read_file(data / "a") == "alpha");
}

BOOST_AUTO_TEST_CASE(compact_strips_trailing_nuls_and_reports_sizes) {
  file("z", std::string("abc\0\0\0\0", 7));
  file("clean", "abc");
  file("zeros", std::string(10, '\0'));
  auto r = actorio("compact z clean zeros missing");
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.out == "z: 7 -> 3\nclean: 3 -> 3\nzeros: 10 -> 0\n");
  BOOST_TEST(r.err == "actorio: missing: No such file or directory\n");
  BOOST_TEST(sh("stat -c %s z clean zeros").out == "3\n3\n0\n");
  BOOST_TEST(read_file(data / "z") == "abc");
  BOOST_TEST(actorio("-q compact z").out == "");
}

BOOST_AUTO_TEST_CASE(sparse_creates_a_holey_file_with_the_given_texts) {
  auto r = actorio("sparse s 1G 100=hello 1M=world");
  BOOST_TEST(r.status == 0);
  BOOST_TEST(sh("stat -c %s s").out == "1073741824\n");
  BOOST_TEST(std::stoul(sh("stat -c %b s").out) * 512 < (1u << 20));
  BOOST_TEST(sh("dd if=s bs=1 skip=100 count=5 status=none").out == "hello");
  BOOST_TEST(sh("dd if=s bs=1 skip=1048576 count=5 status=none").out == "world");
  auto again = actorio("sparse s 1M");
  BOOST_TEST(again.status == 1);
  BOOST_TEST(again.err == "actorio: s: File exists\n");
}

BOOST_AUTO_TEST_CASE(sparse_that_fails_leaves_nothing_and_a_chunk_past_size_is_a_usage_error) {
  // The shell's file size limit stands in for a filesystem's (ext4 refuses 16T the same way).
  auto refused = sh("trap '' XFSZ; ulimit -f 1024; exec " + q(cli) + " sparse s 16M");
  BOOST_TEST(refused.status == 1);
  BOOST_TEST(refused.err == "actorio: s: File too large\n");
  BOOST_TEST(!fs::exists(data / "s"));
  BOOST_TEST(actorio("sparse s 16M").status == 0);
  auto past = actorio("sparse t 10 20=hello");
  BOOST_TEST(past.status == 2);
  BOOST_TEST(past.err.find("past SIZE") != std::string::npos, past.err);
  BOOST_TEST(!fs::exists(data / "t"));
  BOOST_TEST(actorio("sparse t 10 5=hello").status == 0);
  BOOST_TEST(read_file(data / "t") == std::string("\0\0\0\0\0hello", 10));
  BOOST_TEST(actorio("sparse u 12Q").status == 2);
  BOOST_TEST(actorio("sparse u 1K nonsense").status == 2);
  BOOST_TEST(!fs::exists(data / "u"));
}

BOOST_AUTO_TEST_CASE(read_and_write_move_bytes_between_files_and_stdio) {
  auto content = random_bytes(20 << 20, 19);
  file("f", content);
  BOOST_TEST(actorio("read f").out == content);
  BOOST_TEST(actorio("read f 1000 10").out == content.substr(1000, 10));
  BOOST_TEST(actorio("read f " + std::to_string(content.size() - 3)).out ==
             content.substr(content.size() - 3));
  BOOST_TEST(actorio("read f " + std::to_string(content.size() + 5)).out == "");
  BOOST_TEST(actorio("read missing").err == "actorio: missing: No such file or directory\n");
  BOOST_TEST(actorio("write new 3", "hi").status == 0);
  BOOST_TEST(read_file(data / "new") == std::string("\0\0\0hi", 5));
  BOOST_TEST(actorio("write new 1", "XY").status == 0);
  BOOST_TEST(read_file(data / "new") == std::string("\0XYhi", 5));
  auto big = random_bytes(9 << 20, 23);
  BOOST_TEST(actorio("write f 0", big).status == 0);
  BOOST_TEST(read_file(data / "f") == big + content.substr(big.size()));
  fs::create_directory(data / "d");
  BOOST_TEST(actorio("write d 0", "x").status == 1);
}

BOOST_AUTO_TEST_CASE(write_far_past_any_file_size_says_so_and_leaves_no_file) {
  // 2^62: ext4 refuses the size with EFBIG; a filesystem that takes it cannot map it (ENOMEM).
  auto r = actorio("write w 4611686018427387904", "hi");
  BOOST_TEST(r.status == 1);
  BOOST_TEST(
    (r.err == "actorio: w: File too large\n" || r.err == "actorio: w: Cannot allocate memory\n"),
    r.err);
  BOOST_TEST(!fs::exists(data / "w"));
  // Empty input still makes the file, as before.
  BOOST_TEST(actorio("write e 7", "").status == 0);
  BOOST_TEST(fs::exists(data / "e"));
  BOOST_TEST(fs::file_size(data / "e") == 0u);
}

BOOST_AUTO_TEST_CASE(write_far_past_any_file_size_leaves_an_existing_file_as_it_was) {
  // The error is the file system's own answer for that size (ext4: EFBIG); only one that takes
  // it (tmpfs) leaves the map's ENOMEM.
  write_file(data / "probe", "");
  bool refused = ::truncate((data / "probe").c_str(), off_t{1} << 62) != 0 && errno == EFBIG;
  write_file(data / "f", "kept");
  auto r = actorio("write f 4611686018427387904", "hi");
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err ==
             (refused ? "actorio: f: File too large\n" : "actorio: f: Cannot allocate memory\n"));
  BOOST_TEST(read_file(data / "f") == "kept");
}

/// `actorio serve ARGS` running in the background, its stderr in a file; the listening line is
/// read from its stdout.
struct serve_process {
  pid_t pid = -1;
  std::string address;
  fs::path err;

  serve_process(const std::string& cli, const std::vector<std::string>& args, fs::path err_file)
    : err(std::move(err_file)) {
    int out[2];
    BOOST_REQUIRE(::pipe(out) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> all{cli, "serve"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    BOOST_REQUIRE(::posix_spawn(&pid, cli.c_str(), &fa, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    std::string line;
    char c;
    while (::read(out[0], &c, 1) == 1 && c != '\n')
      line += c;
    ::close(out[0]);
    const std::string prefix = "listening on ";
    BOOST_REQUIRE_MESSAGE(line.rfind(prefix, 0) == 0, "serve said: " << line);
    address = line.substr(prefix.size());
    address = address.substr(0, address.find(' '));
  }

  /// Sends `sig` and returns the exit status (-1: killed by a signal).
  int stop(int sig = SIGTERM) {
    if (pid < 0)
      return -1;
    ::kill(pid, sig);
    int st = 0;
    ::waitpid(pid, &st, 0);
    pid = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }

  ~serve_process() {
    stop(SIGKILL);
  }
};

BOOST_AUTO_TEST_CASE(remote_commands_give_what_local_commands_give_and_serve_stops_on_sigterm) {
  temp_dir served;
  auto content = random_bytes(300000, 41) + "needle" + std::string(1000, '\0');
  write_file(served / "f.bin", content);
  write_file(served / "g.txt", "needle at the start\n");
  serve_process server{
    cli, {"--listen", "127.0.0.1:0", "--root", served.path().string()}, io / "serve.err"};
  auto remote = "--remote " + server.address + " ";
  auto local_sum = sh("cd " + q(served.path().string()) + " && sha256sum f.bin g.txt");
  auto remote_sum = actorio(remote + "sum -a sha256 f.bin g.txt");
  BOOST_TEST(remote_sum.status == 0);
  BOOST_TEST(remote_sum.out == local_sum.out);
  BOOST_TEST(actorio(remote + "read f.bin 300000 6").out == "needle");
  BOOST_TEST(actorio(remote + "write h.txt 0", "new").status == 0);
  BOOST_TEST(read_file(served / "h.txt") == "new");
  BOOST_TEST(actorio(remote + "copy f.bin f2.bin").status == 0);
  BOOST_TEST(read_file(served / "f2.bin") == content);
  auto found = actorio(remote + "find needle f.bin g.txt");
  BOOST_TEST(found.status == 0);
  BOOST_TEST(found.out.find("300000") != std::string::npos);
  // The longest pattern at offset 0 of g.txt hides "at the" at 7.
  BOOST_TEST(actorio(remote + "find -e needle -e 'at the' -e 'needle at' f.bin g.txt").out ==
             "f.bin:300000\ng.txt:0\n");
  BOOST_TEST(actorio(remote + "compact f2.bin").status == 0);
  BOOST_TEST(fs::file_size(served / "f2.bin") == 300006u);
  auto missing = actorio(remote + "sum -a sha256 missing");
  BOOST_TEST(missing.status == 1);
  BOOST_TEST(missing.err.find("No such file or directory") != std::string::npos);
  BOOST_TEST(server.stop(SIGTERM) == 0);
  auto log = read_file(server.err);
  BOOST_TEST(log.find("connected") != std::string::npos);
  BOOST_TEST(log.find("stopped") != std::string::npos);
}

/// `content` at `path`, its directories made first.
void put(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  write_file(path, content);
}

/// A tree for -r and -R: names whose byte order differs from a per-directory sort ('-' and '.'
/// sort before '/'), a space, hits in several files, a symlink to a file and one to a directory
/// (followed only by -R), a FIFO (skipped), nested and empty directories.
void make_tree(const cli_fixture& f) {
  put(f.data / "t/a/f1", "needle x needle");
  put(f.data / "t/a-c", "no hit here");
  put(f.data / "t/a.txt", "needle");
  put(f.data / "t/a/b/deep.bin",
      random_bytes(1000, 3) + "needle" + random_bytes(70000, 4) + "needle");
  put(f.data / "t/sub dir/g.log", "xxneedle");
  put(f.data / "t/.hidden/h", "needle");
  fs::create_directories(f.data / "t" / "void");
  fs::create_symlink("a.txt", f.data / "t" / "link.txt");
  fs::create_directory_symlink("a", f.data / "t" / "dir.link");
  BOOST_REQUIRE(::mkfifo((f.data / "t" / "fifo").c_str(), 0600) == 0);
}

/// grep -obaF's "PATH:OFFSET:MATCH" lines as PATH:OFFSET, sorted by path bytes, then offset.
std::string grep_r(const cli_fixture& f, const std::string& args) {
  return f
    .sh("grep -D skip -obaF " + args + " | sed 's/:needle$//' | LC_ALL=C sort -t: -k1,1 -k2,2n")
    .out;
}

BOOST_AUTO_TEST_CASE(sum_r_is_find_sort_sha256sum_and_checks_with_sum_c) {
  make_tree(*this);
  auto expected = sh("find t -type f | LC_ALL=C sort | xargs -d '\\n' sha256sum");
  BOOST_REQUIRE(expected.status == 0);
  auto r = actorio("sum -r t");
  BOOST_TEST(r.status == 0);
  BOOST_TEST(r.err == "");
  BOOST_TEST(r.out == expected.out);
  write_file(io / "list", r.out);
  BOOST_TEST(actorio("sum -c --quiet " + q((io / "list").string())).status == 0);
  // Without -r a directory is an error, as before.
  BOOST_TEST(actorio("sum t").status == 1);
  // -R follows the symlinks met in the walk.
  auto deref = sh("find -L t -type f | LC_ALL=C sort | xargs -d '\\n' sha256sum");
  BOOST_TEST(actorio("sum -R t").out == deref.out);
  // Two runs print the same lines.
  BOOST_TEST(actorio("sum -r t").out == r.out);
}

BOOST_AUTO_TEST_CASE(find_r_gives_grep_r_offsets_with_and_without_globs) {
  make_tree(*this);
  auto r = actorio("find -r needle t");
  BOOST_TEST(r.status == 0);
  BOOST_TEST(r.err == "");
  BOOST_TEST(r.out == grep_r(*this, "-r needle t"));
  BOOST_TEST(actorio("find -R needle t").out == grep_r(*this, "-R needle t"));
  for (std::string globs : {"--include '*.txt' --include 'f*'", "--exclude 'a*' --exclude-dir b",
                            "--exclude-dir '.*' --exclude-dir 'sub*'"}) {
    BOOST_TEST(actorio("find -r " + globs + " needle t").out ==
                 grep_r(*this, "-r " + globs + " needle t"),
               globs);
  }
  // As in grep 3.8, --exclude-dir skips a directory named on the command line, not a file.
  BOOST_TEST(actorio("find -r --exclude-dir a --exclude-dir 'a.*' needle t/a t/a.txt").out ==
             "t/a.txt:0\n");
  BOOST_TEST(grep_r(*this, "-r --exclude-dir a --exclude-dir 'a.*' needle t/a t/a.txt") ==
             "t/a.txt:0\n");
  // A symlink named on the command line is followed; a file named is searched as it is.
  BOOST_TEST(actorio("find -r needle t/dir.link t/a.txt").out ==
             "t/dir.link/b/deep.bin:1000\nt/dir.link/b/deep.bin:71006\nt/dir.link/f1:0\n"
             "t/dir.link/f1:9\nt/a.txt:0\n");
  BOOST_TEST(actorio("find needle t").status == 2);
  BOOST_TEST(actorio("find -r nothing t").status == 1);
}

BOOST_AUTO_TEST_CASE(find_r_over_several_walk_pages_prints_grep_r_lines_in_name_order) {
  // 4,500 files: more than one page of the walk (4,096 files) and two slices of the search,
  // handed on as the walk lists them; named files before and after the tree keep their place.
  for (int d = 0; d < 3; ++d) {
    auto dir = data / "t" / ("d" + std::to_string(d));
    fs::create_directories(dir);
    for (int i = 0; i < 1500; ++i)
      write_file(dir / ("f" + std::to_string(i)),
                 i % 7 == 0 ? std::string(static_cast<std::size_t>(i % 50), '.') + "needle"
                            : "no hit");
  }
  put(data / "first", "needle");
  put(data / "z-last", "a needle");
  auto r = actorio("find -r needle z-last t first");
  BOOST_TEST(r.status == 0);
  BOOST_TEST(r.err == "");
  BOOST_TEST(r.out == "z-last:2\n" + grep_r(*this, "-r needle t") + "first:0\n");
  BOOST_TEST(
    actorio("find -r -c --include 'f1*' needle t").out ==
    sh("grep -rcaF --include 'f1*' needle t | grep -v ':0$' | LC_ALL=C sort -t: -k1,1").out);
}

BOOST_AUTO_TEST_CASE(an_unreadable_directory_is_reported_and_the_rest_is_searched,
                     *boost::unit_test::precondition(nobody_can_run_the_cli)) {
  make_tree(*this);
  fs::permissions(data.path(),
                  fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(data / "t" / "a" / "b", fs::perms::none);
  auto as_nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups " + q(cli);
  auto found = sh(as_nobody + " find -r needle t");
  BOOST_TEST(found.status == 2);
  BOOST_TEST(found.err == "actorio: t/a/b: Permission denied\n");
  BOOST_TEST(found.out.find("t/a/f1:0\n") != std::string::npos);
  BOOST_TEST(found.out.find("t/sub dir/g.log:2\n") != std::string::npos);
  auto sums = sh(as_nobody + " sum -r t");
  BOOST_TEST(sums.status == 1);
  BOOST_TEST(sums.err == "actorio: t/a/b: Permission denied\n");
  BOOST_TEST(sums.out.find("  t/a/f1\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(remote_r_walks_the_served_tree_and_cannot_leave_its_root) {
  temp_dir served;
  put(served / "in" / "f.txt", "needle");
  put(served / "in" / "sub" / "g", "a needle");
  put(data / "secret" / "key", "needle outside");
  fs::create_directory_symlink(data / "secret", served / "in" / "out");
  fs::create_symlink("../../../secret/key", served / "in" / "sub" / "key");
  fs::create_directory_symlink("sub", served / "in" / "ok");
  serve_process server{
    cli, {"--listen", "127.0.0.1:0", "--root", served.path().string()}, io / "serve.err"};
  auto remote = "--remote " + server.address + " ";
  auto plain = actorio(remote + "find -r needle in");
  BOOST_TEST(plain.status == 0);
  BOOST_TEST(plain.err == "");
  BOOST_TEST(plain.out == "in/f.txt:0\nin/sub/g:2\n");
  // -R follows the link that stays inside and refuses those that lead out (key, met twice).
  auto deref = actorio(remote + "find -R needle in");
  BOOST_TEST(deref.status == 2);
  BOOST_TEST(deref.out == "in/f.txt:0\nin/ok/g:2\nin/sub/g:2\n");
  BOOST_TEST(deref.err ==
             "actorio: in/ok/key: Permission denied\nactorio: in/out: Permission denied\n"
             "actorio: in/sub/key: Permission denied\n");
  BOOST_TEST(actorio(remote + "find -r needle ..").status == 2);
  auto sums = actorio(remote + "sum -r in");
  BOOST_TEST(sums.out ==
             sh("cd " + q(served.path().string()) + " && sha256sum in/f.txt in/sub/g").out);
  BOOST_TEST(server.stop(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(serve_logs_a_client_when_it_connects_and_when_it_goes) {
  temp_dir served;
  write_file(served / "f.txt", "x");
  serve_process server{cli,
                       {"--listen", "127.0.0.1:0", "--root", served.path().string(), "--max-maps",
                        "1", "--max-in-flight", "100"},
                       io / "serve-log.err"};
  BOOST_TEST(actorio("--remote " + server.address + " sum -a sha256 f.txt").status == 0);
  // The client process has ended: its connection is gone, and the server says so by itself.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (read_file(server.err).find("disconnected") == std::string::npos &&
         std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto log = read_file(server.err);
  auto connected = log.find("actorio serve: client ");
  auto node_end = log.find(" connected\n");
  BOOST_REQUIRE_MESSAGE(connected == 0 && node_end != std::string::npos, log);
  auto node = log.substr(22, node_end - 22);
  BOOST_TEST(log == "actorio serve: client " + node + " connected\nactorio serve: client " + node +
                      " disconnected\n");
  // The limits given are in force: a sparse file whose data exceeds 100 bytes is refused.
  auto big = actorio("--remote " + server.address + " sparse s.bin 1K 0=" + std::string(200, 'y'));
  BOOST_TEST(big.status == 1);
  BOOST_TEST(big.err.find("File too large") != std::string::npos, big.err);
  BOOST_TEST(!fs::exists(served / "s.bin"));
  BOOST_TEST(server.stop(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(remote_to_nothing_and_bad_serve_arguments_fail_with_a_message) {
  auto nothing = actorio("--remote 127.0.0.1:1 sum x");
  BOOST_TEST(nothing.status == 2);
  BOOST_TEST(nothing.err == "actorio: 127.0.0.1:1: Connection refused\n");
  auto bad_address = actorio("--remote nonsense sum x");
  BOOST_TEST(bad_address.status == 2);
  auto no_root = actorio("serve --listen 127.0.0.1:0 --root " + q((data / "nope").string()));
  BOOST_TEST(no_root.status == 2);
  BOOST_TEST(no_root.err.find("nope") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_2_and_every_subcommand_has_help) {
  BOOST_TEST(actorio("").status == 2);
  BOOST_TEST(actorio("nosuchcommand").status == 2);
  for (std::string sub : {"sum", "find", "copy", "compact", "sparse", "read", "write"}) {
    auto help = actorio(sub + " --help");
    BOOST_TEST(help.status == 0);
    BOOST_TEST(help.out.find(sub) != std::string::npos);
  }
  BOOST_TEST(actorio("--version").out == "actorio " ACTORIO_VERSION "\n");
}

BOOST_AUTO_TEST_CASE(bad_values_are_usage_errors_with_status_2) {
  file("f", "x");
  for (std::string args :
       {"copy f", "sparse s nonsense", "sparse s 1K 2K=x", "-j -1 sum f", "-j 1025 sum f",
        "find --max-per-file -1 x f", "sum -a nosuch f", "serve --root . --max-read -1",
        "serve --root . --max-maps -1", "serve --root . --max-in-flight -1",
        "serve --root . --max-clients -1", "serve --root . --max-message -1"}) {
    auto r = actorio(args);
    BOOST_TEST(r.status == 2, args);
    BOOST_TEST(r.out == "", args);
    BOOST_TEST(r.err.find("actorio: actorio:") == std::string::npos, args << ": " << r.err);
  }
  // 0 is documented as "one per hardware thread"; 1 and 1024 are the ends of the range.
  auto expected = sh("sha256sum f").out;
  for (std::string jobs : {"0", "1", "1024"})
    BOOST_TEST(actorio("-j " + jobs + " sum f").out == expected, jobs);
}

BOOST_AUTO_TEST_CASE(remote_timeouts_that_are_not_a_sane_number_of_seconds_are_refused) {
  file("f", "x");
  for (std::string t : {"nan", "inf", "-5", "0", "1e300", "abc", "1s"}) {
    auto r = actorio("--remote 127.0.0.1:1 --timeout " + t + " sum f");
    BOOST_TEST(r.status == 2, t);
    BOOST_TEST(r.err.find("--timeout") != std::string::npos, t << ": " << r.err);
  }
}

BOOST_AUTO_TEST_CASE(a_timeout_under_a_millisecond_still_fires_on_a_silent_server) {
  // A listening socket nobody accepts from: the kernel completes the TCP handshake and then
  // nothing ever answers.
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  BOOST_REQUIRE(listener >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  BOOST_REQUIRE(::listen(listener, 8) == 0);
  socklen_t len = sizeof addr;
  BOOST_REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  auto port = std::to_string(ntohs(addr.sin_port));
  file("f", "x");
  auto start = std::chrono::steady_clock::now();
  // `timeout` turns a call that never fires into a failure instead of a hung test.
  auto r = sh("timeout 60 " + q(cli) + " --remote 127.0.0.1:" + port + " --timeout 0.0001 sum f");
  auto took = std::chrono::steady_clock::now() - start;
  ::close(listener);
  BOOST_TEST(r.status == 2);
  BOOST_TEST(r.err.find("timed out") != std::string::npos, r.err);
  BOOST_TEST(took < std::chrono::seconds(30));
}

BOOST_AUTO_TEST_CASE(write_errors_on_stdout_fail_every_subcommand_as_sha256sum_does) {
  file("f", "needle\n");
  BOOST_REQUIRE(sh("sha256sum f > f.sha256").status == 0);
  // sha256sum's status; cat's message, which names the error (this sha256sum's does not).
  auto status = sh("sha256sum f >/dev/full").status;
  auto message = as_ours(sh("cat f >/dev/full").err, "cat");
  BOOST_TEST(status == 1);
  BOOST_TEST(message == "actorio: write error: No space left on device\n");
  for (std::string args : {"sum f", "sum -c f.sha256", "read f", "compact f"}) {
    auto r = actorio(args + " >/dev/full");
    BOOST_TEST(r.status == status, args);
    BOOST_TEST(r.err == message, args);
  }
  // find keeps grep's statuses: trouble is 2, as `grep needle f >/dev/full` says.
  auto found = actorio("find needle f >/dev/full");
  BOOST_TEST(found.status == sh("grep needle f >/dev/full").status);
  BOOST_TEST(found.err == "actorio: write error: No space left on device\n");
  // A closed stdout is a write error too, not output lost in silence.
  auto closed = actorio("sum f >&-");
  BOOST_TEST(closed.status == 1);
  BOOST_TEST(closed.err == as_ours(sh("sha256sum f >&-").err, "sha256sum"));
}

BOOST_AUTO_TEST_CASE(sum_into_a_nearly_full_filesystem_stops_with_a_write_error,
                     *boost::unit_test::precondition(actorio::test::tmpfs_can_be_mounted)) {
  actorio::test::tiny_tmpfs small{io / "mnt", 64 * 1024};
  BOOST_REQUIRE_MESSAGE(small.mounted(), "tmpfs not mounted (errno " << small.error() << ")");
  fs::create_directory(data / "m");
  std::string names;
  for (int i = 0; i < 3000; ++i) {
    write_file(data / ("m/f" + std::to_string(i)), std::to_string(i));
    names += " m/f" + std::to_string(i);
  }
  write_file(io / "names", names);
  auto r =
    sh(q(cli) + " sum $(cat " + q((io / "names").string()) + ") > " + q((small / "out").string()));
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err == "actorio: write error: No space left on device\n");
  BOOST_TEST(fs::file_size(small / "out") < 3000u * 70);
}

// Not under sanitizers: their runtimes need threads and address space of their own.
BOOST_AUTO_TEST_CASE(threads_that_cannot_start_are_a_clear_error_with_status_2,
                     *boost::unit_test::enable_if<!ACTORIO_SANITIZED>() *
                       boost::unit_test::precondition(nobody_can_run_the_cli)) {
  file("f", "x");
  // RLIMIT_NPROC counts a user's threads and does not bind root: run as nobody, who may read f.
  // At 8 the io workers could not start (the run hung), at 7 CAF's own threads (it aborted).
  fs::permissions(data.path(), fs::perms::owner_all | fs::perms::group_read |
                                 fs::perms::group_exec | fs::perms::others_read |
                                 fs::perms::others_exec);
  for (int limit : {8, 7, 4}) {
    auto r = sh("timeout 60 setpriv --reuid=65534 --regid=65534 --clear-groups prlimit --nproc=" +
                std::to_string(limit) + " -- " + q(cli) + " sum f");
    BOOST_TEST(r.status == 2, limit);
    BOOST_TEST(r.out == "", limit);
    BOOST_TEST(r.err.find("Resource temporarily unavailable\n") != std::string::npos,
               limit << ": " << r.err);
    BOOST_TEST(r.err.rfind("actorio: cannot start ", 0) == 0, limit << ": " << r.err);
  }
}

// Not under sanitizers: their runtimes need address space of their own.
BOOST_AUTO_TEST_CASE(workers_without_address_space_for_their_stacks_are_a_clear_error,
                     *boost::unit_test::enable_if<!ACTORIO_SANITIZED>()) {
  file("f", "x");
  auto expected = sh("sha256sum f").out;
  // Address space for 400 workers' stacks runs out part way through starting them.
  auto r = sh("ulimit -v 4000000; exec timeout 60 " + q(cli) + " -j 400 sum f");
  BOOST_TEST(r.status == 2);
  BOOST_TEST(r.err.rfind("actorio: cannot start ", 0) == 0, r.err);
  // With room enough, the same command works.
  BOOST_TEST(actorio("-j 8 sum f").out == expected);
}

BOOST_AUTO_TEST_CASE(find_reads_devices_and_fifos_as_grep_does) {
  auto none = actorio("find x /dev/null");
  BOOST_TEST(none.status == sh("grep x /dev/null").status);
  BOOST_TEST(none.out == "");
  BOOST_TEST(none.err == "");
  // Hits across the pipe's pieces, overlapping or not, match grep's byte offsets.
  std::string text;
  for (int i = 0; i < 40000; ++i)
    text += i % 7 == 0 ? "aaab" : "xyz";
  file("t", text);
  BOOST_REQUIRE(::mkfifo((data / "p").c_str(), 0600) == 0);
  auto r = actorio("find aab p & cat t > p; wait $!");
  BOOST_TEST(r.status == 0);
  std::string expected;
  std::istringstream grep_out(sh("grep -obUa aab t").out);
  for (std::string line; std::getline(grep_out, line);)
    expected += "p:" + line.substr(0, line.find(':')) + "\n";
  BOOST_TEST(r.out == expected);
  auto overlapping = actorio("find --overlapping --max-per-file 3 aa p & cat t > p; wait $!");
  std::string naive;
  for (std::size_t i = 0, n = 0; i + 1 < text.size() && n < 3; ++i)
    if (text.compare(i, 2, "aa") == 0 && ++n)
      naive += "p:" + std::to_string(i) + "\n";
  BOOST_TEST(overlapping.out == naive);
}

BOOST_AUTO_TEST_CASE(copy_replaces_a_symlink_hard_link_or_read_only_dst_rather_than_writing_in) {
  // Unlike cp, which writes through DST, the copy is renamed over DST (README, copy): the link
  // itself is replaced and what it pointed to, or the file's other names, keep their bytes.
  file("src", "new");
  file("target", "old");
  fs::create_symlink("target", data / "link");
  BOOST_TEST(actorio("copy src link").status == 0);
  BOOST_TEST(!fs::is_symlink(data / "link"));
  BOOST_TEST(read_file(data / "link") == "new");
  BOOST_TEST(read_file(data / "target") == "old");
  file("one", "old");
  fs::create_hard_link(data / "one", data / "two");
  BOOST_TEST(actorio("copy src two").status == 0);
  BOOST_TEST(read_file(data / "two") == "new");
  BOOST_TEST(read_file(data / "one") == "old");
  file("ro", "old");
  fs::permissions(data / "ro",
                  fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  BOOST_TEST(actorio("copy src ro").status == 0);
  BOOST_TEST(read_file(data / "ro") == "new");
}

BOOST_AUTO_TEST_CASE(a_hundred_thousand_files_from_a_nul_list_with_256_fds) {
  constexpr int n = 100000;
  std::string list;
  // In memory where possible: on a disk mounted with `discard`, removing 100,000 files took
  // minutes while other tests wrote. The files are only there to be named; where they live does
  // not matter to the case.
  std::optional<temp_dir> many;
  if (fs::is_directory("/dev/shm"))
    many.emplace("/dev/shm");
  else
    many.emplace();
  fs::create_directory_symlink(many->path(), data / "many");
  for (int i = 0; i < n; ++i) {
    // A few names with a newline: only a NUL-separated list can carry them.
    auto name = "many/f" + std::to_string(i) + (i % 10000 == 0 ? "\nx" : "");
    write_file(data / name, std::to_string(i));
    list += name;
    list += '\0';
  }
  write_file(io / "list", list);
  auto lst = q((io / "list").string());
  auto ours = sh("ulimit -n 256; " + q(cli) + " sum --files-from " + lst + " -0");
  auto theirs = sh("xargs -0 sha256sum < " + lst);
  BOOST_TEST(ours.status == 0);
  BOOST_TEST(ours.err == "");
  BOOST_TEST(ours.out.size() == theirs.out.size());
  BOOST_TEST((ours.out == theirs.out));
  auto found = sh("ulimit -n 256; " + q(cli) + " find -c --files-from " + lst + " -0 99999");
  BOOST_TEST(found.status == 0);
  BOOST_TEST(found.out == "many/f99999:1\n");
}

BOOST_AUTO_TEST_CASE(a_slow_job_draws_a_progress_bar_on_a_terminal_and_nothing_on_a_pipe) {
  write_file(data / "slow", "");
  auto size = make_slow_file(data / "slow", std::chrono::seconds(3), cli);
  auto tty = run_on_pty(data.path(), q(cli) + " -j 1 sum -a sha512 slow >/dev/null");
  // The size was found on a machine that may have been busier than it is now: a job whose
  // hashing ended before the bar's first draw (1 s after the meter starts, which can be well
  // after the process starts under a sanitizer) shows nothing, so it runs again on a larger file.
  for (int i = 0; i < 4 && tty.screen.find('%') == std::string::npos; ++i) {
    size *= 2;
    fs::resize_file(data / "slow", size);
    tty = run_on_pty(data.path(), q(cli) + " -j 1 sum -a sha512 slow >/dev/null");
  }
  BOOST_TEST(tty.status == 0);
  BOOST_TEST_MESSAGE("the job took " << tty.elapsed.count() << " s");
  BOOST_TEST(tty.screen.find('%') != std::string::npos);
  BOOST_TEST(tty.screen.find(" [") != std::string::npos);
  BOOST_TEST(tty.screen.find("ETA") != std::string::npos);
  BOOST_TEST(tty.screen.find("/s") != std::string::npos);
  // The line is erased at the end, so the terminal is left clean.
  BOOST_TEST(tty.screen.ends_with("\r\x1b[K"));
  // Every drawn line fits the 100 columns without wrapping.
  std::size_t pos = 0;
  while ((pos = tty.screen.find('\r', pos)) != std::string::npos) {
    auto end = tty.screen.find("\x1b[K", pos);
    BOOST_TEST(end - pos - 1 < 100u);
    ++pos;
  }
  auto quiet =
    run_on_pty(data.path(), q(cli) + " -j 1 --no-progress sum -a sha512 slow >/dev/null");
  BOOST_TEST(quiet.screen == "");
  auto piped = actorio("-j 1 sum -a sha512 slow");
  BOOST_TEST(piped.status == 0);
  BOOST_TEST(piped.err == "");
}

BOOST_AUTO_TEST_CASE(ctrl_c_stops_a_long_sum_with_status_130) {
  write_file(data / "slow", "");
  make_slow_file(data / "slow", std::chrono::seconds(3), cli);
  auto start = std::chrono::steady_clock::now();
  // Spawned from here, not as `sh -c "... &"`: sh starts background jobs with SIGINT ignored,
  // and an ignored SIGINT stays ignored. The SIGINT is the one a terminal's Ctrl-C would send.
  auto pid = spawn_in(data.path(), {cli, "-j", "1", "sum", "-a", "sha512", "slow"}, io / "out");
  // Interrupted once it hashes the file: its handler is in place by then however slowly a busy
  // machine started it, and the hashing has most of its seconds still to go.
  int st = 0;
  while (!holds_open(pid, data / "slow")) {
    BOOST_REQUIRE_MESSAGE(::waitpid(pid, &st, WNOHANG) == 0, "ended before it opened the file");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ::kill(pid, SIGINT);
  BOOST_REQUIRE(::waitpid(pid, &st, 0) == pid);
  auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST(WIFEXITED(st));
  BOOST_TEST(WEXITSTATUS(st) == 130);
  BOOST_TEST(read_file(io / "out") == "");
  BOOST_TEST_MESSAGE("interrupted after " << std::chrono::duration<double>(took).count() << " s");
}

BOOST_AUTO_TEST_CASE(a_sigint_the_parent_ignored_stays_ignored) {
  // As a background job of sh, actorio starts with SIGINT ignored; coreutils keep it so. The
  // digest of standard input waits for `sleep` to end, well after the SIGINT.
  auto r = sh("sleep 1 | " + q(cli) +
              " sum - & pid=$!; sleep 0.3; kill -INT $pid; wait $pid; echo \"status $?\"");
  BOOST_TEST(r.out == sh("printf '' | sha256sum").out + "status 0\n");
  BOOST_TEST(r.err == "");
}

// Not under sanitizers: their runtime needs descriptors of its own (UBSan opens a pipe to probe
// memory it checks), so with three to spare it reports false errors instead of our behaviour.
BOOST_AUTO_TEST_CASE(sum_retries_files_that_found_no_free_descriptor,
                     *boost::unit_test::enable_if<!ACTORIO_SANITIZED>()) {
  // Eight workers opening files at once with three descriptors to spare: some opens hit EMFILE.
  std::string names;
  fs::create_directory(data / "m");
  for (int i = 0; i < 3000; ++i) {
    write_file(data / ("m/f" + std::to_string(i)), std::to_string(i));
    names += " m/f" + std::to_string(i);
  }
  write_file(io / "names", names);
  auto args = "$(cat " + q((io / "names").string()) + ")";
  // Descriptors a test runner may pass down are closed first, so exactly three stay free.
  auto ours = sh("set -- " + args + "; for fd in 3 4 5 6 7 8 9; do eval \"exec $fd>&-\"; done; " +
                 "ulimit -n 6; exec " + q(cli) + " -j 8 sum \"$@\"");
  BOOST_TEST(ours.status == 0);
  BOOST_TEST(ours.err == "");
  BOOST_TEST((ours.out == sh("sha256sum " + args).out));
}

BOOST_AUTO_TEST_CASE(ctrl_c_during_a_copy_leaves_no_destination_and_no_temporary) {
  // Grows the source until a copy is still running when its temporary shows up.
  for (std::size_t mib = 256;; mib *= 2) {
    BOOST_TEST_CONTEXT("source of " << mib << " MiB") {
      write_dense(data / "src", mib);
      std::string a0 = cli, a1 = "-j", a2 = "1", a3 = "copy", a4 = "src", a5 = "dst";
      char* argv[] = {a0.data(), a1.data(), a2.data(), a3.data(), a4.data(), a5.data(), nullptr};
      auto cwd = fs::current_path();
      fs::current_path(data.path());
      pid_t pid = -1;
      int spawned = ::posix_spawn(&pid, cli.c_str(), nullptr, nullptr, argv, environ);
      fs::current_path(cwd);
      BOOST_REQUIRE(spawned == 0);
      bool seen = false;
      int st = 0;
      for (;;) {
        if (has_entry_starting_with(data.path(), ".dst.actorio-")) {
          seen = true;
          ::kill(pid, SIGINT);
          break;
        }
        if (::waitpid(pid, &st, WNOHANG) == pid)
          break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (seen)
        BOOST_REQUIRE(::waitpid(pid, &st, 0) == pid);
      if (!seen && mib < 2048) {
        // Too quick to catch on this machine: start again, bigger.
        fs::remove(data / "dst");
        continue;
      }
      BOOST_REQUIRE(seen);
      BOOST_TEST(WIFEXITED(st));
      BOOST_TEST(WEXITSTATUS(st) == 130);
      BOOST_TEST(!fs::exists(data / "dst"));
      std::vector<std::string> left;
      for (auto& e : fs::directory_iterator(data.path()))
        left.push_back(e.path().filename().string());
      BOOST_TEST(left == std::vector<std::string>{"src"}, boost::test_tools::per_element());
      return;
    }
  }
}

// -- remote copy and compact decide on the server; files whose size says 0; FIFOs -------------

BOOST_AUTO_TEST_CASE(remote_copy_replaces_and_copies_into_the_servers_files_whatever_is_local) {
  temp_dir served;
  write_file(served / "a.txt", "alpha from the server");
  write_file(served / "b.txt", "old b on the server");
  fs::create_directory(served / "subdir");
  // Local namesakes that must not matter: a b.txt, and a subdir that is a file here.
  file("b.txt", "local b");
  file("subdir", "a local file");
  serve_process server{
    cli, {"--listen", "127.0.0.1:0", "--root", served.path().string()}, io / "serve.err"};
  auto remote = "--remote " + server.address + " ";
  auto replaced = actorio(remote + "copy a.txt b.txt");
  BOOST_TEST(replaced.status == 0, replaced.err);
  BOOST_TEST(read_file(served / "b.txt") == "alpha from the server");
  auto into = actorio(remote + "copy a.txt subdir");
  BOOST_TEST(into.status == 0, into.err);
  BOOST_TEST(read_file(served / "subdir" / "a.txt") == "alpha from the server");
  auto many = actorio(remote + "copy a.txt b.txt subdir");
  BOOST_TEST(many.status == 0, many.err);
  BOOST_TEST(read_file(served / "subdir" / "b.txt") == "alpha from the server");
  auto not_dir = actorio(remote + "copy a.txt b.txt nodir");
  BOOST_TEST(not_dir.status == 1);
  BOOST_TEST(not_dir.err == "actorio: target 'nodir' is not a directory\n");
  auto same = actorio(remote + "copy a.txt a.txt");
  BOOST_TEST(same.status == 1);
  BOOST_TEST(read_file(served / "a.txt") == "alpha from the server");
  // Nothing but the files themselves on either side: no staged temporaries.
  BOOST_TEST(sh("cd " + q(served.path().string()) + " && ls -A . subdir").out ==
             ".:\na.txt\nb.txt\nsubdir\n\nsubdir:\na.txt\nb.txt\n");
  BOOST_TEST(read_file(data / "b.txt") == "local b");
  BOOST_TEST(read_file(data / "subdir") == "a local file");
}

BOOST_AUTO_TEST_CASE(remote_compact_reports_the_sizes_the_server_saw) {
  temp_dir served;
  write_file(served / "z", std::string("abc\0\0\0\0", 7));
  file("z", std::string(100, 'x'));
  serve_process server{
    cli, {"--listen", "127.0.0.1:0", "--root", served.path().string()}, io / "serve.err"};
  auto r = actorio("--remote " + server.address + " compact z");
  BOOST_TEST(r.status == 0, r.err);
  BOOST_TEST(r.out == "z: 7 -> 3\n");
  BOOST_TEST(read_file(served / "z") == "abc");
  BOOST_TEST(fs::file_size(data / "z") == 100u);
}

BOOST_AUTO_TEST_CASE(copy_of_a_proc_file_copies_the_bytes_cp_copies) {
  auto r = actorio("copy /proc/version ours");
  BOOST_TEST(r.status == 0, r.err);
  BOOST_TEST(sh("cp /proc/version theirs && test -s theirs && cmp ours theirs").status == 0);
}

BOOST_AUTO_TEST_CASE(sum_of_a_fifo_and_of_dev_stdin_on_a_pipe_matches_sha256sum) {
  auto from_stdin = actorio("-j 1 sum -a sha256 /dev/stdin", "piped in\n");
  auto expected = sh("sha256sum /dev/stdin", "piped in\n");
  BOOST_TEST(from_stdin.status == 0, from_stdin.err);
  BOOST_TEST(from_stdin.out == expected.out);
  BOOST_TEST(sh("mkfifo fifo").status == 0);
  auto fifo = sh("printf 'through a fifo\\n' > fifo & " + q(cli) +
                 " sum -a sha256 fifo; s=$?; wait; exit $s");
  BOOST_TEST(fifo.status == 0, fifo.err);
  BOOST_TEST(fifo.out == sh("printf 'through a fifo\\n' | sha256sum | sed 's/-$/fifo/'").out);
}

// The served node: TLS files checked when either end starts, connection limits, handshakes.

namespace {

/// A TCP connection to `address` ("127.0.0.1:PORT") that says nothing.
int silent_connection(const std::string& address) {
  auto port = std::stoi(address.substr(address.rfind(':') + 1));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

/// Whether the server closes `fd` within `seconds` (what it sends first is dropped).
bool closed_by_server(int fd, int seconds) {
  timeval tv{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[4096];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET))
      return true;
    if (n < 0)
      return false;
  }
}

} // namespace

BOOST_AUTO_TEST_CASE(a_key_of_another_certificate_makes_serve_and_a_client_exit_2_saying_so) {
  auto made = sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out ca.key"
                 " && openssl req -x509 -new -key ca.key -days 2 -subj /CN=localhost"
                 " -addext subjectAltName=IP:127.0.0.1 -out ca.pem"
                 " && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1"
                 " -out other.key");
  BOOST_REQUIRE_MESSAGE(made.status == 0, made.err);
  file("f.txt", "x");
  std::string wrong = "--tls-cert ca.pem --tls-key other.key --tls-ca ca.pem ";
  // Bounded: a server that takes the files listens until stopped.
  auto server = sh("timeout 10 " + q(cli) + " " + wrong + "serve --root .");
  BOOST_TEST(server.status == 2);
  BOOST_TEST(server.out.empty());
  BOOST_TEST(server.err.find("other.key") != std::string::npos, server.err);
  serve_process good{cli,
                     {"--tls-cert", (data / "ca.pem").string(), "--tls-key",
                      (data / "ca.key").string(), "--tls-ca", (data / "ca.pem").string(), "--root",
                      data.path().string()},
                     io / "serve-tls.err"};
  std::string right = "--tls-cert ca.pem --tls-key ca.key --tls-ca ca.pem ";
  BOOST_TEST(actorio("--remote " + good.address + " " + right + "sum f.txt").status == 0);
  auto client = actorio("--remote " + good.address + " --timeout 3 " + wrong + "sum f.txt");
  BOOST_TEST(client.status == 2);
  BOOST_TEST(client.out.empty());
  BOOST_TEST(client.err.find("other.key") != std::string::npos, client.err);
}

BOOST_AUTO_TEST_CASE(serve_turns_away_clients_past_max_clients_and_drops_silent_connections) {
  file("f.txt", "served");
  // The second client must come while the silent one still holds the only place: on a machine
  // too busy to start it within the handshake timeout, the case runs again with a longer one.
  for (double timeout = 0.5;; timeout *= 4) {
    BOOST_TEST_CONTEXT("handshake timeout " << timeout << " s") {
      serve_process server{cli,
                           {"--root", data.path().string(), "--max-clients", "1",
                            "--handshake-timeout", std::to_string(timeout)},
                           io / "serve-limits.err"};
      int silent = silent_connection(server.address);
      auto connected = std::chrono::steady_clock::now();
      auto turned_away = actorio("--remote " + server.address + " --timeout 5 sum f.txt");
      if (std::chrono::steady_clock::now() - connected >= std::chrono::duration<double>(timeout) &&
          timeout < 30) {
        ::close(silent);
        continue;
      }
      BOOST_TEST(turned_away.status == 2);
      BOOST_TEST(turned_away.err.find("refused") != std::string::npos, turned_away.err);
      BOOST_TEST(closed_by_server(silent, static_cast<int>(timeout) + 5));
      ::close(silent);
      auto served = actorio("--remote " + server.address + " sum f.txt");
      BOOST_TEST(served.status == 0);
      BOOST_TEST(served.out == sh("sha256sum f.txt").out);
      return;
    }
  }
}

/// `HOST:PORT` of a loopback port that had nothing listening a moment ago.
std::string nothing_listening() {
  return "127.0.0.1:" + std::to_string(unused_port());
}

/// Each line of `text` with `prefix` in front.
std::string prefixed(const std::string& prefix, const std::string& text) {
  std::string out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    out += prefix + line + "\n";
  return out;
}

BOOST_AUTO_TEST_CASE(several_remotes_print_each_nodes_lines_in_node_order_and_sum_c_checks_them) {
  auto made = sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out ca.key"
                 " && openssl req -x509 -new -key ca.key -days 2 -subj /CN=localhost"
                 " -addext subjectAltName=IP:127.0.0.1 -out ca.pem 2>/dev/null");
  BOOST_REQUIRE_MESSAGE(made.status == 0, made.err);
  temp_dir roots[3];
  for (int i = 0; i < 3; ++i) {
    put(roots[i] / "a.txt", "node " + std::to_string(i) + " needle\n");
    put(roots[i] / "d" / "b.bin", random_bytes(5000 + i, 7 + i) + "x" + std::string(3, '\0'));
  }
  put(roots[1] / "d" / "only-here.txt", "needle needle");
  auto tls_args = std::vector<std::string>{"--tls-cert", (data / "ca.pem").string(),
                                           "--tls-key",  (data / "ca.key").string(),
                                           "--tls-ca",   (data / "ca.pem").string()};
  serve_process plain0{
    cli, {"--listen", "127.0.0.1:0", "--root", roots[0].path().string()}, io / "s0.err"};
  serve_process plain1{
    cli, {"--listen", "127.0.0.1:0", "--root", roots[1].path().string()}, io / "s1.err"};
  auto args2 = tls_args;
  args2.insert(args2.end(), {"--listen", "127.0.0.1:0", "--root", roots[2].path().string()});
  serve_process tls2{cli, args2, io / "s2.err"};
  auto down = nothing_listening();
  std::string nodes[3] = {plain0.address, plain1.address, tls2.address};
  // TLS files given: an unprefixed node would use TLS, so the plain ones say tcp://.
  auto all = "--tls-cert ca.pem --tls-key ca.key --tls-ca ca.pem --remote tcp://" + nodes[0] +
             " --remote tcp://" + nodes[1] + " --remote tls://" + nodes[2] + " --remote tcp://" +
             down + " ";
  auto up = "--tls-cert ca.pem --tls-key ca.key --tls-ca ca.pem --remote tcp://" + nodes[0] +
            " --remote tcp://" + nodes[1] + " --remote tls://" + nodes[2] + " ";

  // Each node's lines as sha256sum prints them in its root, in node order; the node that is
  // down is reported once and makes the status 2.
  auto sums = actorio(all + "sum -r .");
  std::string expected;
  for (int i = 0; i < 3; ++i)
    expected += prefixed(nodes[i] + ": ", sh("cd " + q(roots[i].path().string()) +
                                             " && find . -type f | LC_ALL=C sort | xargs sha256sum")
                                            .out);
  BOOST_TEST(sums.status == 2, sums.err);
  BOOST_TEST(sums.out == expected);
  BOOST_TEST(sums.err == "actorio: " + down + ": Connection refused\n");
  file("list", sums.out);
  auto checked = actorio(up + "sum -c list");
  BOOST_TEST(checked.status == 0, checked.err);
  BOOST_TEST(checked.out.find(nodes[1] + ": ./d/only-here.txt: OK\n") != std::string::npos);
  // A changed file on one node fails only its line.
  put(roots[2] / "a.txt", "changed");
  checked = actorio(up + "sum -c list");
  BOOST_TEST(checked.status == 1);
  BOOST_TEST(checked.out.find(nodes[2] + ": ./a.txt: FAILED\n") != std::string::npos);
  BOOST_TEST(checked.out.find(nodes[0] + ": ./a.txt: OK\n") != std::string::npos);

  // find: grep's statuses; hits of every node in node order.
  auto found = actorio(up + "find needle a.txt d/only-here.txt");
  BOOST_TEST(found.status == 2); // d/only-here.txt is missing on two nodes
  BOOST_TEST(found.out == nodes[0] + ": a.txt:7\n" + nodes[1] + ": a.txt:7\n" + nodes[1] +
                            ": d/only-here.txt:0\n" + nodes[1] + ": d/only-here.txt:7\n");
  BOOST_TEST(found.err.find("actorio: " + nodes[0] + ": d/only-here.txt: No such file") !=
             std::string::npos);

  // compact on every node, the dead one reported.
  auto compacted = actorio(all + "compact d/b.bin");
  BOOST_TEST(compacted.status == 2);
  std::string sizes;
  for (int i = 0; i < 3; ++i)
    sizes += nodes[i] + ": d/b.bin: " + std::to_string(5004 + i) + " -> " +
             std::to_string(5001 + i) + "\n";
  BOOST_TEST(compacted.out == sizes);
  BOOST_TEST(fs::file_size(roots[1] / "d" / "b.bin") == 5002u);

  // Commands that work on one node refuse several.
  auto copy = actorio(up + "copy a.txt b.txt");
  BOOST_TEST(copy.status == 2);
  BOOST_TEST(copy.err.find("only sum, find and compact") != std::string::npos, copy.err);
}

BOOST_AUTO_TEST_CASE(copy_between_nodes_streams_the_file_and_names_the_node_that_failed) {
  auto made = sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out ca.key"
                 " && openssl req -x509 -new -key ca.key -days 2 -subj /CN=localhost"
                 " -addext subjectAltName=IP:127.0.0.1 -out ca.pem 2>/dev/null");
  BOOST_REQUIRE_MESSAGE(made.status == 0, made.err);
  temp_dir roots[3];
  auto content = random_bytes(300000, 5);
  put(roots[0] / "src.bin", content);
  fs::create_directory(roots[1] / "d");
  serve_process plain{
    cli, {"--listen", "127.0.0.1:0", "--root", roots[0].path().string()}, io / "s0.err"};
  serve_process tls{cli,
                    {"--tls-cert", (data / "ca.pem").string(), "--tls-key",
                     (data / "ca.key").string(), "--tls-ca", (data / "ca.pem").string(), "--listen",
                     "127.0.0.1:0", "--root", roots[1].path().string()},
                    io / "s1.err"};
  serve_process ro{cli,
                   {"--listen", "127.0.0.1:0", "--root", roots[2].path().string(), "--read-only"},
                   io / "s2.err"};
  auto tls_files = std::string{"--tls-cert ca.pem --tls-key ca.key --tls-ca ca.pem "};
  auto a = "tcp://" + plain.address + "/";
  auto b = "tls://" + tls.address + "/";

  auto copied = actorio(tls_files + "copy --verify " + a + "src.bin " + b + "d/dst.bin");
  BOOST_TEST(copied.status == 0, copied.err);
  BOOST_TEST((read_file(roots[1] / "d" / "dst.bin") == content));
  // Either end may be this machine.
  auto down = actorio(tls_files + "copy " + b + "d/dst.bin here.bin");
  BOOST_TEST(down.status == 0, down.err);
  BOOST_TEST((read_file(data / "here.bin") == content));
  file("up.txt", "from here");
  auto up = actorio("copy up.txt " + a + "up.txt");
  BOOST_TEST(up.status == 0, up.err);
  BOOST_TEST(read_file(roots[0] / "up.txt") == "from here");

  // Failures name the end that failed, with its errno; nothing is left at the destination.
  auto missing = actorio(tls_files + "copy " + a + "missing " + b + "d/m");
  BOOST_TEST(missing.status == 1);
  BOOST_TEST(missing.err == "actorio: " + a + "missing: No such file or directory\n");
  auto refused = actorio("copy " + a + "src.bin tcp://" + ro.address + "/x");
  BOOST_TEST(refused.status == 1);
  BOOST_TEST(refused.err == "actorio: tcp://" + ro.address + "/x: Read-only file system\n");
  auto escape = actorio("copy " + a + "src.bin " + a + "../escaped");
  BOOST_TEST(escape.status == 1);
  BOOST_TEST(escape.err == "actorio: " + a + "../escaped: Permission denied\n");
  auto nobody = nothing_listening();
  auto unreachable = actorio("copy " + a + "src.bin tcp://" + nobody + "/x");
  BOOST_TEST(unreachable.status == 2);
  BOOST_TEST(unreachable.err == "actorio: " + nobody + ": Connection refused\n");
  auto malformed = actorio("copy " + a + " x");
  BOOST_TEST(malformed.status == 2);
  BOOST_TEST(malformed.err.find("tcp://HOST:PORT/PATH") != std::string::npos, malformed.err);
  BOOST_TEST(sh("ls -A " + q(roots[1].path().string()) + "/d").out == "dst.bin\n");
  BOOST_TEST(sh("ls -A " + q(roots[2].path().string())).out == "");
  BOOST_TEST(!fs::exists(roots[0].path().parent_path() / "escaped"));

  // A server that may pull from the source copies from it itself: the source sees it connect
  // as a client of its own. What the copy prints and leaves is the same.
  temp_dir pulled;
  serve_process puller{
    cli,
    {"--listen", "127.0.0.1:0", "--root", pulled.path().string(), "--pull-from", plain.address},
    io / "s3.err"};
  auto c = "tcp://" + puller.address + "/";
  auto clients_of_source = [&] {
    auto log = read_file(plain.err);
    std::size_t n = 0;
    for (auto at = log.find(" connected\n"); at != std::string::npos;
         at = log.find(" connected\n", at + 1))
      ++n;
    return n;
  };
  auto before = clients_of_source();
  auto pull = actorio("copy --verify --flush " + a + "src.bin " + c + "p.bin");
  BOOST_TEST(pull.status == 0, pull.err);
  BOOST_TEST((read_file(pulled / "p.bin") == content));
  BOOST_TEST(clients_of_source() == before + 2);
  auto pull_missing = actorio("copy " + a + "missing " + c + "m");
  BOOST_TEST(pull_missing.status == 1);
  BOOST_TEST(pull_missing.err == "actorio: " + a + "missing: No such file or directory\n");
  auto pull_escape = actorio("copy " + a + "src.bin " + c + "../escaped");
  BOOST_TEST(pull_escape.status == 1);
  BOOST_TEST(pull_escape.err == "actorio: " + c + "../escaped: Permission denied\n");
  BOOST_TEST(sh("ls -A " + q(pulled.path().string())).out == "p.bin\n");
}

BOOST_AUTO_TEST_CASE(a_node_stopped_mid_sum_misses_the_deadline_and_the_others_print_theirs) {
  temp_dir roots[2];
  for (int i = 0; i < 2; ++i)
    put(roots[i] / "a.txt", "node " + std::to_string(i) + "\n");
  // Sparse: no disk, but seconds to hash; node 1 is stopped while hashing it.
  { std::ofstream big(roots[1] / "big.bin"); }
  fs::resize_file(roots[1] / "big.bin", std::uint64_t{16} << 30);
  serve_process s0{
    cli, {"--listen", "127.0.0.1:0", "--root", roots[0].path().string()}, io / "s0.err"};
  serve_process s1{
    cli, {"--listen", "127.0.0.1:0", "--root", roots[1].path().string()}, io / "s1.err"};
  auto out = io / "sum.out";
  auto err = io / "sum.err";
  auto sum = spawn_in(data.path(),
                      {"/bin/sh", "-c",
                       q(cli) + " --no-progress --deadline 1 --remote " + s0.address +
                         " --remote " + s1.address + " sum a.txt big.bin 2>" + q(err.string())},
                      out);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (read_file(s1.err).find("connected") == std::string::npos &&
         std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ::kill(s1.pid, SIGSTOP);
  int st = 0;
  ::waitpid(sum, &st, 0);
  ::kill(s1.pid, SIGCONT);
  BOOST_TEST(WIFEXITED(st));
  BOOST_TEST(WEXITSTATUS(st) == 1);
  auto a0 = sh("cd " + q(roots[0].path().string()) + " && sha256sum a.txt").out;
  BOOST_TEST(read_file(out) == s0.address + ": " + a0);
  BOOST_TEST(read_file(err) == "actorio: " + s0.address + ": big.bin: No such file or directory\n" +
                                 "actorio: " + s1.address + ": a.txt: Connection timed out\n" +
                                 "actorio: " + s1.address + ": big.bin: Connection timed out\n");
  auto bad =
    actorio("--remote " + s0.address + " --remote " + s1.address + " --deadline 0 sum a.txt");
  BOOST_TEST(bad.status == 2);
  BOOST_TEST(bad.err.find("--deadline") != std::string::npos, bad.err);
}

BOOST_AUTO_TEST_CASE(a_node_killed_mid_sum_fails_its_items_and_the_others_print_all_theirs) {
  temp_dir roots[2];
  for (int i = 0; i < 2; ++i)
    put(roots[i] / "a.txt", "node " + std::to_string(i) + "\n");
  // Sparse: no disk, but seconds to hash; node 1 is killed while hashing it.
  { std::ofstream big(roots[1] / "big.bin"); }
  fs::resize_file(roots[1] / "big.bin", std::uint64_t{16} << 30);
  serve_process s0{
    cli, {"--listen", "127.0.0.1:0", "--root", roots[0].path().string()}, io / "s0.err"};
  serve_process s1{
    cli, {"--listen", "127.0.0.1:0", "--root", roots[1].path().string()}, io / "s1.err"};
  auto out = io / "sum.out";
  auto err = io / "sum.err";
  auto sum = spawn_in(data.path(),
                      {"/bin/sh", "-c",
                       q(cli) + " --no-progress --remote " + s0.address + " --remote " +
                         s1.address + " sum a.txt big.bin 2>" + q(err.string())},
                      out);
  // Node 1 logs the client when its first call arrives; the sum's request follows at once.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (read_file(s1.err).find("connected") == std::string::npos &&
         std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  s1.stop(SIGKILL);
  int st = 0;
  ::waitpid(sum, &st, 0);
  BOOST_TEST(WIFEXITED(st));
  BOOST_TEST(WEXITSTATUS(st) == 1);
  // Node 0's a.txt is printed; node 1's call failed as a whole (ECONNRESET), big.bin is missing
  // on node 0: failed items, status 1.
  auto a0 = sh("cd " + q(roots[0].path().string()) + " && sha256sum a.txt").out;
  BOOST_TEST(read_file(out) == s0.address + ": " + a0);
  BOOST_TEST(read_file(err) == "actorio: " + s0.address + ": big.bin: No such file or directory\n" +
                                 "actorio: " + s1.address + ": a.txt: Connection reset by peer\n" +
                                 "actorio: " + s1.address +
                                 ": big.bin: Connection reset by peer\n");
}

BOOST_AUTO_TEST_SUITE_END()
