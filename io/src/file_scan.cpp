#include "file_scan.hpp"

#include "byte_search.hpp"
#include "pattern_set.hpp"
#include "sigbus_guard.hpp"
#include "unique_fd.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <new>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

namespace actorio::detail {

namespace {

constexpr std::uint64_t max_offset = static_cast<std::uint64_t>(std::numeric_limits<off_t>::max());

/// An open regular file and its size when opened.
struct regular_file {
  unique_fd fd;
  std::uint64_t size = 0;
};

/// Opens `path` with `flags` and checks that it is a regular file. The descriptor keeps the
/// O_NONBLOCK of the open unless `clear_nonblock`: regular files ignore it on Linux's local file
/// systems, and the reads below clear it if one answers EAGAIN, so a search of many small files
/// saves a syscall each.
result<regular_file> open_regular(const std::string& path, int flags, const char* op,
                                  const file_opener& opener, bool clear_nonblock = true) {
  // O_NONBLOCK so a FIFO is rejected below instead of blocking for its other end.
  auto opened = opener.open(path, flags | O_NONBLOCK, 0, op);
  if (!opened) {
    auto why = std::move(opened).error();
    // Opening a FIFO without reader or a socket for writing gives ENXIO; regular files never do.
    if (why.code == ENXIO)
      return failure{EINVAL, op, path, "not a regular file"};
    if (why.detail.empty())
      why.detail = "open";
    return why;
  }
  auto fd = std::move(opened).value();
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    int err = errno;
    return failure{err, op, path, "stat"};
  }
  if (S_ISDIR(st.st_mode))
    return failure{EISDIR, op, path, "is a directory"};
  if (!S_ISREG(st.st_mode))
    return failure{EINVAL, op, path, "not a regular file"};
  // Harmless on regular files today, but a later lease or lock must not turn I/O into EAGAIN.
  if (clear_nonblock && ::fcntl(fd.get(), F_SETFL, 0) != 0) {
    int err = errno;
    return failure{err, op, path, "clear O_NONBLOCK"};
  }
  return regular_file{std::move(fd), static_cast<std::uint64_t>(st.st_size)};
}

/// pread, retried on EINTR; a file that answers EAGAIN to its descriptor's O_NONBLOCK (a network
/// or FUSE file system may) has the flag cleared and is asked once more, now blocking.
ssize_t pread_blocking(int fd, char* out, std::size_t size, std::uint64_t offset) {
  auto n = retry_eintr([&] { return ::pread(fd, out, size, static_cast<off_t>(offset)); });
  if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
    return n;
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || (flags & O_NONBLOCK) == 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    // errno is fcntl's, or EAGAIN again when the flag was not the cause.
    if (flags >= 0 && (flags & O_NONBLOCK) == 0)
      errno = EAGAIN;
    return -1;
  }
  return retry_eintr([&] { return ::pread(fd, out, size, static_cast<off_t>(offset)); });
}

