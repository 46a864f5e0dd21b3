#include "io/src/digest.hpp"

#include "io/src/sigbus_guard.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <xxhash.h>
#if defined(__x86_64__)
// XXH3's updates use AVX2 or AVX-512 where the CPU has them only through libxxhash's dispatch
// entry points, which this header substitutes; the plain ones use SSE2 only.
#include <xxh_x86dispatch.h>
#endif

namespace actorio::detail {

namespace {

/// Python hashlib spellings that OpenSSL does not know itself.
constexpr std::array<std::pair<std::string_view, std::string_view>, 10> python_aliases{{
  {"blake2b", "BLAKE2B-512"},
  {"blake2s", "BLAKE2S-256"},
  {"sha3_224", "SHA3-224"},
  {"sha3_256", "SHA3-256"},
  {"sha3_384", "SHA3-384"},
  {"sha3_512", "SHA3-512"},
  {"shake_128", "SHAKE128"},
  {"shake_256", "SHAKE256"},
  {"sha512_224", "SHA512-224"},
  {"sha512_256", "SHA512-256"},
}};

/// A digest as `openssl dgst` names it. OpenSSL's own primary names ("SHA2-256") differ from the
/// option names users know, so name() reports these instead.
struct known_digest {
  std::string_view name;
  /// Output bytes for XOFs; 0 for fixed-size digests.
  std::size_t xof_len;
};

// SHAKE lengths are pinned rather than taken from EVP_MD_get_size because OpenSSL 3.4 stopped
// giving XOFs a default length, and checksums must not change with the library version.
constexpr std::array<known_digest, 22> known_digests{{
  {"md5", 0},        {"sha1", 0},       {"sha224", 0},     {"sha256", 0},    {"sha384", 0},
  {"sha512", 0},     {"sha512-224", 0}, {"sha512-256", 0}, {"sha3-224", 0},  {"sha3-256", 0},
  {"sha3-384", 0},   {"sha3-512", 0},   {"shake128", 16},  {"shake256", 32}, {"blake2b512", 0},
  {"blake2s256", 0}, {"sm3", 0},        {"ripemd160", 0},  {"md4", 0},       {"mdc2", 0},
  {"whirlpool", 0},  {"md5-sha1", 0},
}};

enum class kind { evp, xxh64, xxh3, xxh128 };

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return out;
}

std::string to_hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(size * 2, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 0x0f];
  }
  return out;
}

failure unknown_algorithm(std::string_view name) {
  return failure{EINVAL, "checksum", "", "unknown digest algorithm '" + std::string(name) + "'"};
}

} // namespace

struct hasher::state {
  kind type = kind::evp;
  EVP_MD* md = nullptr;
  EVP_MD_CTX* ctx = nullptr;
  std::size_t xof_len = 0;
  XXH64_state_t* x64 = nullptr;
  XXH3_state_t* x3 = nullptr;
  /// Set once finish_hex has run; OpenSSL contexts cannot be finalized twice.
  bool finished = false;
  /// Sticky library error from update, reported by finish_hex as an empty string.
  bool broken = false;
  std::string hex;

  state() = default;
  state(const state&) = delete;
  state& operator=(const state&) = delete;
  ~state() {
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
    XXH64_freeState(x64);
    XXH3_freeState(x3);
  }
};

hasher::hasher(std::unique_ptr<state> st, std::string name) noexcept
  : state_(std::move(st))
  , name_(std::move(name)) {
  // nop
}

hasher::hasher(hasher&&) noexcept = default;
hasher& hasher::operator=(hasher&&) noexcept = default;
hasher::~hasher() = default;

