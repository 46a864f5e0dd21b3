// Checks the find engine against a naive search over every position: find_bytes
// (io/src/byte_search.hpp) from every start offset, pair_filter with the needle cut into up to
// four patterns, and find_in_file (io/src/file_scan.hpp) on an in-memory file (memfd) with tiny
// windows, so hits straddle window boundaries, under every combination of start, end,
// max_results and overlapping.

#include "io/src/byte_search.hpp"
#include "io/src/file_scan.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

using actorio::detail::find_bytes;
using actorio::detail::find_in_file;
using actorio::detail::find_options;
using actorio::detail::pair_filter;
using actorio::detail::self_overlapping;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "find_fuzzer: %s\n", what);
    std::abort();
  }
}

std::size_t naive_first(std::string_view hay, std::string_view needle) {
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (hay.compare(i, needle.size(), needle) == 0)
      return i;
  return hay.size();
}

std::vector<std::uint64_t> naive_all(std::string_view hay, std::string_view needle,
                                     const find_options& o) {
  std::vector<std::uint64_t> hits;
  for (std::uint64_t p = o.start;
       p < o.end && p <= hay.size() && hay.size() - p >= needle.size();) {
    if (hay.compare(p, needle.size(), needle) != 0) {
      ++p;
      continue;
    }
    hits.push_back(p);
    if (o.max_results != 0 && hits.size() >= o.max_results)
      break;
    p += o.overlapping ? 1 : needle.size();
  }
  return hits;
}

/// Whether two occurrences can overlap: some shift 1..m-1 maps the needle onto itself.
bool naive_self_overlapping(std::string_view needle) {
  for (std::size_t shift = 1; shift < needle.size(); ++shift)
    if (needle.substr(shift) == needle.substr(0, needle.size() - shift))
      return true;
  return false;
}

/// pair_filter against every start of every pattern, with the needle cut into 1 to 4 patterns of
/// two bytes or more (as its length says) and bounds from the needle's bytes.
void check_pair_filter(std::string_view hay, std::string_view needle) {
  auto count = 1 + needle.size() % pair_filter::max_patterns;
  auto piece = needle.size() / count;
  if (piece < 2)
    return;
  std::vector<std::string> patterns;
  for (std::size_t k = 0; k < count; ++k)
    patterns.emplace_back(needle.substr(k * piece, k + 1 == count ? needle.npos : piece));
  if (!pair_filter::suits(patterns))
    return;
  auto from = static_cast<unsigned char>(needle[0]) % (hay.size() + 1);
  auto cut = std::min<std::size_t>(hay.size(), static_cast<unsigned char>(needle.back()) % 3);
  auto to = std::max(from, hay.size() - cut);
  std::vector<std::pair<std::size_t, std::size_t>> seen, expected;
  pair_filter{patterns}.scan(
    hay.data(), hay.size(), from, to,
    [&](std::size_t end, std::size_t length) { seen.emplace_back(end, length); });
  for (auto at = from; at < to; ++at)
    for (const auto& p : patterns)
      if (hay.substr(at, p.size()) == p)
        expected.emplace_back(at + p.size(), p.size());
  check(seen == expected, "pair_filter differs from the naive search");
}

/// The in-memory file find_in_file reads, by its /proc path.
struct memory_file {
  int fd = ::memfd_create("find_fuzzer", MFD_CLOEXEC);
  std::string path = "/proc/self/fd/" + std::to_string(fd);

  void assign(std::string_view bytes) const {
    check(::ftruncate(fd, 0) == 0, "ftruncate");
    check(::pwrite(fd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()),
          "pwrite");
  }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const memory_file file;
  FuzzedDataProvider fdp{data, size};
  // A small alphabet makes hits, and near-hits that differ in the middle, common.
  auto alphabet = fdp.ConsumeIntegralInRange<int>(0, 3);
  auto needle = fdp.ConsumeRandomLengthString(24);
  find_options o;
  // Offsets near the top of the range check that the carry arithmetic cannot overflow.
  auto offset = [&](std::uint64_t small) {
    switch (fdp.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      return ~std::uint64_t{0} - fdp.ConsumeIntegralInRange<std::uint64_t>(0, 30);
    case 1:
      return std::uint64_t{INT64_MAX} - fdp.ConsumeIntegralInRange<std::uint64_t>(0, 30);
    default:
      return fdp.ConsumeIntegralInRange<std::uint64_t>(0, small);
    }
  };
  o.start = offset(80);
  o.end = offset(400);
  o.max_results = fdp.ConsumeIntegralInRange<std::uint64_t>(0, 4);
  o.overlapping = fdp.ConsumeBool();
  o.window = fdp.ConsumeIntegralInRange<std::size_t>(1, 48);
  auto split = fdp.ConsumeIntegralInRange<std::uint64_t>(0, 400);
  auto hay = fdp.ConsumeRemainingBytesAsString();
  if (alphabet != 0) {
    for (auto& c : needle)
      c = static_cast<char>('a' + static_cast<unsigned char>(c) % (alphabet + 1));
    for (auto& c : hay)
      c = static_cast<char>('a' + static_cast<unsigned char>(c) % (alphabet + 1));
  }

  // find_bytes from every start offset (quadratic, so long haystacks are sampled).
  auto stride = std::max<std::size_t>(1, hay.size() / 128);
  for (std::size_t from = 0; from <= hay.size(); from += stride) {
    std::string_view rest{hay.data() + from, hay.size() - from};
    auto* hit = find_bytes(rest.data(), rest.size(), needle);
    auto at = hit == nullptr ? rest.size() : static_cast<std::size_t>(hit - rest.data());
    if (needle.empty())
      check(hit == rest.data(), "an empty needle must match at the start");
    else
      check(at == naive_first(rest, needle), "find_bytes differs from the naive search");
  }

  check_pair_filter(hay, needle);

  file.assign(hay);
  // Reused, as an io worker does: stale bytes from the last input must not matter.
  static std::vector<char> buffer;
  auto hits = find_in_file(file.path, needle, o, buffer);
  if (needle.empty()) {
    check(!hits && hits.error().code == EINVAL, "an empty pattern must give EINVAL");
    return 0;
  }
  check(hits.ok(), "find_in_file failed on a memory file");
  check(*hits == naive_all(hay, needle, o), "find_in_file differs from the naive search");

  // Bulk finds split a file into ranges searched separately; without self-overlap the hits of
  // [start, split) and [split, end) add up to those of [start, end).
  check(self_overlapping(needle) == naive_self_overlapping(needle), "self_overlapping");
  if (!self_overlapping(needle) && o.max_results == 0 && o.start <= split && split <= o.end) {
    auto left = o;
    left.end = split;
    auto right = o;
    right.start = split;
    auto a = find_in_file(file.path, needle, left, buffer);
    auto b = find_in_file(file.path, needle, right, buffer);
    check(a.ok() && b.ok(), "find_in_file failed on a range");
    a->insert(a->end(), b->begin(), b->end());
    check(*a == *hits, "hits of two ranges do not add up to the hits of the whole");
  }
  return 0;
}