/// Reads up to `size` bytes at `offset`, fewer only at the end of the file. Returns the count.
result<std::size_t> read_full(int fd, char* out, std::size_t size, std::uint64_t offset,
                              const std::string& path, const char* op) {
  std::size_t done = 0;
  while (done < size) {
    auto n = pread_blocking(fd, out + done, size - done, offset + done);
    if (n < 0) {
      int err = errno;
      return failure{err, op, path, "read"};
    }
    if (n == 0)
      break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

constexpr std::size_t page_size = 4096;
constexpr std::size_t cache_line = 64;

/// The least window of a file read in one go, or of the bytes appended to a mapped one: a file
/// that grew since its stat is read on in windows of at least this size.
constexpr std::size_t small_read_floor = std::size_t{64} << 10;

/// The most a large file's read loop reads at a time: the search then reads the bytes from the
/// core's cache the copy left them in, not from memory.
constexpr std::size_t cached_read_window = std::size_t{256} << 10;

/// Reads of fewer bytes leave their pages to be faulted in one by one.
constexpr std::uint64_t populate_threshold = std::uint64_t{1} << 20;

/// The first address at or after `p` that lies one cache line past a page boundary. The
/// kernel's copy out of the page cache (whose pages are page-aligned) runs at about half speed
/// into a destination at the heap's 16-byte alignment, and slower still into a page-aligned one,
/// whose stores alias the loads 4 KiB apart.
char* align_for_copy(char* p) {
  auto at = reinterpret_cast<std::uintptr_t>(p);
  return p + ((page_size + cache_line - at % page_size) % page_size);
}

/// One pread (retried on EINTR) of up to `size` bytes at `offset`. Returns the count.
result<std::size_t> read_once(int fd, char* out, std::size_t size, std::uint64_t offset,
                              const std::string& path, const char* op) {
  auto n = pread_blocking(fd, out, size, offset);
  if (n < 0) {
    int err = errno;
    return failure{err, op, path, "read"};
  }
  return static_cast<std::size_t>(n);
}

/// One past the last non-zero byte of [data, data + size), or 0 if all are zero.
std::size_t end_of_data(const char* data, std::size_t size) {
  std::size_t end = size;
  // Word-wise over the bulk: all-zero files of gigabytes are the common case for compaction.
  while (end >= sizeof(std::uint64_t)) {
    std::uint64_t word;
    std::memcpy(&word, data + end - sizeof(word), sizeof(word));
    if (word != 0)
      break;
    end -= sizeof(word);
  }
  while (end > 0 && data[end - 1] == '\0')
    --end;
  return end;
}

/// What search_mapped leaves to the read loop.
struct mapped_outcome {
  /// The search is over (a hit at or past the end, or enough hits).
  bool done = false;
  /// Where the next hit may start: the read loop goes on from there.
  std::uint64_t resume = 0;
};

/// The hits of `patterns` that start where the longest pattern would still end within the file's
/// first `size` bytes (its size when opened), from `start`, mapping `chunk` bytes at a time: the
/// kernel's copy into a buffer costs about as much CPU as the search, and a few MiB mapped at a
/// time keep the resident set small. The caller's reads decide the starts left near the end, where
/// only a shorter pattern fits. A SIGBUS (the file cut short meanwhile) abandons the chunk: EIO.
/// Where mapping fails, the caller's reads go on from there.
result<mapped_outcome> search_mapped(int fd, std::uint64_t size, const pattern_set& patterns,
                                     const find_options& opts, std::vector<std::uint64_t>& hits,
                                     const std::string& path) {
  const std::uint64_t m = patterns.longest();
  const std::uint64_t limit = std::min(opts.end, size >= m ? size - m + 1 : 0);
  const std::uint64_t chunk = std::max<std::uint64_t>(opts.map_chunk, page_size);
  std::uint64_t next = opts.start;
  install_sigbus_handler();
  while (next < limit) {
    if (opts.control && opts.control->cancelled())
      return work_control::cancelled_failure("find", path);
    // Chunks end on multiples of `chunk` in the file, so that after the first they start on a
    // 2 MiB boundary and the kernel can map whole 2 MiB folios of the page cache with one entry.
    const std::uint64_t chunk_end = std::min(limit, next - next % chunk + chunk);
    const std::uint64_t map_begin = next - next % page_size;
    const auto length = static_cast<std::size_t>(chunk_end + m - 1 - map_begin);
    void* p = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(map_begin));
    // A file system that cannot map (ENODEV) or no address space left: the reads take over.
    if (p == MAP_FAILED)
      return mapped_outcome{false, next};
    (void)::madvise(p, length, MADV_SEQUENTIAL);
    const auto* data = static_cast<const char*>(p);
    bool done = false;
    int error = 0;
    std::size_t to = 0;
    // Only the search touches the map: a fault never lands inside push_back's allocation.
    bool ok = guarded(p, length, [&] {
      to = patterns.search(data, length, static_cast<std::size_t>(next - map_begin),
                           static_cast<std::size_t>(chunk_end - map_begin), opts.overlapping, error,
                           [&](std::size_t at, std::size_t) {
                             hits.push_back(map_begin + at);
                             done = opts.max_results != 0 && hits.size() >= opts.max_results;
                             return !done;
                           });
    });
    ::munmap(p, length);
    if (!ok) {
      patterns.after_abandoned_search();
      return failure{EIO, "find", path, "file cut short during the search"};
    }
    if (error != 0)
      return failure{error, "find", path, "search scratch"};
    if (opts.control)
      opts.control->add_bytes(chunk_end - next);
    if (done)
      return mapped_outcome{true, 0};
    next = std::max<std::uint64_t>(map_begin + to, chunk_end);
  }
  return mapped_outcome{next >= opts.end, std::max(next, limit)};
}

} // namespace

