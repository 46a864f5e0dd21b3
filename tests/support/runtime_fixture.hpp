#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <future>
#include <span>
#include <string>

#include <boost/test/unit_test.hpp>

#include "actorio/actorio.hpp"
#include "support/temp_dir.hpp"

namespace actorio::test {

/// A temp directory and a runtime of its own with a short timeout, so a lost reply fails the
/// test instead of hanging it.
struct runtime_fixture {
  temp_dir dir;
  runtime rt{make_config()};
  mmap_manager mgr = rt.manager();

  static runtime_config make_config() {
    runtime_config cfg;
    cfg.request_timeout = std::chrono::seconds(20);
    return cfg;
  }

  std::string path(const std::string& leaf) const {
    return (dir / leaf).string();
  }
};

/// The io_error a future (or operation) fails with; fails the test if it succeeds or fails
/// otherwise.
template <class Future>
io_error error_of(Future f) {
  try {
    f.get();
  } catch (const io_error& e) {
    return e;
  } catch (const std::exception& e) {
    BOOST_FAIL("expected io_error, got: " << e.what());
  }
  BOOST_FAIL("expected an error, the call succeeded");
  throw std::logic_error("unreachable");
}

/// A byte buffer as text, for comparisons.
inline std::string text(std::span<const char> b) {
  return std::string(b.begin(), b.end());
}

} // namespace actorio::test
