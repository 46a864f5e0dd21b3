#include "io/src/utf8.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace actorio::detail {

namespace {

/// U+FFFD REPLACEMENT CHARACTER.
constexpr std::string_view replacement = "\xEF\xBF\xBD";

/// What a lead byte promises: the sequence length (0 = never starts a character) and the range
/// of the second byte. Table 3-7 narrows only the second byte; later ones are always 80..BF.
struct lead_info {
  std::uint8_t len;
  std::uint8_t lo;
  std::uint8_t hi;
};

constexpr lead_info lead_of(unsigned char b) noexcept {
  if (b < 0x80)
    return {1, 0, 0};
  if (b < 0xC2) // continuation bytes, and C0/C1 which could only start overlongs
    return {0, 0, 0};
  if (b < 0xE0)
    return {2, 0x80, 0xBF};
  if (b == 0xE0) // E0 80..9F would be overlong
    return {3, 0xA0, 0xBF};
  if (b == 0xED) // ED A0..BF would be a surrogate
    return {3, 0x80, 0x9F};
  if (b < 0xF0)
    return {3, 0x80, 0xBF};
  if (b == 0xF0) // F0 80..8F would be overlong
    return {4, 0x90, 0xBF};
  if (b < 0xF4)
    return {4, 0x80, 0xBF};
  if (b == 0xF4) // F4 90.. would exceed U+10FFFF
    return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

enum class seq_kind : std::uint8_t {
  /// A well-formed character of `len` bytes.
  valid,
  /// A maximal invalid subpart of `len` bytes (>= 1): replaced by one U+FFFD.
  invalid,
  /// `len` bytes that are valid so far but the input ended; more bytes could complete them.
  truncated,
};

struct seq {
  seq_kind kind;
  std::size_t len;
};

/// Classifies the sequence starting at `p[0]`; `n` >= 1 bytes are available.
seq scan(const unsigned char* p, std::size_t n) noexcept {
  auto info = lead_of(p[0]);
  if (info.len == 1)
    return {seq_kind::valid, 1};
  if (info.len == 0)
    return {seq_kind::invalid, 1};
  if (n == 1)
    return {seq_kind::truncated, 1};
  if (p[1] < info.lo || p[1] > info.hi)
    return {seq_kind::invalid, 1};
  for (std::size_t k = 2; k < info.len; ++k) {
    if (k == n)
      return {seq_kind::truncated, k};
    if (p[k] < 0x80 || p[k] > 0xBF)
      return {seq_kind::invalid, k};
  }
  return {seq_kind::valid, info.len};
}

/// Where the first ill-formed sequence of `p[from..n)` starts (`n` if none) and how long its
/// maximal subpart is. A sequence truncated by the end of the input counts as ill-formed here.
struct bad_seq {
  std::size_t pos;
  std::size_t len;
};

bad_seq find_invalid(const unsigned char* p, std::size_t n, std::size_t from) noexcept {
  constexpr std::uint64_t high_bits = 0x8080808080808080ull;
  std::size_t i = from;
  while (i < n) {
    // Whole files go through here and most text is mostly ASCII: test eight bytes per step.
    // memcpy keeps the unaligned load well-defined; compilers turn it into one mov.
    while (n - i >= 8) {
      std::uint64_t word;
      std::memcpy(&word, p + i, 8);
      if ((word & high_bits) != 0)
        break;
      i += 8;
    }
    if (i == n)
      break;
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    auto s = scan(p + i, n - i);
    if (s.kind != seq_kind::valid)
      return {i, s.len};
    i += s.len;
  }
  return {n, 0};
}

failure ilseq(const char* op, std::uint64_t offset) {
  return failure{EILSEQ, op, "", "invalid UTF-8 at byte " + std::to_string(offset)};
}

/// Appends the cleaned `in` to `out`; `base` is the stream offset of `in[0]` for error text.
/// Returns false with `err` set on a strict failure. Valid runs are appended in bulk.
bool decode_append(std::string_view in, utf8_errors policy, std::uint64_t base, const char* op,
                   std::string& out, failure& err) {
  auto p = reinterpret_cast<const unsigned char*>(in.data());
  auto n = in.size();
  std::size_t i = 0;
  while (i < n) {
    auto bad = find_invalid(p, n, i);
    out.append(in.data() + i, bad.pos - i);
    if (bad.pos == n)
      break;
    switch (policy) {
    case utf8_errors::strict:
      err = ilseq(op, base + bad.pos);
      return false;
    case utf8_errors::replace:
      out.append(replacement);
      break;
    case utf8_errors::ignore:
      break;
    }
    i = bad.pos + bad.len;
  }
  return true;
}

} // namespace

result<std::string> decode_utf8(std::string_view in, utf8_errors policy, const char* op) {
  auto p = reinterpret_cast<const unsigned char*>(in.data());
  auto first = find_invalid(p, in.size(), 0);
  if (first.pos == in.size())
    return std::string(in);
  if (policy == utf8_errors::strict)
    return ilseq(op, first.pos);
  // Replacing grows the output by at most 2 bytes per invalid byte (1 -> 3); ignoring only
  // shrinks it. Reserving the input size covers the common case of a few bad bytes.
  std::string out;
  out.reserve(in.size() + (policy == utf8_errors::replace ? 16 : 0));
  failure err;
  decode_append(in, policy, 0, op, out, err); // cannot fail: not strict
  return out;
}

std::size_t complete_prefix(std::string_view in) noexcept {
  auto p = reinterpret_cast<const unsigned char*>(in.data());
  auto n = in.size();
  // An incomplete sequence is a lead byte plus at most 2 continuation bytes, so its lead is the
  // last non-continuation byte and sits among the last 3. Every byte before that lead decodes
  // the same whatever follows, because a lead byte always ends the sequence before it.
  auto stop = n - std::min<std::size_t>(n, 3);
  for (auto j = n; j > stop;) {
    --j;
    if (p[j] >= 0x80 && p[j] <= 0xBF)
      continue;
    return scan(p + j, n - j).kind == seq_kind::truncated ? j : n;
  }
  return n;
}

result<std::string> utf8_decoder::feed(std::string_view chunk, const char* op) {
  std::string out;
  failure err;
  if (pending_size_ > 0) {
    // Finish the held-back sequence first. One sequence (or its maximal subpart) never spans
    // more than 4 bytes, so the pending bytes plus the head of the chunk settle it.
    unsigned char buf[4];
    std::memcpy(buf, pending_, pending_size_);
    auto take = std::min<std::size_t>(4 - pending_size_, chunk.size());
    std::memcpy(buf + pending_size_, chunk.data(), take);
    auto avail = pending_size_ + take;
    auto s = scan(buf, avail);
    if (s.kind == seq_kind::truncated) {
      // Still incomplete, so the chunk was too short to settle it: keep everything (< 4 bytes).
      std::memcpy(pending_, buf, avail);
      pending_size_ = avail;
      return out;
    }
    // The pending bytes were valid so far, so the sequence or subpart covers all of them.
    if (s.kind == seq_kind::valid) {
      out.append(reinterpret_cast<const char*>(buf), s.len);
    } else if (policy_ == utf8_errors::strict) {
      err = ilseq(op, offset_);
      reset();
      return err;
    } else if (policy_ == utf8_errors::replace) {
      out.append(replacement);
    }
    chunk.remove_prefix(s.len - pending_size_);
    offset_ += s.len;
    pending_size_ = 0;
  }
  auto cut = complete_prefix(chunk);
  out.reserve(out.size() + cut);
  if (!decode_append(chunk.substr(0, cut), policy_, offset_, op, out, err)) {
    reset();
    return err;
  }
  offset_ += cut;
  pending_size_ = chunk.size() - cut;
  std::memcpy(pending_, chunk.data() + cut, pending_size_);
  return out;
}

result<std::string> utf8_decoder::finish(const char* op) {
  std::string out;
  failure err;
  // The pending bytes are an incomplete sequence: decoded as a whole text they form one maximal
  // subpart, which is exactly what one-shot decoding does with a truncated tail.
  bool ok =
    decode_append(std::string_view{pending_, pending_size_}, policy_, offset_, op, out, err);
  reset();
  if (!ok)
    return err;
  return out;
}

} // namespace actorio::detail
