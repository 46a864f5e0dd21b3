#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "actorio/result.hpp"
#include "io/src/path_sandbox.hpp"
#include "io/src/unique_fd.hpp"

namespace actorio::detail {

/// A file written under no name in its destination's directory, which gets the destination's name
/// in one step once complete (`commit`), or vanishes (`discard`, the destructor, or the process
/// ending). Made with O_TMPFILE, so a process killed mid-write leaves nothing behind; where the
/// file system lacks O_TMPFILE, a ".<name>.actorio-XXXXXX" temporary is used instead and unlinked
/// on discard (a killed process then leaves that name, as `copy_file` would).
///
/// Failures are failure{errno, op, dst, detail}. Writes may come from several threads at once
/// (pwrite); commit and discard must not race other calls.
class staged_file {
public:
  /// Stages a new file for `dst`, whose directory is reached through `opener` (a sandbox keeps it
  /// beneath its root). EISDIR for a last component that is empty, "." or ".."; the errors of
  /// resolving the directory and creating the file (ENOENT, ENOTDIR, EACCES, ENOSPC, ...).
  static result<staged_file> create(const std::string& dst, const file_opener& opener,
                                    mode_t mode = 0644);

  staged_file(staged_file&&) noexcept = default;
  staged_file& operator=(staged_file&&) noexcept;
  staged_file(const staged_file&) = delete;
  staged_file& operator=(const staged_file&) = delete;
  ~staged_file();

  /// Writes all of `data` at `offset` (>= 0; a gap stays a hole); returns its size.
  result<std::uint64_t> write(std::int64_t offset, std::span<const char> data) const;

  /// The digest of what was written so far (see digest_fd).
  result<std::string> digest(std::string_view algorithm) const;

  /// Gives the file the destination's name, replacing what was there atomically. With `flush`,
  /// fsyncs the file first and the directory after, so that the new file survives a crash. The
  /// staged file is gone afterwards whatever the outcome.
  status commit(bool flush);

  /// Drops the staged file; idempotent.
  void discard() noexcept;

  const std::string& destination() const noexcept {
    return dst_;
  }

private:
  staged_file() = default;

  unique_fd dir_;
  unique_fd fd_;
  /// The destination's last component, in `dir_`.
  std::string name_;
  /// The destination as given, for failures.
  std::string dst_;
  /// The fallback temporary's name in `dir_`; empty for an O_TMPFILE file.
  std::string temp_;
};

} // namespace actorio::detail
