#include "actorio/result.hpp"

#include <system_error>

namespace actorio {

std::string to_string(const failure& x) {
  // generic_category().message is strerror without its thread-safety problems.
  auto text = std::generic_category().message(x.code);
  std::string out = x.op;
  if (!x.path.empty()) {
    out += ' ';
    out += x.path;
  }
  out += ": ";
  if (x.detail.empty())
    return out + text;
  out += x.detail;
  out += " (";
  out += text;
  out += ')';
  return out;
}

} // namespace actorio
