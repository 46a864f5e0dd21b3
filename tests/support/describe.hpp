#pragma once

#include <functional>
#include <string>

#include "actorio/io_error.hpp"
#include "actorio/result.hpp"

namespace actorio::test {

/// Every field of a failure, so a failed check shows exactly what came back.
inline std::string describe(const failure& x) {
  return "failure{code=" + std::to_string(x.code) + ", op=" + x.op + ", path=" + x.path +
         ", detail=" + x.detail + "}";
}

/// "ok" or the failure. Boost evaluates a check's message even when the check passes, so a message
/// must not call error() on a successful result.
template <class T>
std::string why(const result<T>& r) {
  return r.ok() ? std::string{"ok"} : describe(r.error());
}

/// The errno of the `io_error` that `f` throws (a facade call's `get()`), or 0 when it returns.
inline int errno_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const io_error& e) {
    return e.code().value();
  }
  return 0;
}

} // namespace actorio::test
