#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace actorio {

/// Why an operation failed. Crosses threads and the network by value, so it holds no pointers.
struct failure {
  /// The errno value (`std::generic_category()`); never 0 for a real failure.
  std::int32_t code = 0;
  /// The operation that failed, e.g. "open", "checksum", "copy".
  std::string op;
  /// The path the operation concerned; empty when there is none.
  std::string path;
  /// Extra text for the reader; empty means `strerror(code)` says it all.
  std::string detail;
};

/// Human-readable text: "op PATH: detail (strerror)".
std::string to_string(const failure& x);

/// A value or the failure that prevented it, like C++23's `std::expected<T, failure>`.
/// Used for per-item results of bulk calls and by the plain helpers below the actors.
template <class T>
class result {
public:
  result(T value)
    : data_(std::move(value)) {}
  result(failure why)
    : data_(std::move(why)) {}
  result()
    : data_(T{}) {}

  bool ok() const noexcept {
    return data_.index() == 0;
  }
  explicit operator bool() const noexcept {
    return ok();
  }

  /// The value; precondition: `ok()`.
  T& value() & {
    return std::get<0>(data_);
  }
  const T& value() const& {
    return std::get<0>(data_);
  }
  T&& value() && {
    return std::get<0>(std::move(data_));
  }
  T& operator*() & {
    return value();
  }
  const T& operator*() const& {
    return value();
  }
  T* operator->() {
    return &value();
  }
  const T* operator->() const {
    return &value();
  }

  /// The failure; precondition: `!ok()`.
  const failure& error() const& {
    return std::get<1>(data_);
  }
  failure&& error() && {
    return std::get<1>(std::move(data_));
  }

  /// Read-write access to the underlying variant, for serializers.
  std::variant<T, failure>& data() noexcept {
    return data_;
  }

private:
  std::variant<T, failure> data_;
};

/// Outcome of an operation that yields nothing but may fail.
using status = result<std::monostate>;

/// The successful `status`.
inline status ok_status() {
  return status{std::monostate{}};
}

} // namespace actorio
