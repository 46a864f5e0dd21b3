#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace actorio::detail {

// How a couple cuts its buffered input into the answers of read, readline and readlines. Sizes and
// limits count units: bytes in binary mode, characters in text mode, where the buffer holds whole
// decoded UTF-8 characters only. Pure functions, so the fuzzer drives them without an actor.

/// Whether `c` is a UTF-8 continuation byte (10xxxxxx).
inline bool is_continuation(char c) noexcept {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

/// The byte length of the first `n` units of `s` and how many units that is (fewer than `n` when
/// `s` is shorter).
std::pair<std::size_t, std::int64_t> unit_prefix(std::string_view s, std::int64_t n, bool text);

/// How many units `s` holds.
std::int64_t count_units(std::string_view s, bool text);

/// The byte length of the line readline(limit) takes from the buffered `view`: up to and including
/// the first '\n', but at most `limit` units when `limit` >= 0; at `eof`, whatever is left when no
/// '\n' comes. nullopt when more input could still lengthen the line.
std::optional<std::size_t> line_end(std::string_view view, std::int64_t limit, bool text, bool eof);

/// The byte length of the lines readlines(hint) takes from `view`: whole lines until their units
/// reach `hint` (> 0), or everything at `eof` (also for hint <= 0). nullopt when it must wait.
std::optional<std::size_t> lines_end(std::string_view view, std::int64_t hint, bool text, bool eof);

/// `view` cut after each '\n'; the last line may lack one. An empty view gives no lines.
std::vector<std::string> split_lines(std::string_view view);

} // namespace actorio::detail
