#include "cli/checksum_list.hpp"

#include <cctype>
#include <utility>

namespace actorio::cli {

namespace {

bool is_white(char c) {
  return c == ' ' || c == '\t';
}

bool all_hex(std::string_view s) {
  for (unsigned char c : s)
    if (!std::isxdigit(c))
      return false;
  return true;
}

/// Lower-cases a hex digest so that a list written in upper case compares equal, as in coreutils.
std::string lower_hex(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

} // namespace

bool sum_needs_escape(std::string_view name) {
  return name.find_first_of("\\\n\r") != std::string_view::npos;
}

std::string escape_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    switch (c) {
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    default:
      out += c;
    }
  }
  return out;
}

std::optional<std::string> unescape_name(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    char c = escaped[i];
    if (c == '\0')
      return std::nullopt;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i == escaped.size())
      return std::nullopt;
    switch (escaped[i]) {
    case 'n':
      out += '\n';
      break;
    case 'r':
      out += '\r';
      break;
    case '\\':
      out += '\\';
      break;
    default:
      return std::nullopt;
    }
  }
  return out;
}

std::string sum_line(std::string_view hex, std::string_view name) {
  if (!sum_needs_escape(name))
    return std::string(hex) + "  " + std::string(name) + '\n';
  return '\\' + std::string(hex) + "  " + escape_name(name) + '\n';
}

std::string tagged_line(std::string_view tag, std::string_view hex, std::string_view name) {
  bool escape = sum_needs_escape(name);
  std::string out = escape ? "\\" : "";
  out += tag;
  out += " (";
  out += escape ? escape_name(name) : std::string(name);
  out += ") = ";
  out += hex;
  out += '\n';
  return out;
}

std::string xxhsum_line(std::string_view hex, std::string_view name) {
  return std::string(hex) + "  " + std::string(name) + '\n';
}

std::string check_line(std::string_view name, std::string_view status) {
  std::string out;
  if (name.find('\n') != std::string_view::npos)
    out = '\\' + escape_name(name);
  else
    out = name;
  out += ": ";
  out += status;
  out += '\n';
  return out;
}

std::string bsd_tag(std::string_view canonical_algorithm) {
  std::string out(canonical_algorithm);
  for (auto& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

checksum_list_parser::checksum_list_parser(std::size_t hex_len, std::string tag)
  : hex_len_(hex_len)
  , tag_(std::move(tag)) {}

checksum_list_parser::kind checksum_list_parser::parse(std::string_view line, checksum_entry& out) {
  if (!line.empty() && line.front() == '#')
    return kind::skip;
  if (!line.empty() && line.back() == '\n')
    line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  if (line.empty())
    return kind::skip;
  std::size_t i = 0;
  while (i < line.size() && is_white(line[i]))
    ++i;
  bool escaped = false;
  if (i < line.size() && line[i] == '\\') {
    ++i;
    escaped = true;
  }
  auto rest = line.substr(i);
  if (rest.starts_with(tag_)) {
    rest.remove_prefix(tag_.size());
    if (rest.starts_with(' '))
      rest.remove_prefix(1);
    if (!rest.starts_with('('))
      return kind::malformed;
    rest.remove_prefix(1);
    return parse_bsd(rest, escaped, out) ? kind::entry : kind::malformed;
  }
  // The hex digest, a blank, then a type character (' ' or '*') and at least one name byte.
  if (rest.size() < hex_len_ + 2 || !is_white(rest[hex_len_]))
    return kind::malformed;
  auto hex = rest.substr(0, hex_len_);
  if (!all_hex(hex))
    return kind::malformed;
  rest.remove_prefix(hex_len_ + 1);
  if (rest.size() == 1 || (rest[0] != ' ' && rest[0] != '*')) {
    // "HEX NAME": accepted only when the list did not start in the standard format, so a name
    // with a leading blank cannot switch formats halfway.
    if (bsd_reversed_ == 0)
      return kind::malformed;
    bsd_reversed_ = 1;
  } else if (bsd_reversed_ != 1) {
    bsd_reversed_ = 0;
    rest.remove_prefix(1);
  }
  if (escaped) {
    auto name = unescape_name(rest);
    if (!name)
      return kind::malformed;
    out.name = std::move(*name);
  } else {
    out.name = rest;
  }
  out.hex = lower_hex(hex);
  return kind::entry;
}

bool checksum_list_parser::parse_bsd(std::string_view rest, bool escaped,
                                     checksum_entry& out) const {
  auto close = rest.rfind(')');
  if (close == std::string_view::npos)
    return false;
  auto raw_name = rest.substr(0, close);
  auto tail = rest.substr(close + 1);
  while (!tail.empty() && is_white(tail.front()))
    tail.remove_prefix(1);
  if (!tail.starts_with('='))
    return false;
  tail.remove_prefix(1);
  while (!tail.empty() && is_white(tail.front()))
    tail.remove_prefix(1);
  if (tail.size() != hex_len_ || !all_hex(tail))
    return false;
  if (escaped) {
    auto name = unescape_name(raw_name);
    if (!name)
      return false;
    out.name = std::move(*name);
  } else {
    out.name = raw_name;
  }
  out.hex = lower_hex(tail);
  return true;
}

std::string check_warnings(std::string_view prog, std::string_view list_name,
                           const check_counts& counts) {
  auto line = [&](std::string text) { return std::string(prog) + ": " + text + '\n'; };
  if (counts.properly_formatted == 0)
    return line(std::string(list_name) + ": no properly formatted checksum lines found");
  std::string out;
  auto n = [](std::size_t k) { return std::to_string(k); };
  if (counts.misformatted != 0)
    out += line("WARNING: " + n(counts.misformatted) +
                (counts.misformatted == 1 ? " line is" : " lines are") + " improperly formatted");
  if (counts.unreadable != 0)
    out += line("WARNING: " + n(counts.unreadable) +
                (counts.unreadable == 1 ? " listed file" : " listed files") + " could not be read");
  if (counts.mismatched != 0)
    out += line("WARNING: " + n(counts.mismatched) +
                (counts.mismatched == 1 ? " computed checksum" : " computed checksums") +
                " did NOT match");
  return out;
}

} // namespace actorio::cli
