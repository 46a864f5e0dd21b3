#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "actorio/modes.hpp"
#include "actorio/result.hpp"

namespace actorio::detail {

// UTF-8 checking for text-mode reads and writes. Invalid input is split into "maximal subparts"
// (Unicode 15, section 3.9, U+FFFD substitution of maximal subparts), the practice that Python's
// `bytes.decode("utf-8", errors)` follows, so `replace` and `ignore` give byte-identical results to
// Python. Well-formed means Table 3-7: no overlongs (C0 80, E0 80 80, ...), no surrogates
// (ED A0 80 ... ED BF BF) and nothing above U+10FFFF (F4 90 80 80 and up, F5..FF).

/// Checks or cleans `in` as a complete text (an incomplete sequence at the end is invalid).
/// strict -> the same bytes, or failure{EILSEQ, op, "", "invalid UTF-8 at byte N"} where N is the
/// offset of the first byte of the first invalid sequence; replace -> each maximal invalid
/// subsequence becomes U+FFFD; ignore -> invalid bytes dropped. Valid input comes back unchanged
/// after a single validation pass that skips ASCII eight bytes at a time.
result<std::string> decode_utf8(std::string_view in, utf8_errors policy, const char* op);

/// The length of the longest prefix of `in` that does not end inside an incomplete but so far
/// valid multi-byte sequence. At most the last 3 bytes are held back, and only when more input
/// could still complete them into a valid character; a tail that is already invalid (E0 80, F4 90,
/// a lone continuation byte) is not held back, because no later byte changes how it decodes.
std::size_t complete_prefix(std::string_view in) noexcept;

/// Streaming decoder for chunked input, e.g. a pipe read in pieces: chunk boundaries may fall
/// anywhere, and the concatenated output always equals `decode_utf8` of the concatenated input.
class utf8_decoder {
public:
  explicit utf8_decoder(utf8_errors policy) noexcept
    : policy_(policy) {}

  /// Decodes every complete character of the input so far and holds back an incomplete tail (at
  /// most 3 bytes), so the result never ends inside a character. Strict failures name the byte
  /// offset in the whole stream. A failure ends the stream and resets the decoder.
  result<std::string> feed(std::string_view chunk, const char* op);

  /// Ends the stream: decodes the held-back tail per the policy (strict -> EILSEQ, replace -> one
  /// U+FFFD, ignore -> nothing) and resets the decoder for a new stream.
  result<std::string> finish(const char* op);

  /// Forgets any held-back bytes and the stream position.
  void reset() noexcept {
    pending_size_ = 0;
    offset_ = 0;
  }

  /// How many bytes are held back, waiting for the rest of their character.
  std::size_t pending() const noexcept {
    return pending_size_;
  }

private:
  utf8_errors policy_;
  /// The held-back incomplete sequence; never more than 3 bytes.
  char pending_[4] = {};
  std::size_t pending_size_ = 0;
  /// Stream offset of the first byte not yet decoded (the first pending byte, if any).
  std::uint64_t offset_ = 0;
};

} // namespace actorio::detail
