#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace actorio::cli {

// The text formats of GNU coreutils' sha256sum family (9.1) and of xxhsum (0.8), so that
// `actorio sum` output is byte-identical to theirs. Pure functions, unit-tested.

/// True when coreutils escapes `name` in a sum line: it holds a backslash, '\n' or '\r'.
bool sum_needs_escape(std::string_view name);

/// `name` with '\\' -> "\\\\", '\n' -> "\\n", '\r' -> "\\r" (coreutils' print_filename).
std::string escape_name(std::string_view name);

/// The inverse of escape_name; nullopt for any other escape or a trailing lone backslash, as
/// coreutils refuses such lines.
std::optional<std::string> unescape_name(std::string_view escaped);

/// The line `sha256sum NAME` prints: "HEX  NAME\n", or "\\HEX  ESCAPED\n" when the name needs
/// escaping.
std::string sum_line(std::string_view hex, std::string_view name);

/// The line `sha256sum --tag NAME` prints: "TAG (NAME) = HEX\n", escaped like sum_line.
std::string tagged_line(std::string_view tag, std::string_view hex, std::string_view name);

/// The line `xxhsum -H1/-H2` prints: "HEX  NAME\n"; xxhsum escapes nothing.
std::string xxhsum_line(std::string_view hex, std::string_view name);

/// A verification result line of `sha256sum -c`: "NAME: STATUS\n". In check mode coreutils
/// escapes (with a leading backslash) only names that hold a newline.
std::string check_line(std::string_view name, std::string_view status);

/// The BSD tag of an algorithm as coreutils and xxhsum spell it: "SHA256", "MD5", "XXH64".
std::string bsd_tag(std::string_view canonical_algorithm);

/// One entry of a checksum list.
struct checksum_entry {
  std::string hex;
  std::string name;
};

/// Parses the lines of a checksum list as `sha256sum -c` does (coreutils 9.1 split_3): "HEX  NAME",
/// "HEX *NAME", BSD "TAG (NAME) = HEX", a leading backslash for escaped names, and the "bsd
/// reversed" "HEX NAME" form once the first line used it. Keeps that format choice across lines.
class checksum_list_parser {
public:
  /// `hex_len`: digest length in hex digits; `tag`: the BSD tag (bsd_tag()).
  checksum_list_parser(std::size_t hex_len, std::string tag);

  /// What a line of the list is.
  enum class kind { skip, entry, malformed };

  /// Classifies one line (with or without its trailing "\n" / "\r\n"): comments and empty lines
  /// are skipped; a valid line fills `out`.
  kind parse(std::string_view line, checksum_entry& out);

private:
  bool parse_bsd(std::string_view rest, bool escaped, checksum_entry& out) const;

  std::size_t hex_len_;
  std::string tag_;
  /// -1 unknown yet, 0 standard ("HEX  NAME"), 1 "bsd reversed" ("HEX NAME").
  int bsd_reversed_ = -1;
};

/// Counts of a `-c` run, for the closing warnings.
struct check_counts {
  std::size_t properly_formatted = 0;
  std::size_t misformatted = 0;
  std::size_t unreadable = 0;
  std::size_t mismatched = 0;
};

/// The closing warnings coreutils writes to stderr after checking a list (each line prefixed by
/// `prog`: "actorio: WARNING: 1 computed checksum did NOT match\n"), or the "no properly
/// formatted checksum lines found" complaint about `list_name`.
std::string check_warnings(std::string_view prog, std::string_view list_name,
                           const check_counts& counts);

} // namespace actorio::cli
