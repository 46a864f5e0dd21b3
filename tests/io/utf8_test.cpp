#define BOOST_TEST_MODULE utf8_test
#include <boost/test/unit_test.hpp>

#include "io/src/utf8.hpp"

#include <cerrno>
#include <cstddef>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using actorio::utf8_errors;
using actorio::detail::complete_prefix;
using actorio::detail::decode_utf8;
using actorio::detail::utf8_decoder;

namespace {

constexpr utf8_errors all_policies[] = {utf8_errors::strict, utf8_errors::replace,
                                        utf8_errors::ignore};

/// U+FFFD as UTF-8.
const std::string fffd = "\xEF\xBF\xBD";

/// 1-, 2-, 3- and 4-byte characters: "a", "é", "€", "😀", then ASCII again.
const std::string mixed = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z";

bool valid(std::string_view s) {
  return decode_utf8(s, utf8_errors::strict, "test").ok();
}

std::string decoded(std::string_view in, utf8_errors policy) {
  auto res = decode_utf8(in, policy, "test");
  BOOST_TEST_REQUIRE(res.ok(), (res.ok() ? "" : to_string(res.error())));
  return *res;
}

/// Either the decoded text or "error: DETAIL", so strict results compare as plain strings.
std::string outcome(const actorio::result<std::string>& res) {
  return res.ok() ? *res : "error: " + res.error().detail;
}

/// Feeds `in` to a fresh decoder in pieces ending at `cuts` (ascending), then finishes; the
/// concatenated output, or the first failure as `outcome` spells it.
std::string streamed(std::string_view in, const std::vector<std::size_t>& cuts,
                     utf8_errors policy) {
  utf8_decoder dec{policy};
  std::string out;
  std::size_t from = 0;
  for (auto cut : cuts) {
    auto res = dec.feed(in.substr(from, cut - from), "test");
    if (!res.ok())
      return outcome(res);
    out += *res;
    from = cut;
  }
  for (auto res : {dec.feed(in.substr(from), "test"), dec.finish("test")}) {
    if (!res.ok())
      return outcome(res);
    out += *res;
  }
  return out;
}

/// One invalid input with what Python 3's bytes.decode("utf-8", errors) gives for it.
struct invalid_case {
  const char* what;
  std::string in;
  std::string replaced;
  std::string ignored;
  std::size_t bad_at;
};

std::vector<invalid_case> invalid_cases() {
  return {
    {"stray continuation",
     "a\x80"
     "b",
     "a" + fffd + "b", "ab", 1},
    {"two stray continuations", "\x80\xBF", fffd + fffd, "", 0},
    {"overlong 2-byte C0 80", "\xC0\x80", fffd + fffd, "", 0},
    {"overlong 2-byte C1 BF", "x\xC1\xBF", "x" + fffd + fffd, "x", 1},
    {"overlong 3-byte E0 80 80", "\xE0\x80\x80", fffd + fffd + fffd, "", 0},
    {"overlong 3-byte E0 9F BF", "\xE0\x9F\xBF", fffd + fffd + fffd, "", 0},
    {"overlong 4-byte F0 8F BF BF", "\xF0\x8F\xBF\xBF", fffd + fffd + fffd + fffd, "", 0},
    {"surrogate ED A0 80", "\xED\xA0\x80", fffd + fffd + fffd, "", 0},
    {"surrogate ED BF BF", "ok\xED\xBF\xBF", "ok" + fffd + fffd + fffd, "ok", 2},
    {"too large F4 90 80 80", "\xF4\x90\x80\x80", fffd + fffd + fffd + fffd, "", 0},
    {"too large F5 80 80 80", "\xF5\x80\x80\x80", fffd + fffd + fffd + fffd, "", 0},
    {"never a lead FF", "\xFF", fffd, "", 0},
    {"truncated 3-byte at end", "ab\xE2\x82", "ab" + fffd, "ab", 2},
    {"truncated 4-byte at end", "\xF0\x9F\x98", fffd, "", 0},
    {"lone lead at end", "z\xF0", "z" + fffd, "z", 1},
    {"truncated 3-byte in the middle",
     "\xE2\x82"
     "A",
     fffd + "A", "A", 0},
    {"truncated 4-byte before a 3-byte", "\xF0\x9F\x98\xE2\x82\xAC", fffd + "\xE2\x82\xAC",
     "\xE2\x82\xAC", 0},
    {"lead before a complete character", "\xE2\xE2\x82\xAC", fffd + "\xE2\x82\xAC", "\xE2\x82\xAC",
     0},
    {"truncated 4-byte before ASCII",
     "\xF1\x80\x80"
     "A",
     fffd + "A", "A", 0},
  };
}

} // namespace

