#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "actorio/result.hpp"
#include "io/src/path_sandbox.hpp"
#include "io/src/work_control.hpp"

namespace actorio::detail {

/// Incremental message digest by name. OpenSSL and xxHash stay behind a pimpl so that including
/// this header costs no more than <string>.
class hasher {
public:
  /// Accepts any digest name that OpenSSL 3's EVP_MD_fetch knows (sha256, SHA2-256, blake2b512,
  /// sha3-256, shake128, sm3, ...), case-insensitive; Python hashlib spellings as aliases
  /// (blake2b, blake2s, sha3_256, shake_128, sha512_256, ...); and the non-cryptographic
  /// "xxh64", "xxh3" (XXH3 64-bit) and "xxh128" (XXH3 128-bit), seed 0. Digests are fetched
  /// with the property query "-fips" because they serve as checksums, not for security, so md5
  /// keeps working when the default provider runs in FIPS mode.
  /// Unknown name -> failure{EINVAL, "checksum", "", "unknown digest algorithm 'NAME'"}.
  static result<hasher> make(std::string_view name);

  hasher(hasher&&) noexcept;
  hasher& operator=(hasher&&) noexcept;
  ~hasher();

  /// Feeds `size` bytes. Precondition: `finish_hex()` not called yet.
  void update(const void* data, std::size_t size);

  /// Finishes and returns lower-case hex, byte-identical to the first field of
  /// `openssl dgst -r -NAME` or, for xxh*, of `xxhsum -H1/-H2/-H3` (canonical big-endian form).
  /// SHAKE outputs have OpenSSL's traditional default length: 16 bytes for shake128, 32 for
  /// shake256. Meant to be called once; later calls return the same text. Returns an empty
  /// string if the underlying library reports an error, which no supported digest does in practice.
  std::string finish_hex();

  /// Starts a new message with the same algorithm, reusing the fetched digest and its context.
  /// Returns false if the library refuses, which no supported digest does in practice.
  bool reset();

  /// The canonical name, as `openssl dgst` spells the option: "sha256", "blake2b512", "xxh128".
  const std::string& name() const noexcept;

  /// How many bytes of a map to feed at a time, announcing the next piece's cache lines before
  /// each, or 0 to feed it as it comes. 4 KiB for OpenSSL's digests, which wait on memory at
  /// each page of a map of the page cache, where the hardware prefetchers stop (16 × 64 MiB:
  /// sha256 336 against 453 ms, md5 706 against 758 ms); 0 for xxh64 and XXH3, which read
  /// memory at its pace by themselves (xxh128 took 95 ms in 32 KiB pieces against 77 ms).
  std::size_t prefetch_piece() const noexcept;

private:
  struct state;

  hasher(std::unique_ptr<state> st, std::string name) noexcept;

  std::unique_ptr<state> state_;
  std::string name_;
};

/// Digest of everything readable from `fd` from offset 0 to EOF; the file offset of `fd` is
/// untouched. A descriptor that cannot seek (a pipe, FIFO, socket or terminal) is read with
/// read(2) from where it stands to EOF instead, consuming it. A regular file of 1 MiB or more is
/// hashed through a read-only map in 8 MiB windows, each access under the SIGBUS guard
/// (io/src/sigbus_guard.hpp); anything else, and what a file grew by since it was measured, is
/// read with pread in 1 MiB steps through one per-thread buffer. Bytes appended while hashing are
/// included. A file that ends before the size measured at the start (truncated by another process)
/// fails with EIO, "file shrank while being read", never a digest of partial content. `path` only
/// labels failures: failure{errno, "checksum", path, ...}. With a `control`, each 1 MiB step counts
/// as progress and a cancel stops the work (ECANCELED).
result<std::string> digest_fd(int fd, std::string_view algorithm, const std::string& path,
                              work_control* control = nullptr);

/// Opens `path` read-only through `opener` and calls digest_fd. Open and read errors come back with
/// their errno and the path; a directory gives EISDIR. `control` as for digest_fd.
result<std::string> digest_file(const std::string& path, std::string_view algorithm,
                                work_control* control = nullptr, const file_opener& opener = {});

/// Initializes OpenSSL (loading its configuration) on the calling thread. The thread that
/// initializes OpenSSL keeps an error-queue allocation OpenSSL never frees; called from the thread
/// that creates a runtime, it stays with a long-lived thread instead of an io worker that ends.
void initialize_digests() noexcept;

} // namespace actorio::detail