result<hasher> hasher::make(std::string_view name) {
  auto key = lower(name);
  auto st = std::make_unique<state>();
  if (key == "xxh64" || key == "xxh3" || key == "xxh128") {
    // XXH3_createState returns the 64-byte aligned storage XXH3 needs; a plain member would not be.
    if (key == "xxh64") {
      st->type = kind::xxh64;
      st->x64 = XXH64_createState();
      if (st->x64 == nullptr || XXH64_reset(st->x64, 0) != XXH_OK)
        return failure{ENOMEM, "checksum", "", "cannot set up " + key};
    } else {
      st->x3 = XXH3_createState();
      XXH_errorcode rc = XXH_ERROR;
      if (key == "xxh3") {
        st->type = kind::xxh3;
        rc = st->x3 != nullptr ? XXH3_64bits_reset(st->x3) : XXH_ERROR;
      } else {
        st->type = kind::xxh128;
        rc = st->x3 != nullptr ? XXH3_128bits_reset(st->x3) : XXH_ERROR;
      }
      if (rc != XXH_OK)
        return failure{ENOMEM, "checksum", "", "cannot set up " + key};
    }
    return hasher{std::move(st), std::move(key)};
  }
  std::string fetch_name = key;
  for (auto& [alias, target] : python_aliases)
    if (key == alias)
      fetch_name = target;
  // "-fips" drops a "fips=yes" default query, like Python's usedforsecurity=False: these digests
  // only detect corruption, so non-approved algorithms such as md5 remain usable.
  st->md = EVP_MD_fetch(nullptr, fetch_name.c_str(), "-fips");
  if (st->md == nullptr) {
    // A failed fetch leaves entries on this thread's OpenSSL error queue; unrelated later calls
    // would otherwise report them as their own.
    ERR_clear_error();
    return unknown_algorithm(name);
  }
  std::string canonical;
  for (auto& known : known_digests) {
    if (EVP_MD_is_a(st->md, std::string(known.name).c_str())) {
      canonical = known.name;
      st->xof_len = known.xof_len;
      break;
    }
  }
  if (canonical.empty())
    canonical = lower(EVP_MD_get0_name(st->md));
  if ((EVP_MD_get_flags(st->md) & EVP_MD_FLAG_XOF) != 0 && st->xof_len == 0) {
    // An XOF outside our table has no length we could promise to keep stable.
    auto size = EVP_MD_get_size(st->md);
    if (size <= 0)
      return unknown_algorithm(name);
    st->xof_len = static_cast<std::size_t>(size);
  }
  st->ctx = EVP_MD_CTX_new();
  if (st->ctx == nullptr || EVP_DigestInit_ex2(st->ctx, st->md, nullptr) != 1) {
    ERR_clear_error();
    // Fetchable but unusable, e.g. a provider that only advertises the name.
    return unknown_algorithm(name);
  }
  return hasher{std::move(st), std::move(canonical)};
}

void hasher::update(const void* data, std::size_t size) {
  auto& st = *state_;
  if (st.finished || st.broken || size == 0)
    return;
  switch (st.type) {
  case kind::evp:
    if (EVP_DigestUpdate(st.ctx, data, size) != 1) {
      ERR_clear_error();
      st.broken = true;
    }
    break;
  case kind::xxh64:
    st.broken = XXH64_update(st.x64, data, size) != XXH_OK;
    break;
  case kind::xxh3:
    st.broken = XXH3_64bits_update(st.x3, data, size) != XXH_OK;
    break;
  case kind::xxh128:
    st.broken = XXH3_128bits_update(st.x3, data, size) != XXH_OK;
    break;
  }
}

std::string hasher::finish_hex() {
  auto& st = *state_;
  if (st.finished || st.broken)
    return st.hex;
  st.finished = true;
  switch (st.type) {
  case kind::evp: {
    if (st.xof_len > 0) {
      std::string raw(st.xof_len, '\0');
      auto* out = reinterpret_cast<unsigned char*>(raw.data());
      if (EVP_DigestFinalXOF(st.ctx, out, raw.size()) != 1) {
        ERR_clear_error();
        break;
      }
      st.hex = to_hex(out, raw.size());
    } else {
      std::array<unsigned char, EVP_MAX_MD_SIZE> out;
      unsigned int len = 0;
      if (EVP_DigestFinal_ex(st.ctx, out.data(), &len) != 1) {
        ERR_clear_error();
        break;
      }
      st.hex = to_hex(out.data(), len);
    }
    break;
  }
  case kind::xxh64: {
    // xxhsum prints the canonical (big-endian) byte order, not the host's.
    XXH64_canonical_t c;
    XXH64_canonicalFromHash(&c, XXH64_digest(st.x64));
    st.hex = to_hex(c.digest, sizeof(c.digest));
    break;
  }
  case kind::xxh3: {
    XXH64_canonical_t c;
    XXH64_canonicalFromHash(&c, XXH3_64bits_digest(st.x3));
    st.hex = to_hex(c.digest, sizeof(c.digest));
    break;
  }
  case kind::xxh128: {
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(st.x3));
    st.hex = to_hex(c.digest, sizeof(c.digest));
    break;
  }
  }
  return st.hex;
}

