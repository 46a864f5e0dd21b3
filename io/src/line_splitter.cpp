#include "io/src/line_splitter.hpp"

#include <algorithm>

namespace actorio::detail {

std::pair<std::size_t, std::int64_t> unit_prefix(std::string_view s, std::int64_t n, bool text) {
  if (!text) {
    auto len = static_cast<std::size_t>(std::min<std::int64_t>(n, std::int64_t(s.size())));
    return {len, std::int64_t(len)};
  }
  std::int64_t count = 0;
  std::size_t i = 0;
  // The buffer holds whole characters only, so counting lead bytes counts characters.
  for (; i < s.size(); ++i) {
    if (!is_continuation(s[i])) {
      if (count == n)
        break;
      ++count;
    }
  }
  return {i, count};
}

std::int64_t count_units(std::string_view s, bool text) {
  return unit_prefix(s, std::int64_t(s.size()), text).second;
}

std::optional<std::size_t> line_end(std::string_view view, std::int64_t limit, bool text,
                                    bool eof) {
  auto nl = view.find('\n');
  if (limit >= 0) {
    auto [len, count] = unit_prefix(view, limit, text);
    if (nl != std::string_view::npos && nl < len)
      return nl + 1;
    if (count == limit || eof)
      return len;
    return std::nullopt;
  }
  if (nl != std::string_view::npos)
    return nl + 1;
  if (eof)
    return view.size();
  return std::nullopt;
}

std::optional<std::size_t> lines_end(std::string_view view, std::int64_t hint, bool text,
                                     bool eof) {
  if (hint > 0) {
    std::size_t end = 0;
    std::int64_t total = 0;
    for (auto nl = view.find('\n'); nl != std::string_view::npos; nl = view.find('\n', end)) {
      total += count_units(view.substr(end, nl + 1 - end), text);
      end = nl + 1;
      if (total >= hint)
        return end;
    }
  }
  if (!eof)
    return std::nullopt;
  return view.size();
}

std::vector<std::string> split_lines(std::string_view view) {
  std::vector<std::string> lines;
  for (std::size_t pos = 0; pos < view.size();) {
    auto nl = view.find('\n', pos);
    auto stop = nl == std::string_view::npos ? view.size() : nl + 1;
    lines.emplace_back(view.substr(pos, stop - pos));
    pos = stop;
  }
  return lines;
}

} // namespace actorio::detail