BOOST_AUTO_TEST_SUITE(utf8)

BOOST_AUTO_TEST_CASE(valid_multilingual_text_is_unchanged_in_all_policies) {
  const std::string text =
    "plain ASCII, Ελληνικά, русский, 日本語のテキスト, עברית, "
    "emoji 😀🎉👍🏽, math 𝔸𝔹ℂ, edge U+7F \x7F U+80 \xC2\x80 U+7FF \xDF\xBF "
    "U+800 \xE0\xA0\x80 U+D7FF \xED\x9F\xBF U+E000 \xEE\x80\x80 "
    "U+FFFF \xEF\xBF\xBF U+10000 \xF0\x90\x80\x80 U+10FFFF \xF4\x8F\xBF\xBF";
  for (auto policy : all_policies) {
    BOOST_TEST_CONTEXT(to_string(policy)) {
      BOOST_TEST(decoded(text, policy) == text);
      BOOST_TEST(decoded("", policy) == "");
      BOOST_TEST(decoded(mixed, policy) == mixed);
      BOOST_TEST(decoded(std::string("nul\0inside", 10), policy) == std::string("nul\0inside", 10));
    }
  }
}

BOOST_AUTO_TEST_CASE(replace_matches_python_maximal_subparts) {
  for (auto& c : invalid_cases()) {
    BOOST_TEST_CONTEXT(c.what) {
      BOOST_TEST(decoded(c.in, utf8_errors::replace) == c.replaced);
    }
  }
}

BOOST_AUTO_TEST_CASE(ignore_drops_exactly_the_invalid_bytes) {
  for (auto& c : invalid_cases()) {
    BOOST_TEST_CONTEXT(c.what) {
      BOOST_TEST(decoded(c.in, utf8_errors::ignore) == c.ignored);
    }
  }
}

BOOST_AUTO_TEST_CASE(strict_fails_with_eilseq_at_the_first_invalid_byte) {
  for (auto& c : invalid_cases()) {
    BOOST_TEST_CONTEXT(c.what) {
      auto res = decode_utf8(c.in, utf8_errors::strict, "read_str");
      BOOST_TEST_REQUIRE(!res.ok());
      BOOST_TEST(res.error().code == EILSEQ);
      BOOST_TEST(res.error().op == "read_str");
      BOOST_TEST(res.error().path.empty());
      BOOST_TEST(res.error().detail == "invalid UTF-8 at byte " + std::to_string(c.bad_at));
    }
  }
}