std::size_t map_chunk_for(std::size_t workers) {
  constexpr std::size_t all_workers = std::size_t{32} << 20;
  constexpr std::size_t least = std::size_t{4} << 20;
  // A multiple of 2 MiB, so that chunks start where the page cache's largest folios do.
  constexpr std::size_t folio = std::size_t{2} << 20;
  auto share = all_workers / std::max<std::size_t>(workers, 1);
  return std::clamp(share - share % folio, least, max_map_chunk);
}

bool self_overlapping(std::string_view pattern) {
  // The longest proper border is the last value of the KMP failure function.
  std::vector<std::size_t> border(pattern.size(), 0);
  for (std::size_t i = 1, k = 0; i < pattern.size(); ++i) {
    while (k > 0 && pattern[i] != pattern[k])
      k = border[k - 1];
    if (pattern[i] == pattern[k])
      ++k;
    border[i] = k;
  }
  return !pattern.empty() && border.back() > 0;
}

result<std::vector<std::uint64_t>> find_in_file(const std::string& path, std::string_view pattern,
                                                const find_options& opts, std::vector<char>& buffer,
                                                const file_opener& opener) {
  if (pattern.empty())
    return failure{EINVAL, "find", path, "empty pattern"};
  auto set = pattern_set::make({std::string{pattern}});
  if (!set) {
    auto why = std::move(set).error();
    why.path = path;
    return why;
  }
  return find_in_file(path, *set, opts, buffer, opener);
}