bool hasher::reset() {
  auto& st = *state_;
  st.finished = false;
  st.broken = false;
  st.hex.clear();
  switch (st.type) {
  case kind::evp:
    if (EVP_DigestInit_ex2(st.ctx, st.md, nullptr) == 1)
      return true;
    ERR_clear_error();
    return false;
  case kind::xxh64:
    return XXH64_reset(st.x64, 0) == XXH_OK;
  case kind::xxh3:
    return XXH3_64bits_reset(st.x3) == XXH_OK;
  case kind::xxh128:
    return XXH3_128bits_reset(st.x3) == XXH_OK;
  }
  return false;
}

const std::string& hasher::name() const noexcept {
  return name_;
}

std::size_t hasher::prefetch_piece() const noexcept {
  return state_->type == kind::evp ? std::size_t{4} << 10 : 0;
}

namespace {

/// Bytes hashed between checks for a cancel; also the progress step.
constexpr std::size_t digest_step = std::size_t{1} << 20;
/// Regular files this large are hashed through a map, window by window: the kernel's copy into a
/// buffer costs about a tenth of sha256's time (a third of xxh3's), page faults on a map less.
/// Smaller files cost less to copy than to map.
constexpr std::uint64_t digest_map_threshold = std::uint64_t{1} << 20;
constexpr std::size_t digest_window = std::size_t{8} << 20;

failure shrank(const std::string& path, std::uint64_t at, std::uint64_t expected) {
  return failure{EIO, "checksum", path,
                 "file shrank while being read (ends at byte " + std::to_string(at) + " of " +
                   std::to_string(expected) + ")"};
}

/// Feeds [data, data + size) of a map to `h`, a prefetch_piece at a time when it has one, asking
/// for each next piece's cache lines before hashing the current one.
void update_prefetching(hasher& h, const unsigned char* data, std::size_t size) {
  const auto piece = h.prefetch_piece();
  if (piece == 0) {
    h.update(data, size);
    return;
  }
  for (std::size_t done = 0; done < size;) {
    auto n = std::min(piece, size - done);
    // Only lines inside [data, data + size): the next step's are asked for by that step.
    auto ahead = std::min(piece, size - done - n);
    for (std::size_t line = 0; line < ahead; line += 64)
      __builtin_prefetch(data + done + n + line);
    h.update(data + done, n);
    done += n;
  }
}

/// Hashes [*offset, size) through windows of a shared read-only map, each access under the
/// SIGBUS guard, advancing *offset. Returns a failure for a truncation (the guard's fault) or a
/// cancel, std::nullopt when done or when the file cannot be mapped (the caller's pread loop
/// carries on from *offset).
std::optional<failure> digest_mapped(hasher& h, int fd, std::uint64_t size, std::uint64_t* offset,
                                     const std::string& path, work_control* control) {
  install_sigbus_handler();
  while (*offset < size) {
    auto length = static_cast<std::size_t>(std::min<std::uint64_t>(digest_window, size - *offset));
    // MAP_POPULATE maps the window's cached pages in one call instead of a fault per 64 KiB.
    void* base = ::mmap(nullptr, length, PROT_READ, MAP_SHARED | MAP_POPULATE, fd,
                        static_cast<off_t>(*offset));
    if (base == MAP_FAILED)
      return std::nullopt;
    std::optional<failure> fault;
    for (std::size_t done = 0; done < length;) {
      if (control && control->cancelled()) {
        fault = work_control::cancelled_failure("checksum", path);
        break;
      }
      auto n = std::min(digest_step, length - done);
      const auto* at = static_cast<const unsigned char*>(base) + done;
      if (!guarded(base, length, [&h, at, n] { update_prefetching(h, at, n); })) {
        fault = shrank(path, *offset + done, size);
        break;
      }
      done += n;
      if (control)
        control->add_bytes(n);
    }
    ::munmap(base, length);
    if (fault)
      return fault;
    *offset += length;
  }
  return std::nullopt;
}

result<std::string> digest_with(hasher& h, int fd, const std::string& path, work_control* control) {
  // Advisory only: it fails harmlessly on pipes and some filesystems.
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  struct stat st {};
  bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  auto size = regular ? static_cast<std::uint64_t>(st.st_size) : 0;
  if (control)
    control->add_total(size);
  std::uint64_t offset = 0;
  if (size >= digest_map_threshold)
    if (auto fault = digest_mapped(h, fd, size, &offset, path, control))
      return std::move(*fault);
  // The rest (all of a small file or a pipe, what a file grew by since the fstat) by pread. One
  // buffer per thread: a bulk checksum of thousands of small files reuses it instead of
  // allocating 1 MiB per file.
  thread_local auto buf = std::make_unique_for_overwrite<unsigned char[]>(digest_step);
  // A pipe, socket or terminal (a FIFO, `<(cmd)`, /dev/stdin) cannot pread: it is read from where
  // it stands to EOF, as sha256sum does.
  bool sequential = false;
  for (;;) {
    if (control && control->cancelled())
      return work_control::cancelled_failure("checksum", path);
    auto n = sequential ? ::read(fd, buf.get(), digest_step)
                        : ::pread(fd, buf.get(), digest_step, static_cast<off_t>(offset));
    if (n < 0) {
      int err = errno;
      if (err == EINTR)
        continue;
      if (err == ESPIPE && !sequential && offset == 0) {
        sequential = true;
        continue;
      }
      return failure{err, "checksum", path, ""};
    }
    if (n == 0)
      break;
    h.update(buf.get(), static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
    if (control)
      control->add_bytes(static_cast<std::uint64_t>(n));
  }
  if (offset < size)
    return shrank(path, offset, size);
  auto hex = h.finish_hex();
  if (hex.empty())
    return failure{EIO, "checksum", path, h.name() + " digest computation failed"};
  return hex;
}

/// The calling thread's hasher for `algorithm`, ready for a new message. Kept per thread so that
/// a bulk checksum of thousands of small files fetches the digest and allocates its context once
/// per worker rather than once per file. An unknown algorithm fails labelled with `path`.
result<hasher*> hasher_for(std::string_view algorithm, const std::string& path) {
  struct cache {
    std::string algorithm;
    std::optional<hasher> h;
  };
  thread_local cache cached;
  if (cached.h && cached.algorithm == algorithm && cached.h->reset())
    return &*cached.h;
  cached.h.reset();
  auto h = hasher::make(algorithm);
  if (!h) {
    auto why = std::move(h).error();
    why.path = path;
    return why;
  }
  cached.algorithm = algorithm;
  cached.h.emplace(std::move(h).value());
  return &*cached.h;
}

} // namespace

result<std::string> digest_fd(int fd, std::string_view algorithm, const std::string& path,
                              work_control* control) {
  auto h = hasher_for(algorithm, path);
  if (!h)
    return std::move(h).error();
  return digest_with(**h, fd, path, control);
}

result<std::string> digest_file(const std::string& path, std::string_view algorithm,
                                work_control* control, const file_opener& opener) {
  // Check the name before touching the filesystem so a typo is reported as such even for a
  // missing file.
  auto h = hasher_for(algorithm, path);
  if (!h)
    return std::move(h).error();
  auto fd = opener.open(path, O_RDONLY, 0, "checksum");
  if (!fd)
    return std::move(fd).error();
  // Nothing was written, so the close at the end cannot lose data worth reporting.
  return digest_with(**h, fd->get(), path, control);
}

void initialize_digests() noexcept {
  OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, nullptr);
}

} // namespace actorio::detail
