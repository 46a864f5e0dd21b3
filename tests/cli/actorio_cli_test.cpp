// End-to-end tests of the `actorio` binary against the real coreutils, xxhsum, grep, cmp and stat
// on generated files.
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#define BOOST_TEST_MODULE actorio_cli
#include <boost/test/unit_test.hpp>

#include "support/files.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using actorio::test::read_file;
using actorio::test::temp_dir;
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

BOOST_AUTO_TEST_CASE(an_unknown_algorithm_is_one_message_and_status_1) {
  file("f", "x");
  auto r = actorio("sum -a nosuchdigest f missing");
  BOOST_TEST(r.status == 1);
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

BOOST_AUTO_TEST_SUITE_END()