result<std::vector<std::uint64_t>> find_in_file(const std::string& path,
                                                const pattern_set& patterns,
                                                const find_options& opts, std::vector<char>& buffer,
                                                const file_opener& opener) {
  const auto start = opts.start;
  const auto end = opts.end;
  const auto max_results = opts.max_results;
  const bool overlapping = opts.overlapping;
  auto* control = opts.control;
  auto file = open_regular(path, O_RDONLY, "find", opener, false);
  if (!file)
    return std::move(file).error();
  int fd = file->fd.get();
  std::vector<std::uint64_t> hits;
  if (opts.on_open && !opts.on_open(file->size))
    return hits;
  // pread rejects offsets beyond off_t; no file reaches there, so there is nothing to find.
  if (start > max_offset || start >= end)
    return hits;
  // A zero window would never make progress.
  auto window = std::max<std::size_t>(opts.window, 1);
  const std::size_t carry = patterns.longest() - 1;
  // Small files (most of a source tree) cost one read: asking for one byte more than the size
  // tells the end apart from a file that grew since the stat, which takes the windowed path.
  const bool small = file->size <= start || file->size - start < window;
  std::uint64_t base = start;
  if (small) {
    // The buffer only grows to what the files read so far needed: zero-filling a whole window's
    // fresh pages for a 4 KiB file would cost more than reading it.
    window = static_cast<std::size_t>(std::max<std::uint64_t>(
      file->size > start ? file->size - start + 1 : 1, std::min(window, small_read_floor)));
  } else if (opts.map_chunk != 0 && patterns.survives_abandoned_searches()) {
    auto mapped = search_mapped(fd, file->size, patterns, opts, hits, path);
    if (!mapped)
      return std::move(mapped).error();
    if (mapped->done || mapped->resume >= end)
      return hits;
    base = mapped->resume;
    // What is left are the bytes appended since the open, if any.
    window = std::min(window, small_read_floor);
  } else {
    // Advisory only: it fails harmlessly on some filesystems.
    (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    // Each piece is searched while the copy just made of it is still in the core's cache.
    window = std::min(window, cached_read_window);
  }
  if (buffer.size() < window + carry + page_size)
    buffer.resize(window + carry + page_size);
  char* const data = align_for_copy(buffer.data());

  // data[0, have) holds the file bytes at [base, base + have); each round searches all of it.
  std::size_t have = 0;
  // Bytes at or past `end + carry` can only belong to hits starting at or past `end`.
  const std::uint64_t read_end = end > max_offset - carry ? max_offset : end + carry;
  for (;;) {
    if (control && control->cancelled())
      return work_control::cancelled_failure("find", path);
    auto want = static_cast<std::size_t>(
      std::min<std::uint64_t>(window, read_end > base + have ? read_end - base - have : 0));
    if (want == 0)
      break;
    bool whole = small && base == start && have == 0;
    if (whole)
      want = static_cast<std::size_t>(
        std::min<std::uint64_t>(want, (file->size > start ? file->size - start : 0) + 1));
    auto n = whole ? read_once(fd, data, want, base, path, "find")
                   : read_full(fd, data + have, want, base + have, path, "find");
    if (!n)
      return std::move(n).error();
    // An empty read ends the file, but the carried-over bytes (where a pattern shorter than the
    // longest may start) are still decided below. Those past `end` belong to the next
    // segment's count.
    if (control && base + have < end)
      control->add_bytes(std::min<std::uint64_t>(*n, end - (base + have)));
    have += *n;
    // Starts from have - carry on may begin a longer hit than the bytes read so far show; they
    // are decided with the next window, unless this is the last.
    const bool last = *n < want || base + have >= read_end;
    const std::size_t decide = last ? have : (have > carry ? have - carry : std::size_t{0});
    bool done = false;
    int error = 0;
    auto from =
      patterns.search(data, have, 0, decide, overlapping, error, [&](std::size_t at, std::size_t) {
        if (base + at >= end) {
          done = true;
          return false;
        }
        hits.push_back(base + at);
        done = max_results != 0 && hits.size() >= max_results;
        return !done;
      });
    if (error != 0)
      return failure{error, "find", path, "search scratch"};
    if (done)
      return hits;
    // Every start before `decide` has been tried; keep the rest (at most `carry` bytes) so a
    // hit straddling the windows is tried once the next window completes it. A non-overlapping
    // skip may already reach past some of those bytes.
    auto keep = std::min(have, std::max(from, decide));
    std::memmove(data, data + keep, have - keep);
    base += keep;
    have -= keep;
    if (*n < want)
      break;
  }
  return hits;
}

result<size_change> compact_file(const std::string& path, std::vector<char>& buffer,
                                 std::size_t window, work_control* control,
                                 const file_opener& opener) {
  // Read-write because ftruncate needs a descriptor open for writing.
  auto file = open_regular(path, O_RDWR, "compact", opener);
  if (!file)
    return std::move(file).error();
  int fd = file->fd.get();
  window = std::max<std::size_t>(window, 1);
  if (buffer.size() < window)
    buffer.resize(window);
  std::uint64_t end = file->size;
  if (control)
    control->add_total(end);
  while (end > 0) {
    if (control && control->cancelled())
      return work_control::cancelled_failure("compact", path);
    auto len = static_cast<std::size_t>(std::min<std::uint64_t>(end, window));
    auto off = end - len;
    auto n = read_full(fd, buffer.data(), len, off, path, "compact");
    if (!n)
      return std::move(n).error();
    // Truncating to a size computed from vanished bytes could cut off data written since.
    if (*n < len)
      return failure{EIO, "compact", path, "file shrank during the scan"};
    if (control)
      control->add_bytes(len);
    auto data_end = end_of_data(buffer.data(), len);
    if (data_end > 0) {
      end = off + data_end;
      // The bytes kept are done too, though never read.
      if (control)
        control->add_bytes(off);
      break;
    }
    end = off;
  }
  if (end != file->size &&
      retry_eintr([&] { return ::ftruncate(fd, static_cast<off_t>(end)); }) != 0) {
    int err = errno;
    return failure{err, "compact", path, "truncate"};
  }
  return size_change{file->size, end};
}

std::uint64_t range_length(std::int64_t offset, std::int64_t size, std::uint64_t file_size) {
  auto start = static_cast<std::uint64_t>(std::max<std::int64_t>(offset, 0));
  auto left = start < file_size ? file_size - start : 0;
  return size < 0 ? left : std::min(left, static_cast<std::uint64_t>(size));
}

namespace {

/// Faults in the pages under the pieces from piece `i` on, `populate_step` bytes at a time, ahead
/// of their reads: one madvise instead of a page fault per page (half the time of a large read
/// into fresh memory went to faults), in steps small enough that the pages the kernel has just
/// zeroed are still in the cache when the read's copy lands on them. Returns the first piece past
/// those populated. The pieces from `i` on must lie back to back in one buffer, as read_ranges
/// lays them out.
std::size_t populate_from(byte_pieces& pieces, std::size_t i) {
  constexpr std::uint64_t populate_step = std::uint64_t{256} << 10;
#ifdef MADV_POPULATE_WRITE
  constexpr int populate_write = MADV_POPULATE_WRITE;
#else
  constexpr int populate_write = 23; // Linux 5.14; older kernels say EINVAL and fault as before
#endif
  auto first = reinterpret_cast<std::uintptr_t>(pieces[i].data());
  std::uint64_t bytes = 0;
  auto j = i;
  for (; j < pieces.size() && bytes < populate_step; ++j)
    bytes += pieces[j].size();
  auto from = first & ~std::uintptr_t{page_size - 1};
  auto to = (first + bytes + page_size - 1) & ~std::uintptr_t{page_size - 1};
  // Advisory: where it fails, the reads fault the pages in themselves.
  (void)::madvise(reinterpret_cast<void*>(from), to - from, populate_write);
  return j;
}

} // namespace

result<byte_pieces> read_ranges(const std::string& path, std::span<const byte_range> ranges,
                                const file_opener& opener) {
  for (const auto& r : ranges) {
    if (r.offset < 0)
      return failure{EINVAL, "read", path, "negative offset " + std::to_string(r.offset)};
    if (r.size < -1)
      return failure{EINVAL, "read", path, "invalid size " + std::to_string(r.size)};
  }
  auto file = open_regular(path, O_RDONLY, "read", opener);
  if (!file)
    return std::move(file).error();
  // Clamped to the size so an oversized request cannot allocate beyond the file.
  std::vector<std::uint64_t> sizes;
  sizes.reserve(ranges.size());
  std::uint64_t total = 0;
  for (const auto& r : ranges) {
    sizes.push_back(range_length(r.offset, r.size, file->size));
    total += sizes.back();
  }
  byte_pieces out;
  try {
    out = byte_pieces{sizes};
  } catch (const std::bad_alloc&) {
    // An io worker must survive a request for more memory than there is.
    return failure{ENOMEM, "read", path, "ranges of " + std::to_string(total) + " bytes"};
  }
  bool populate = total >= populate_threshold;
  std::size_t populated = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto piece = out[i];
    if (piece.empty())
      continue;
    if (populate && i >= populated)
      populated = populate_from(out, i);
    auto n = read_full(file->fd.get(), piece.data(), piece.size(),
                       static_cast<std::uint64_t>(ranges[i].offset), path, "read");
    if (!n)
      return std::move(n).error();
    // The file shrank since it was opened: give what is there.
    out.truncate(i, *n);
  }
  return out;
}

