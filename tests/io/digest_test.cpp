#define BOOST_TEST_MODULE digest_test
#include <boost/test/unit_test.hpp>

#include "io/src/digest.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/files.hpp"
#include "support/temp_dir.hpp"

using actorio::detail::digest_fd;
using actorio::detail::digest_file;
using actorio::detail::hasher;
using actorio::test::run_command;
using actorio::test::write_file;

namespace {

/// Bytes covering every value in an order that is not a simple ramp.
std::string pattern(std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    out[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  return out;
}

std::string quoted(const std::filesystem::path& p) {
  return "'" + p.string() + "'";
}

/// The hex from one line of `openssl dgst -r` or `xxhsum` output. xxhsum 0.8.1 prints XXH3
/// (-H3) in BSD form "XXH3 (FILE) = HEX" and the others as "HEX  FILE".
std::string hex_of(const std::string& line) {
  auto eol = line.find('\n');
  auto first = line.substr(0, eol);
  if (auto pos = first.rfind(") = "); pos != std::string::npos)
    return first.substr(pos + 4);
  return first.substr(0, first.find_first_of(" \t"));
}

std::string openssl_hex(const std::string& alg, const std::filesystem::path& p) {
  return hex_of(run_command("openssl dgst -r -" + alg + " " + quoted(p)));
}

std::string xxhsum_hex(int variant, const std::filesystem::path& p) {
  return hex_of(run_command("xxhsum -H" + std::to_string(variant) + " " + quoted(p)));
}

/// The oracle's digest: xxhsum for xxh64/xxh3/xxh128 (-H1/-H3/-H2), openssl dgst otherwise.
std::string openssl_or_xxhsum(const std::string& alg, const std::filesystem::path& p) {
  if (alg == "xxh64")
    return xxhsum_hex(1, p);
  if (alg == "xxh3")
    return xxhsum_hex(3, p);
  if (alg == "xxh128")
    return xxhsum_hex(2, p);
  return openssl_hex(alg, p);
}

std::string ours(const std::filesystem::path& p, std::string_view alg) {
  auto res = digest_file(p.string(), alg);
  BOOST_TEST_REQUIRE(res.ok(), alg << ": " << (res.ok() ? "" : to_string(res.error())));
  return *res;
}

struct fixture {
  actorio::test::temp_dir dir;

  std::filesystem::path file(const std::string& leaf, const std::string& bytes) {
    auto p = dir / leaf;
    write_file(p, bytes);
    return p;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(digest, fixture)

BOOST_AUTO_TEST_CASE(sha256_matches_openssl_dgst) {
  auto p = file("data", pattern(10000));
  BOOST_TEST(ours(p, "sha256") == openssl_hex("sha256", p));
}

BOOST_AUTO_TEST_CASE(openssl_digests_match_openssl_dgst) {
  auto p = file("data", pattern(70001));
  for (std::string alg : {"md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha512-224",
                          "sha512-256", "blake2b512", "blake2s256", "sha3-224", "sha3-256",
                          "sha3-384", "sha3-512", "shake128", "shake256", "sm3", "ripemd160"}) {
    BOOST_TEST_CONTEXT(alg) {
      BOOST_TEST(ours(p, alg) == openssl_hex(alg, p));
    }
  }
}

BOOST_AUTO_TEST_CASE(md5_works) {
  auto p = file("abc", "abc");
  BOOST_TEST(ours(p, "md5") == openssl_hex("md5", p));
  // RFC 1321 test suite value, independent of the local openssl binary.
  BOOST_TEST(ours(p, "md5") == "900150983cd24fb0d6963f7d28e17f72");
}

BOOST_AUTO_TEST_CASE(md5_works_when_default_properties_demand_fips) {
  // Simulates a FIPS-mode system: with "fips=yes" as the default query and no FIPS provider
  // loaded, only a fetch that drops the fips property finds md5 (or anything else).
  auto p = file("abc", "abc");
  BOOST_TEST_REQUIRE(EVP_set_default_properties(nullptr, "fips=yes") == 1);
  auto res = digest_file(p.string(), "md5");
  EVP_set_default_properties(nullptr, "");
  BOOST_TEST_REQUIRE(res.ok());
  BOOST_TEST(*res == openssl_hex("md5", p));
}

BOOST_AUTO_TEST_CASE(shake_lengths_are_openssl_defaults) {
  auto p = file("data", pattern(1000));
  auto s128 = ours(p, "shake128");
  auto s256 = ours(p, "shake256");
  BOOST_TEST(s128.size() == 32u);
  BOOST_TEST(s256.size() == 64u);
  BOOST_TEST(s128 == openssl_hex("shake128", p));
  BOOST_TEST(s256 == openssl_hex("shake256", p));
}

BOOST_AUTO_TEST_CASE(xxh64_matches_xxhsum) {
  auto p = file("data", pattern(12345));
  BOOST_TEST(ours(p, "xxh64") == xxhsum_hex(1, p));
}

BOOST_AUTO_TEST_CASE(xxh3_matches_xxhsum) {
  auto p = file("data", pattern(12345));
  BOOST_TEST(ours(p, "xxh3") == xxhsum_hex(3, p));
}

BOOST_AUTO_TEST_CASE(xxh128_matches_xxhsum) {
  auto p = file("data", pattern(12345));
  auto hex = ours(p, "xxh128");
  BOOST_TEST(hex.size() == 32u);
  BOOST_TEST(hex == xxhsum_hex(2, p));
}

BOOST_AUTO_TEST_CASE(xxh_digests_of_short_inputs_match_xxhsum) {
  // XXH3 takes separate code paths for 0, 1-3, 4-8, 9-16, 17-128, 129-240 and longer inputs.
  for (std::size_t size : {1u, 3u, 4u, 8u, 9u, 16u, 17u, 128u, 129u, 240u, 241u}) {
    auto p = file("short" + std::to_string(size), pattern(size));
    BOOST_TEST_CONTEXT("size " << size) {
      BOOST_TEST(ours(p, "xxh64") == xxhsum_hex(1, p));
      BOOST_TEST(ours(p, "xxh3") == xxhsum_hex(3, p));
      BOOST_TEST(ours(p, "xxh128") == xxhsum_hex(2, p));
    }
  }
}

BOOST_AUTO_TEST_CASE(python_aliases_map_to_openssl_names) {
  auto p = file("data", pattern(5000));
  std::vector<std::pair<std::string, std::string>> cases{
    {"blake2b", "blake2b512"}, {"blake2s", "blake2s256"}, {"sha3_224", "sha3-224"},
    {"sha3_256", "sha3-256"},  {"sha3_384", "sha3-384"},  {"sha3_512", "sha3-512"},
    {"shake_128", "shake128"}, {"shake_256", "shake256"}, {"sha512_256", "sha512-256"},
  };
  for (auto& [alias, openssl_name] : cases) {
    BOOST_TEST_CONTEXT(alias) {
      auto h = hasher::make(alias);
      BOOST_TEST_REQUIRE(h.ok());
      BOOST_TEST(h->name() == openssl_name);
      BOOST_TEST(ours(p, alias) == openssl_hex(openssl_name, p));
    }
  }
}

BOOST_AUTO_TEST_CASE(upper_case_names_are_accepted) {
  auto p = file("data", pattern(5000));
  BOOST_TEST(ours(p, "SHA256") == openssl_hex("sha256", p));
  BOOST_TEST(ours(p, "Blake2B") == openssl_hex("blake2b512", p));
  BOOST_TEST(ours(p, "SHA3_256") == openssl_hex("sha3-256", p));
  BOOST_TEST(ours(p, "XXH128") == xxhsum_hex(2, p));
  auto h = hasher::make("SHA256");
  BOOST_TEST_REQUIRE(h.ok());
  BOOST_TEST(h->name() == "sha256");
}

BOOST_AUTO_TEST_CASE(openssl_synonyms_report_dgst_option_names) {
  auto p = file("data", pattern(5000));
  std::vector<std::pair<std::string, std::string>> cases{
    {"SHA2-256", "sha256"},         {"sha-1", "sha1"},  {"BLAKE2B-512", "blake2b512"},
    {"SHA2-512/256", "sha512-256"}, {"xxh64", "xxh64"}, {"xxh3", "xxh3"},
    {"xxh128", "xxh128"},
  };
  for (auto& [given, canonical] : cases) {
    BOOST_TEST_CONTEXT(given) {
      auto h = hasher::make(given);
      BOOST_TEST_REQUIRE(h.ok());
      BOOST_TEST(h->name() == canonical);
    }
  }
  BOOST_TEST(ours(p, "SHA2-256") == openssl_hex("sha256", p));
}

BOOST_AUTO_TEST_CASE(empty_file_digest_matches_openssl) {
  auto p = file("empty", "");
  for (std::string alg :
       {"md5", "sha1", "sha256", "sha512", "blake2b512", "sha3-256", "shake128", "shake256"}) {
    BOOST_TEST_CONTEXT(alg) {
      BOOST_TEST(ours(p, alg) == openssl_hex(alg, p));
    }
  }
  BOOST_TEST(ours(p, "xxh64") == xxhsum_hex(1, p));
  BOOST_TEST(ours(p, "xxh3") == xxhsum_hex(3, p));
  BOOST_TEST(ours(p, "xxh128") == xxhsum_hex(2, p));
}

BOOST_AUTO_TEST_CASE(file_larger_than_buffer_matches) {
  auto p = file("big", pattern(3 * 1024 * 1024 + 17));
  BOOST_TEST(ours(p, "sha256") == openssl_hex("sha256", p));
  BOOST_TEST(ours(p, "blake2b") == openssl_hex("blake2b512", p));
  BOOST_TEST(ours(p, "xxh128") == xxhsum_hex(2, p));
  BOOST_TEST(ours(p, "xxh3") == xxhsum_hex(3, p));
}

BOOST_AUTO_TEST_CASE(updates_in_odd_chunks_match_openssl) {
  auto bytes = pattern(100003);
  auto p = file("data", bytes);
  auto h = hasher::make("sha512");
  auto x = hasher::make("xxh128");
  BOOST_TEST_REQUIRE(h.ok());
  BOOST_TEST_REQUIRE(x.ok());
  std::size_t chunk = 1;
  for (std::size_t pos = 0; pos < bytes.size(); pos += chunk, chunk = chunk * 3 + 1) {
    auto n = std::min(chunk, bytes.size() - pos);
    h->update(bytes.data() + pos, n);
    x->update(bytes.data() + pos, n);
  }
  h->update(bytes.data(), 0);
  BOOST_TEST(h->finish_hex() == openssl_hex("sha512", p));
  BOOST_TEST(x->finish_hex() == xxhsum_hex(2, p));
}

BOOST_AUTO_TEST_CASE(finish_hex_twice_returns_the_same_text) {
  auto p = file("abc", "abc");
  auto h = hasher::make("sha1");
  BOOST_TEST_REQUIRE(h.ok());
  h->update("abc", 3);
  auto first = h->finish_hex();
  BOOST_TEST(first == openssl_hex("sha1", p));
  BOOST_TEST(h->finish_hex() == first);
}

BOOST_AUTO_TEST_CASE(reset_starts_a_new_message_after_a_finished_or_a_partial_one) {
  auto abc = file("abc", "abc");
  auto xyz = file("xyz", "xyz");
  for (const char* alg : {"sha256", "blake2b512", "xxh64", "xxh3", "xxh128"}) {
    auto h = hasher::make(alg);
    BOOST_TEST_REQUIRE(h.ok());
    h->update("abc", 3);
    BOOST_TEST(h->finish_hex() == openssl_or_xxhsum(alg, abc), alg);
    BOOST_TEST_REQUIRE(h->reset());
    h->update("x", 1);
    BOOST_TEST_REQUIRE(h->reset());
    h->update("xyz", 3);
    BOOST_TEST(h->finish_hex() == openssl_or_xxhsum(alg, xyz), alg);
  }
}

BOOST_AUTO_TEST_CASE(one_thread_switching_algorithms_and_files_gets_each_digest_right) {
  auto abc = file("abc", "abc");
  auto big = file("big", pattern(3'000'000));
  for (const char* alg : {"sha256", "sha256", "md5", "xxh128", "sha256", "xxh128"})
    for (const auto& p : {abc, big, abc}) {
      auto r = digest_file(p.string(), alg);
      BOOST_TEST_REQUIRE(r.ok());
      BOOST_TEST(*r == openssl_or_xxhsum(alg, p), alg << " " << p);
    }
}

BOOST_AUTO_TEST_CASE(moved_hasher_keeps_its_state) {
  auto p = file("abc", "abc");
  auto h = hasher::make("sha256");
  BOOST_TEST_REQUIRE(h.ok());
  h->update("a", 1);
  hasher moved = std::move(*h);
  moved.update("bc", 2);
  auto other = hasher::make("md5");
  BOOST_TEST_REQUIRE(other.ok());
  *other = std::move(moved);
  BOOST_TEST(other->name() == "sha256");
  BOOST_TEST(other->finish_hex() == openssl_hex("sha256", p));
}

BOOST_AUTO_TEST_CASE(unknown_algorithm_is_einval) {
  auto h = hasher::make("sha257");
  BOOST_TEST_REQUIRE(!h.ok());
  BOOST_TEST(h.error().code == EINVAL);
  BOOST_TEST(h.error().op == "checksum");
  BOOST_TEST(h.error().path == "");
  BOOST_TEST(h.error().detail == "unknown digest algorithm 'sha257'");
  BOOST_TEST(!hasher::make("").ok());
  BOOST_TEST(!hasher::make("xxh32").ok());
  // The file exists, so only the name can be at fault.
  auto p = file("data", "x");
  auto res = digest_file(p.string(), "Nope");
  BOOST_TEST_REQUIRE(!res.ok());
  BOOST_TEST(res.error().code == EINVAL);
  BOOST_TEST(res.error().path == p.string());
  BOOST_TEST(res.error().detail == "unknown digest algorithm 'Nope'");
}

BOOST_AUTO_TEST_CASE(missing_file_reports_enoent_and_path) {
  auto p = (dir / "absent").string();
  auto res = digest_file(p, "sha256");
  BOOST_TEST_REQUIRE(!res.ok());
  BOOST_TEST(res.error().code == ENOENT);
  BOOST_TEST(res.error().op == "checksum");
  BOOST_TEST(res.error().path == p);
}

BOOST_AUTO_TEST_CASE(directory_reports_eisdir) {
  auto p = (dir / "sub").string();
  std::filesystem::create_directory(p);
  auto res = digest_file(p, "xxh64");
  BOOST_TEST_REQUIRE(!res.ok());
  BOOST_TEST(res.error().code == EISDIR);
  BOOST_TEST(res.error().path == p);
}

BOOST_AUTO_TEST_CASE(digest_fd_reads_whole_file_and_keeps_fd_offset) {
  auto p = file("data", pattern(4096));
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  BOOST_TEST_REQUIRE(fd >= 0);
  BOOST_TEST_REQUIRE(::lseek(fd, 1000, SEEK_SET) == 1000);
  auto res = digest_fd(fd, "sha256", "label");
  BOOST_TEST(::lseek(fd, 0, SEEK_CUR) == 1000);
  ::close(fd);
  BOOST_TEST_REQUIRE(res.ok());
  BOOST_TEST(*res == openssl_hex("sha256", p));
}

BOOST_AUTO_TEST_CASE(a_file_of_several_map_windows_matches_the_oracles) {
  // Mapped in 8 MiB windows, hashed in 1 MiB steps (OpenSSL's digests fed 4 KiB pieces of
  // them): two whole windows, a partial one, an odd tail.
  auto p = file("big", pattern((std::size_t{19} << 20) + 4097));
  BOOST_TEST(ours(p, "sha256") == openssl_hex("sha256", p));
  BOOST_TEST(ours(p, "md5") == openssl_hex("md5", p));
  BOOST_TEST(ours(p, "xxh128") == xxhsum_hex(2, p));
}

BOOST_AUTO_TEST_CASE(a_file_truncated_while_hashed_is_eio_and_the_thread_hashes_on) {
  auto p = file("big", pattern(std::size_t{20} << 20));
  // Progress is reported on the hashing thread after each step; the first report cuts the file
  // inside the window being hashed, so the next step touches pages that are gone.
  bool cut = false;
  actorio::detail::work_control control{1, std::chrono::milliseconds{0}, [&](const auto&) {
                                          if (!std::exchange(cut, true))
                                            BOOST_TEST_REQUIRE(::truncate(p.c_str(), 1536 << 10) ==
                                                               0);
                                        }};
  auto res = digest_file(p.string(), "sha256", &control);
  BOOST_TEST(cut);
  BOOST_TEST_REQUIRE(!res.ok());
  BOOST_TEST(res.error().code == EIO);
  BOOST_TEST(res.error().op == "checksum");
  BOOST_TEST(res.error().path == p.string());
  BOOST_TEST(res.error().detail.find("shrank") != std::string::npos, res.error().detail);
  // The fault left the thread's hasher mid-message; the next file starts clean.
  BOOST_TEST(ours(p, "sha256") == openssl_hex("sha256", p));
}

BOOST_AUTO_TEST_CASE(bytes_appended_while_hashed_are_hashed_too) {
  auto p = file("big", pattern(std::size_t{3} << 20));
  bool grown = false;
  actorio::detail::work_control control{
    1, std::chrono::milliseconds{0}, [&](const auto&) {
      if (!std::exchange(grown, true))
        std::ofstream{p, std::ios::binary | std::ios::app} << "appended after the size was taken";
    }};
  auto res = digest_file(p.string(), "sha256", &control);
  BOOST_TEST(grown);
  BOOST_TEST_REQUIRE(res.ok(), (res.ok() ? "" : to_string(res.error())));
  BOOST_TEST(*res == openssl_hex("sha256", p));
}

BOOST_AUTO_TEST_CASE(a_cancel_stops_a_mapped_digest_with_ecanceled) {
  auto p = file("big", pattern(std::size_t{12} << 20));
  actorio::detail::work_control* self = nullptr;
  std::uint64_t reports = 0;
  actorio::detail::work_control control{1, std::chrono::milliseconds{0}, [&](const auto&) {
                                          if (++reports == 2)
                                            self->cancel();
                                        }};
  self = &control;
  auto res = digest_file(p.string(), "sha256", &control);
  BOOST_TEST_REQUIRE(!res.ok());
  BOOST_TEST(res.error().code == ECANCELED);
  BOOST_TEST(res.error().path == p.string());
  BOOST_TEST(control.snapshot().bytes_done == std::uint64_t{2} << 20);
}

BOOST_AUTO_TEST_CASE(digest_fd_of_a_pipe_hashes_the_stream_to_eof_as_sha256sum_does) {
  // More than the pipe holds and more than one read step, so reads must wait for the writer.
  auto content = pattern((std::size_t{3} << 20) + 17);
  auto expected = hex_of(run_command("sha256sum " + quoted(file("oracle", content))));
  int fds[2];
  BOOST_TEST_REQUIRE(::pipe(fds) == 0);
  std::thread writer{[&] {
    // A reader that gives up early makes the write fail with EPIPE instead of killing the test.
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
    for (std::size_t done = 0; done < content.size();) {
      auto n = ::write(fds[1], content.data() + done, content.size() - done);
      if (n <= 0)
        break;
      done += static_cast<std::size_t>(n);
    }
    ::close(fds[1]);
  }};
  auto res = digest_fd(fds[0], "sha256", "a pipe");
  ::close(fds[0]);
  writer.join();
  BOOST_TEST_REQUIRE(res.ok(), (res.ok() ? "" : to_string(res.error())));
  BOOST_TEST(*res == expected);
}

BOOST_AUTO_TEST_CASE(digest_file_of_a_fifo_hashes_what_its_writer_sends) {
  auto fifo = dir / "fifo";
  BOOST_TEST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto expected = hex_of(run_command("printf 'through a fifo\\n' | sha256sum"));
  std::thread writer{[&] {
    std::ofstream out{fifo};
    out << "through a fifo\n";
  }};
  auto res = digest_file(fifo.string(), "sha256");
  writer.join();
  BOOST_TEST_REQUIRE(res.ok(), (res.ok() ? "" : to_string(res.error())));
  BOOST_TEST(*res == expected);
}

BOOST_AUTO_TEST_CASE(to_string_formats_op_path_detail_and_strerror) {
  using actorio::failure;
  BOOST_TEST(to_string(failure{ENOENT, "open", "/x/y", "while scanning"}) ==
             "open /x/y: while scanning (No such file or directory)");
  BOOST_TEST(to_string(failure{ENOENT, "open", "/x/y", ""}) ==
             "open /x/y: No such file or directory");
  BOOST_TEST(to_string(failure{EINVAL, "checksum", "", "unknown digest algorithm 'foo'"}) ==
             "checksum: unknown digest algorithm 'foo' (Invalid argument)");
  BOOST_TEST(to_string(failure{EISDIR, "copy", "", ""}) == "copy: Is a directory");
}

BOOST_AUTO_TEST_SUITE_END()
