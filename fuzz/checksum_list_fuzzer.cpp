// Checks the `sum -c` list parser (cli/checksum_list.hpp): any list parses without a crash into
// well-formed entries, and every line the writer produces (sum_line, tagged_line) parses back to
// the name and digest written, escaped names included, alone or within a multi-line list.

#include "cli/checksum_list.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

using actorio::cli::checksum_entry;
using actorio::cli::checksum_list_parser;
using actorio::cli::escape_name;
using actorio::cli::sum_line;
using actorio::cli::tagged_line;
using actorio::cli::unescape_name;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "checksum_list_fuzzer: %s\n", what);
    std::abort();
  }
}

/// Digest lengths in hex digits and BSD tags of the algorithms `actorio sum` offers.
struct algorithm {
  std::size_t hex_len;
  const char* tag;
};
constexpr algorithm algorithms[] = {{32, "MD5"},     {40, "SHA1"},  {64, "SHA256"},
                                    {128, "SHA512"}, {16, "XXH64"}, {8, "XXH32"}};

std::vector<std::string_view> lines_of(std::string_view list) {
  std::vector<std::string_view> lines;
  while (!list.empty()) {
    auto nl = list.find('\n');
    auto len = nl == std::string_view::npos ? list.size() : nl + 1;
    lines.push_back(list.substr(0, len));
    list.remove_prefix(len);
  }
  return lines;
}

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp{data, size};
  const auto& alg = fdp.PickValueInArray(algorithms);
  auto mode = fdp.ConsumeIntegralInRange<int>(0, 2);

  if (mode == 0) {
    // Arbitrary list text.
    checksum_list_parser parser{alg.hex_len, alg.tag};
    auto list = fdp.ConsumeRemainingBytesAsString();
    for (auto line : lines_of(list)) {
      checksum_entry e;
      if (parser.parse(line, e) != checksum_list_parser::kind::entry)
        continue;
      check(e.hex.size() == alg.hex_len, "entry digest has the wrong length");
      for (unsigned char c : e.hex)
        check(std::isxdigit(c) && !std::isupper(c), "entry digest is not lower-case hex");
    }
    return 0;
  }

  if (mode == 1) {
    // Escaping: unescape inverts escape; escape inverts unescape where it accepted the text.
    auto s = fdp.ConsumeRemainingBytesAsString();
    bool has_nul = s.find('\0') != std::string::npos;
    auto back = unescape_name(escape_name(s));
    check(has_nul ? !back : back == s, "unescape_name(escape_name(s)) != s");
    if (auto u = unescape_name(s); u && s.find_first_of("\n\r") == std::string::npos)
      check(escape_name(*u) == s, "escape_name(unescape_name(s)) != s");
    return 0;
  }

  // Writer -> parser: 1..4 entries written as one list in one format or mixed.
  std::vector<checksum_entry> written;
  std::string list;
  auto count = fdp.ConsumeIntegralInRange<int>(1, 4);
  for (int i = 0; i < count; ++i) {
    std::string hex;
    for (std::size_t k = 0; k < alg.hex_len; ++k)
      hex += "0123456789abcdefABCDEF"[fdp.ConsumeIntegralInRange<int>(0, 21)];
    auto name = fdp.ConsumeRandomLengthString(64);
    // File names hold no NUL byte and are never empty.
    if (name.empty() || name.find('\0') != std::string::npos)
      name = "f";
    list += fdp.ConsumeBool() ? tagged_line(alg.tag, hex, name) : sum_line(hex, name);
    written.push_back({lower(hex), name});
  }
  checksum_list_parser parser{alg.hex_len, alg.tag};
  auto lines = lines_of(list);
  check(lines.size() == written.size(), "a written name broke a line");
  for (std::size_t i = 0; i < lines.size(); ++i) {
    checksum_entry e;
    check(parser.parse(lines[i], e) == checksum_list_parser::kind::entry,
          "a written line does not parse");
    check(e.name == written[i].name, "name does not round-trip");
    check(e.hex == written[i].hex, "digest does not round-trip");
  }
  return 0;
}
