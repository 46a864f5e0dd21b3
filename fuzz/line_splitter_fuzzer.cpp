// Checks how a couple cuts buffered input into readline / readlines answers
// (io/src/line_splitter.hpp) against a naive character-by-character walk, and that an answer
// given before EOF is the one the whole input gives: more data never changes a given answer.

#include "io/src/line_splitter.hpp"
#include "io/src/utf8.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using actorio::utf8_errors;
using actorio::detail::count_units;
using actorio::detail::decode_utf8;
using actorio::detail::is_continuation;
using actorio::detail::line_end;
using actorio::detail::lines_end;
using actorio::detail::split_lines;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "line_splitter_fuzzer: %s\n", what);
    std::abort();
  }
}

/// The byte length of the unit starting at `pos`: a whole character in text mode.
std::size_t unit_len(std::string_view s, std::size_t pos, bool text) {
  std::size_t len = 1;
  while (text && pos + len < s.size() && is_continuation(s[pos + len]))
    ++len;
  return len;
}

std::optional<std::size_t> naive_line_end(std::string_view s, std::int64_t limit, bool text,
                                          bool eof) {
  std::size_t pos = 0;
  for (std::int64_t count = 0;; ++count) {
    if (limit >= 0 && count == limit)
      return pos;
    if (pos == s.size())
      break;
    pos += unit_len(s, pos, text);
    if (s[pos - 1] == '\n')
      return pos;
  }
  if (eof)
    return s.size();
  return std::nullopt;
}

std::vector<std::string> naive_split(std::string_view s) {
  std::vector<std::string> lines;
  std::string line;
  for (char c : s) {
    line += c;
    if (c == '\n')
      lines.push_back(std::exchange(line, {}));
  }
  if (!line.empty())
    lines.push_back(line);
  return lines;
}

std::optional<std::size_t> naive_lines_end(std::string_view s, std::int64_t hint, bool text,
                                           bool eof) {
  std::size_t end = 0;
  std::int64_t total = 0;
  for (const auto& line : naive_split(s)) {
    if (line.back() != '\n')
      break;
    end += line.size();
    for (std::size_t i = 0; i < line.size(); i += unit_len(line, i, text))
      ++total;
    if (hint > 0 && total >= hint)
      return end;
  }
  if (eof)
    return s.size();
  return std::nullopt;
}

bool at_boundary(std::string_view s, std::size_t pos, bool text) {
  return !text || pos == s.size() || !is_continuation(s[pos]);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp{data, size};
  bool text = fdp.ConsumeBool();
  auto limit = fdp.ConsumeIntegralInRange<std::int64_t>(-1, 40);
  auto hint = fdp.ConsumeIntegralInRange<std::int64_t>(-1, 40);
  auto raw = fdp.ConsumeRemainingBytesAsString();
  // In text mode the couple's buffer holds decoded, whole characters only.
  std::string buffer = text ? *decode_utf8(raw, utf8_errors::replace, "read") : raw;
  std::string_view all{buffer};

  check(split_lines(all) == naive_split(all), "split_lines differs from the naive split");
  std::int64_t units = 0;
  for (std::size_t i = 0; i < all.size(); i += unit_len(all, i, text))
    ++units;
  check(count_units(all, text) == units, "count_units differs from the naive count");

  // Reading the whole buffer line by line, then in readlines batches, as a couple does at EOF:
  // the pieces match the naive walk and put together give the buffer back.
  for (std::string_view rest = all; !rest.empty();) {
    auto len = line_end(rest, limit, text, true);
    check(len == naive_line_end(rest, limit, text, true), "line_end at EOF");
    check(at_boundary(rest, *len, text), "line_end splits a character");
    if (*len == 0)
      break; // readline(0) takes nothing and would repeat forever
    rest.remove_prefix(*len);
  }
  std::string joined;
  for (std::string_view rest = all; !rest.empty();) {
    auto len = lines_end(rest, hint, text, true);
    check(len == naive_lines_end(rest, hint, text, true), "lines_end at EOF");
    check(*len > 0, "lines_end at EOF took nothing from a non-empty buffer");
    for (const auto& line : split_lines(rest.substr(0, *len)))
      joined += line;
    rest.remove_prefix(*len);
  }
  check(joined == all, "readlines batches do not add up to the input");

  // Before EOF, at character boundaries: an answer given on a prefix of the input is final,
  // the one the naive walk gives, and the one the whole input gives.
  // Quadratic: long inputs are cut at a stride.
  auto stride = std::max<std::size_t>(1, all.size() / 256);
  for (std::size_t cut = 0; cut <= all.size(); cut += stride) {
    if (!at_boundary(all, cut, text))
      continue;
    auto head = all.substr(0, cut);
    auto one = line_end(head, limit, text, false);
    check(one == naive_line_end(head, limit, text, false), "line_end before EOF");
    if (one)
      check(one == line_end(all, limit, text, true), "more input changed a readline answer");
    auto many = lines_end(head, hint, text, false);
    check(many == naive_lines_end(head, hint, text, false), "lines_end before EOF");
    if (many)
      check(many == lines_end(all, hint, text, true), "more input changed a readlines answer");
  }
  return 0;
}
