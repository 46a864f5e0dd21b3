#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string_view>

// The closed sets of choices that calls take: how a file is opened and mapped, what text calls do
// with bytes that are not UTF-8, and the advice the kernel gets for a range of a map. Messages and
// the facade carry these enums; `to_string` and `parse_*` give and read the spellings of the
// Python library ("r+b", "strict", "willneed"), for command lines and configuration files.
// A value outside its enum (from a cast, or off the wire) is refused with EINVAL by every call.

namespace actorio {

/// How a file is opened and mapped.
enum class open_mode : std::uint8_t {
  /// "r+b": read-write; the file must exist.
  read_write,
  /// "rb": read-only; the file must exist, and changes fail with EBADF.
  read_only,
  /// "w+b": read-write; the file is created, or truncated if it exists.
  create,
  /// "x+b": read-write; the file is created, EEXIST if it exists.
  create_exclusive,
};

/// What text calls do with bytes that are not valid UTF-8 (Python's `errors=` policies).
enum class utf8_errors : std::uint8_t {
  /// The call fails with EILSEQ at the first invalid byte.
  strict,
  /// Each maximal invalid subsequence becomes U+FFFD.
  replace,
  /// Invalid bytes are dropped.
  ignore,
};

/// Advice to the kernel about how a range of a map will be used (madvise(2)).
enum class map_advice : std::uint8_t {
  normal,     ///< MADV_NORMAL
  random,     ///< MADV_RANDOM: no read-ahead.
  sequential, ///< MADV_SEQUENTIAL: aggressive read-ahead, pages dropped soon after use.
  willneed,   ///< MADV_WILLNEED: read the range in now.
  dontneed,   ///< MADV_DONTNEED: the range's pages may go; a shared map keeps its data.
};

/// "r+b", "rb", "w+b", "x+b"; "" for a value outside the enum.
constexpr std::string_view to_string(open_mode x) noexcept {
  switch (x) {
  case open_mode::read_write:
    return "r+b";
  case open_mode::read_only:
    return "rb";
  case open_mode::create:
    return "w+b";
  case open_mode::create_exclusive:
    return "x+b";
  }
  return {};
}

/// "strict", "replace", "ignore"; "" for a value outside the enum.
constexpr std::string_view to_string(utf8_errors x) noexcept {
  switch (x) {
  case utf8_errors::strict:
    return "strict";
  case utf8_errors::replace:
    return "replace";
  case utf8_errors::ignore:
    return "ignore";
  }
  return {};
}

/// "normal", "random", "sequential", "willneed", "dontneed"; "" for a value outside the enum.
constexpr std::string_view to_string(map_advice x) noexcept {
  switch (x) {
  case map_advice::normal:
    return "normal";
  case map_advice::random:
    return "random";
  case map_advice::sequential:
    return "sequential";
  case map_advice::willneed:
    return "willneed";
  case map_advice::dontneed:
    return "dontneed";
  }
  return {};
}

/// Write `to_string(x)`.
inline std::ostream& operator<<(std::ostream& out, open_mode x) {
  return out << to_string(x);
}
inline std::ostream& operator<<(std::ostream& out, utf8_errors x) {
  return out << to_string(x);
}
inline std::ostream& operator<<(std::ostream& out, map_advice x) {
  return out << to_string(x);
}

namespace detail {

template <class Enum, std::uint8_t Count>
constexpr std::optional<Enum> parse_enum(std::string_view text) noexcept {
  for (std::uint8_t i = 0; i < Count; ++i)
    if (to_string(static_cast<Enum>(i)) == text)
      return static_cast<Enum>(i);
  return std::nullopt;
}

} // namespace detail

/// The mode `to_string` spells `text` (case-sensitive), or nothing.
constexpr std::optional<open_mode> parse_open_mode(std::string_view text) noexcept {
  return detail::parse_enum<open_mode, 4>(text);
}

/// The policy `to_string` spells `text` (case-sensitive, as in Python), or nothing.
constexpr std::optional<utf8_errors> parse_utf8_errors(std::string_view text) noexcept {
  return detail::parse_enum<utf8_errors, 3>(text);
}

/// The advice `to_string` spells `text` (case-sensitive), or nothing.
constexpr std::optional<map_advice> parse_map_advice(std::string_view text) noexcept {
  return detail::parse_enum<map_advice, 5>(text);
}

} // namespace actorio