BOOST_AUTO_TEST_CASE(ascii_fast_path_finds_a_bad_byte_at_every_offset) {
  // The validator skips 8 ASCII bytes per step; a bad byte must be found in any lane and in
  // the short tail after the last full word.
  for (std::size_t size : {1u, 7u, 8u, 9u, 16u, 17u, 31u}) {
    for (std::size_t at = 0; at < size; ++at) {
      BOOST_TEST_CONTEXT("size " << size << ", bad byte at " << at) {
        std::string in(size, 'x');
        in[at] = '\xFF';
        auto res = decode_utf8(in, utf8_errors::strict, "test");
        BOOST_TEST_REQUIRE(!res.ok());
        BOOST_TEST(res.error().detail == "invalid UTF-8 at byte " + std::to_string(at));
        std::string expected(size, 'x');
        expected.replace(at, 1, fffd);
        BOOST_TEST(decoded(in, utf8_errors::replace) == expected);
        BOOST_TEST(decoded(in, utf8_errors::ignore) == std::string(size - 1, 'x'));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(large_input_with_one_bad_byte_near_the_end) {
  std::string in(1 << 20, 'a');
  in.replace(in.size() - 5, 3, "\xE2\x82\xAC"); // a valid character in the ASCII run
  in[in.size() - 2] = '\xC0';
  BOOST_TEST(decoded(in, utf8_errors::replace).size() == in.size() + 2);
  BOOST_TEST(decoded(in, utf8_errors::ignore).size() == in.size() - 1);
  auto res = decode_utf8(in, utf8_errors::strict, "test");
  BOOST_TEST_REQUIRE(!res.ok());
  BOOST_TEST(res.error().detail == "invalid UTF-8 at byte " + std::to_string(in.size() - 2));
}

BOOST_AUTO_TEST_CASE(complete_prefix_stops_at_the_last_character_boundary) {
  // Boundaries of `mixed`: a|é|€|😀|z.
  const std::vector<std::size_t> boundaries{0, 1, 3, 6, 10, 11};
  for (std::size_t len = 0; len <= mixed.size(); ++len) {
    std::size_t expected = 0;
    for (auto b : boundaries)
      if (b <= len)
        expected = b;
    BOOST_TEST_CONTEXT("prefix of " << len << " bytes") {
      BOOST_TEST(complete_prefix(std::string_view{mixed}.substr(0, len)) == expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(complete_prefix_holds_back_only_what_could_still_become_valid) {
  struct tail_case {
    std::string in;
    std::size_t expected;
  };
  const std::vector<tail_case> cases{
    {"", 0},
    {"\xE2\x82", 0},
    {"\xF0", 0},
    {"\xF0\x9F\x98", 0},
    {"\xF4\x8F\xBF", 0},
    {"ab\xED\x9F", 2},
    {"\xF0\x9F\x98\x80", 4},     // complete
    {"\xE0\x80", 2},             // overlong already
    {"\xED\xA0", 2},             // surrogate already
    {"\xF4\x90", 2},             // above U+10FFFF already
    {"\xF5", 1},                 // never a lead
    {"\xC0", 1},                 // overlong lead
    {"\x80\x80\x80", 3},         // continuations without a lead
    {"\xF0\x9F\x98\x80\x80", 5}, // complete character plus a stray continuation
    {"\xE2\x82"
     "A",
     3}, // already broken by the ASCII byte
  };
  for (auto& c : cases) {
    BOOST_TEST_CONTEXT("'" << c.in << "'") {
      BOOST_TEST(complete_prefix(c.in) == c.expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(decoder_fed_bytewise_emits_whole_characters_as_soon_as_complete) {
  const std::string text = mixed + "🎉x👍🏽" + mixed;
  for (auto policy : all_policies) {
    BOOST_TEST_CONTEXT(to_string(policy)) {
      utf8_decoder dec{policy};
      std::string out;
      for (std::size_t i = 0; i < text.size(); ++i) {
        auto res = dec.feed(text.substr(i, 1), "test");
        BOOST_TEST_REQUIRE(res.ok());
        BOOST_TEST(valid(*res), "partial character after byte " << i);
        out += *res;
        auto seen = std::string_view{text}.substr(0, i + 1);
        BOOST_TEST(out == seen.substr(0, complete_prefix(seen)));
        BOOST_TEST(dec.pending() == seen.size() - complete_prefix(seen));
      }
      auto tail = dec.finish("test");
      BOOST_TEST_REQUIRE(tail.ok());
      BOOST_TEST(*tail == "");
      BOOST_TEST(out == decoded(text, policy));
    }
  }
}

BOOST_AUTO_TEST_CASE(decoder_finish_decodes_an_incomplete_tail_per_policy) {
  for (auto policy : all_policies) {
    utf8_decoder dec{policy};
    auto head = dec.feed("ab\xF0\x9F", "read_pipe");
    BOOST_TEST_REQUIRE(head.ok());
    BOOST_TEST(*head == "ab");
    auto tail = dec.finish("read_pipe");
    switch (policy) {
    case utf8_errors::strict:
      BOOST_TEST_REQUIRE(!tail.ok());
      BOOST_TEST(tail.error().code == EILSEQ);
      BOOST_TEST(tail.error().op == "read_pipe");
      BOOST_TEST(tail.error().detail == "invalid UTF-8 at byte 2");
      break;
    case utf8_errors::replace:
      BOOST_TEST_REQUIRE(tail.ok());
      BOOST_TEST(*tail == fffd);
      break;
    case utf8_errors::ignore:
      BOOST_TEST_REQUIRE(tail.ok());
      BOOST_TEST(*tail == "");
      break;
    }
    // finish() starts a new stream: offsets count from 0 again and nothing is held back.
    BOOST_TEST(dec.pending() == 0u);
    auto again = dec.feed("\x80", "read_pipe");
    if (policy == utf8_errors::strict)
      BOOST_TEST(outcome(again) == "error: invalid UTF-8 at byte 0");
    else
      BOOST_TEST(outcome(again) == decoded("\x80", policy));
  }
}

BOOST_AUTO_TEST_CASE(decoder_strict_errors_name_the_stream_offset) {
  utf8_decoder dec{utf8_errors::strict};
  BOOST_TEST(outcome(dec.feed("hello ", "read_pipe")) == "hello ");
  BOOST_TEST(outcome(dec.feed("w\xC3", "read_pipe")) == "w");
  auto res = dec.feed("(", "read_pipe");
  BOOST_TEST_REQUIRE(!res.ok());
  BOOST_TEST(res.error().code == EILSEQ);
  BOOST_TEST(res.error().op == "read_pipe");
  BOOST_TEST(res.error().detail == "invalid UTF-8 at byte 7");
}

BOOST_AUTO_TEST_CASE(random_splits_through_the_decoder_equal_one_shot_decoding) {
  std::mt19937 rng{20240607};
  auto pick = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>{0, n - 1}(rng);
  };
  // Bytes that matter for UTF-8 boundaries, so random strings hit every lead/range case
  // often instead of being mostly single invalid bytes.
  const std::vector<unsigned char> special{0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
                                           0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE,
                                           0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF};
  const std::vector<std::string> chars{"a",
                                       "\xC3\xA9",
                                       "\xE2\x82\xAC",
                                       "\xF0\x9F\x98\x80",
                                       "\xF4\x8F\xBF\xBF",
                                       "\xED\x9F\xBF",
                                       "\xEF\xBF\xBD"};
  for (int round = 0; round < 3000; ++round) {
    std::string in;
    auto tokens = pick(40);
    for (std::size_t t = 0; t < tokens; ++t) {
      switch (pick(4)) {
      case 0: // any byte
        in += static_cast<char>(pick(256));
        break;
      case 1:
        in += static_cast<char>(special[pick(special.size())]);
        break;
      case 2: // a whole character
        in += chars[pick(chars.size())];
        break;
      default: { // a character cut short
        auto& c = chars[pick(chars.size())];
        in += c.substr(0, pick(c.size()) + 1);
      }
      }
    }
    std::vector<std::size_t> cuts;
    for (std::size_t i = 0; i <= in.size(); ++i)
      if (pick(3) == 0)
        cuts.push_back(i);
    for (auto policy : all_policies) {
      BOOST_TEST_CONTEXT("round " << round << ", " << to_string(policy)) {
        BOOST_TEST(streamed(in, cuts, policy) == outcome(decode_utf8(in, policy, "test")));
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
