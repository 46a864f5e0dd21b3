// Checks the text-mode UTF-8 decoder (io/src/utf8.hpp): one-shot decoding against an oracle built
// from the encoder side, and streaming decoding at every split point (small inputs) and at random
// split points against one-shot decoding, for each errors policy.

#include "io/src/utf8.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

using actorio::utf8_errors;
using actorio::detail::complete_prefix;
using actorio::detail::decode_utf8;
using actorio::detail::utf8_decoder;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "utf8_fuzzer: %s\n", what);
    std::abort();
  }
}

std::string encode(std::uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

/// Up to 4 bytes with their count, as one set key.
std::uint64_t key(std::string_view s) {
  std::uint64_t k = s.size();
  for (unsigned char c : s)
    k = (k << 8) | c;
  return k;
}

/// Every well-formed encoding and every proper prefix of one, from encoding all scalar values:
/// the oracle knows nothing of lead-byte tables.
struct encodings {
  std::unordered_set<std::uint64_t> whole;
  std::unordered_set<std::uint64_t> prefixes;

  encodings() {
    for (std::uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
      if (cp >= 0xD800 && cp <= 0xDFFF)
        continue;
      auto s = encode(cp);
      for (std::size_t k = 1; k < s.size(); ++k)
        prefixes.insert(key(std::string_view{s}.substr(0, k)));
      whole.insert(key(s));
    }
  }
};

const encodings& known() {
  static const encodings e;
  return e;
}

/// One-shot decoding by the definition: at each position take the longest prefix of a
/// well-formed encoding (the maximal subpart); a whole encoding is a character, anything else
/// one invalid unit. Strict gives the offset of the first invalid unit.
struct oracle_result {
  std::string text;
  std::optional<std::size_t> error_at;
};

oracle_result oracle(std::string_view in, utf8_errors policy) {
  const auto& e = known();
  oracle_result out;
  for (std::size_t i = 0; i < in.size();) {
    std::size_t k = 1;
    bool whole = false;
    for (std::size_t len = 1; len <= 4 && i + len <= in.size(); ++len) {
      auto piece = key(in.substr(i, len));
      if (e.whole.count(piece)) {
        k = len;
        whole = true;
        break;
      }
      if (!e.prefixes.count(piece))
        break;
      k = len;
    }
    if (whole) {
      out.text.append(in.substr(i, k));
    } else if (policy == utf8_errors::strict) {
      out.error_at = i;
      return out;
    } else if (policy == utf8_errors::replace) {
      out.text.append("\xEF\xBF\xBD");
    }
    i += k;
  }
  return out;
}

std::string error_text(std::size_t at) {
  return "invalid UTF-8 at byte " + std::to_string(at);
}

/// Whether `s` is well-formed as far as the oracle knows.
bool well_formed(std::string_view s) {
  return !oracle(s, utf8_errors::strict).error_at;
}

/// Feeds `in` cut at `cuts` (ascending offsets) and checks the stream against `expected`.
void check_stream(std::string_view in, const std::vector<std::size_t>& cuts, utf8_errors policy,
                  const oracle_result& expected) {
  utf8_decoder dec{policy};
  std::string out;
  std::size_t from = 0;
  auto step = [&](std::size_t to) {
    auto piece = dec.feed(in.substr(from, to - from), "read");
    from = to;
    if (!piece) {
      check(expected.error_at.has_value(), "stream failed where one-shot decoding succeeds");
      check(piece.error().code == EILSEQ, "stream failure is not EILSEQ");
      check(piece.error().detail == error_text(*expected.error_at), "stream error offset");
      check(dec.pending() == 0, "a failure did not reset the decoder");
      return false;
    }
    // Each piece stands alone: a character is never split across pieces.
    check(well_formed(*piece), "a piece ends or starts inside a character");
    check(dec.pending() <= 3, "more than 3 bytes held back");
    out += *piece;
    return true;
  };
  for (auto cut : cuts)
    if (!step(cut))
      return;
  if (!step(in.size()))
    return;
  auto tail = dec.finish("read");
  if (!tail) {
    check(expected.error_at.has_value(), "finish failed where one-shot decoding succeeds");
    check(tail.error().detail == error_text(*expected.error_at), "finish error offset");
    return;
  }
  check(well_formed(*tail), "finish gave an ill-formed tail");
  out += *tail;
  check(!expected.error_at.has_value(), "stream succeeded where one-shot decoding fails");
  check(out == expected.text, "stream output differs from one-shot decoding");
  check(dec.pending() == 0, "finish did not reset the decoder");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp{data, size};
  auto seed = fdp.ConsumeIntegral<std::uint32_t>();
  auto bytes = fdp.ConsumeRemainingBytesAsString();
  std::string_view in{bytes};

  for (auto policy : {utf8_errors::strict, utf8_errors::replace, utf8_errors::ignore}) {
    auto expected = oracle(in, policy);
    auto whole = decode_utf8(in, policy, "read");
    if (expected.error_at) {
      check(!whole, "one-shot decoding accepted invalid input");
      check(whole.error().code == EILSEQ, "one-shot failure is not EILSEQ");
      check(whole.error().detail == error_text(*expected.error_at), "one-shot error offset");
    } else {
      check(whole.ok(), "one-shot decoding rejected valid input");
      check(*whole == expected.text, "one-shot output differs from the oracle");
      check(well_formed(*whole), "one-shot output is ill-formed");
    }

    // Every single split point (quadratic, so only for short inputs), then one byte at a time,
    // then random cuts drawn from the seed.
    if (in.size() <= 64)
      for (std::size_t cut = 0; cut <= in.size(); ++cut)
        check_stream(in, {cut}, policy, expected);
    std::vector<std::size_t> cuts;
    for (std::size_t cut = 1; cut < in.size(); ++cut)
      cuts.push_back(cut);
    check_stream(in, cuts, policy, expected);
    cuts.clear();
    std::uint32_t x = seed | 1;
    for (std::size_t at = 0; at < in.size();) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      at += 1 + x % 7;
      if (at < in.size())
        cuts.push_back(at);
    }
    check_stream(in, cuts, policy, expected);
  }

  // Bytes before the cut decode the same whatever follows; at most 3 bytes are held back.
  auto cut = complete_prefix(in);
  check(cut <= in.size() && in.size() - cut <= 3, "complete_prefix holds back too much");
  if (cut < in.size())
    check(known().prefixes.count(key(in.substr(cut))) == 1,
          "complete_prefix held back bytes that no later byte can complete");
  auto head = oracle(in.substr(0, cut), utf8_errors::replace).text;
  auto all = oracle(in, utf8_errors::replace).text;
  check(all.compare(0, head.size(), head) == 0, "complete_prefix cut inside a sequence");
  return 0;
}
