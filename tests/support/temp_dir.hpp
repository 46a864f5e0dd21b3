#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace actorio::test {

/// A fresh directory from mkdtemp under `base` (the system's temp directory by default), removed
/// with its contents on destruction. ctest runs tests in parallel, so every test gets its own.
class temp_dir {
public:
  explicit temp_dir(const std::filesystem::path& base = std::filesystem::temp_directory_path()) {
    std::string tmpl = (base / "actorio-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      throw std::system_error(errno, std::generic_category(), "mkdtemp");
    path_ = tmpl;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  const std::filesystem::path& path() const noexcept {
    return path_;
  }
  std::filesystem::path operator/(const std::filesystem::path& leaf) const {
    return path_ / leaf;
  }

private:
  std::filesystem::path path_;
};

} // namespace actorio::test