result<std::uint64_t> write_pieces(const std::string& path, const std::vector<write_piece>& pieces,
                                   const file_opener& opener) {
  std::uint64_t end = 0;
  std::uint64_t total = 0;
  for (const auto& p : pieces) {
    if (p.offset < 0)
      return failure{EINVAL, "write", path, "negative offset " + std::to_string(p.offset)};
    auto offset = static_cast<std::uint64_t>(p.offset);
    if (p.data.size() > max_offset - offset)
      return failure{EFBIG, "write", path, "piece ends past the largest file offset"};
    end = std::max(end, offset + p.data.size());
    total += p.data.size();
  }
  auto file = open_regular(path, O_WRONLY, "write", opener);
  if (!file)
    return std::move(file).error();
  int fd = file->fd.get();
  // Never shrinks: bytes past the pieces are not ours to drop.
  if (end > file->size &&
      retry_eintr([&] { return ::ftruncate(fd, static_cast<off_t>(end)); }) != 0) {
    int err = errno;
    return failure{err, "write", path, "extend"};
  }
  for (const auto& p : pieces) {
    for (std::size_t done = 0; done < p.data.size();) {
      auto w = retry_eintr([&] {
        return ::pwrite(fd, p.data.data() + done, p.data.size() - done,
                        static_cast<off_t>(p.offset) + static_cast<off_t>(done));
      });
      if (w < 0) {
        int err = errno;
        return failure{err, "write", path, "write"};
      }
      if (w == 0)
        return failure{EIO, "write", path, "write made no progress"};
      done += static_cast<std::size_t>(w);
    }
  }
  return total;
}

result<std::uint64_t> resize_file(const std::string& path, std::int64_t new_size,
                                  const file_opener& opener) {
  if (new_size < 0)
    return failure{EINVAL, "resize", path, "negative size " + std::to_string(new_size)};
  auto file = open_regular(path, O_WRONLY, "resize", opener);
  if (!file)
    return std::move(file).error();
  if (retry_eintr([&] { return ::ftruncate(file->fd.get(), static_cast<off_t>(new_size)); }) != 0) {
    int err = errno;
    return failure{err, "resize", path, "truncate"};
  }
  return static_cast<std::uint64_t>(new_size);
}

} // namespace actorio::detail
