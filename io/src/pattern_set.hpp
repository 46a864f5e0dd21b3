#pragma once

#include "actorio/result.hpp"
#include "io/src/byte_search.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace actorio::detail {

/// How a pattern_set with several patterns searches.
enum class multi_engine {
  /// The pair filter when the patterns suit it (pair_filter::suits: up to 4, of two bytes or
  /// more, on a CPU with AVX2), else as `hyperscan`.
  automatic,
  /// Hyperscan when it was found at build time and the CPU runs it (SSSE3), else portable.
  hyperscan,
  /// Aho-Corasick, on any CPU.
  portable,
};

/// Byte strings searched for together, reporting hits as `grep -F -o -b` does: at each offset
/// the longest pattern that starts there. One pattern is searched with find_bytes; a few with
/// pair_filter; more with Hyperscan (block mode, one scan of each block reports every pattern's
/// ends) or an Aho-Corasick automaton. Immutable once made: one set may be used from many threads
/// at once.
class pattern_set {
public:
  /// EINVAL (op "find") for no pattern or an empty one; duplicates count once.
  static result<pattern_set> make(std::vector<std::string> patterns,
                                  multi_engine engine = multi_engine::automatic);

  /// The longest pattern's length.
  std::size_t longest() const noexcept {
    return longest_;
  }

  /// The one pattern when there is only one, else empty.
  std::string_view single() const noexcept {
    return patterns_.size() == 1 ? std::string_view{patterns_[0]} : std::string_view{};
  }

  /// Whether two hits (of one pattern or of two) can overlap. When they cannot, the hits of
  /// consecutive ranges of a file, searched separately, concatenate to the hits of the whole.
  /// For several patterns it is worked out for up to 16 of up to 256 bytes each; larger sets
  /// answer true.
  bool hits_can_overlap() const noexcept {
    return hits_can_overlap_;
  }

  /// "single", "pair-filter", "hyperscan" or "aho-corasick".
  const char* engine_name() const noexcept;

  /// Whether a search may be abandoned mid-scan (a SIGBUS caught by sigbus_guard while searching
  /// a map) and the next one still work, once after_abandoned_search has run on that thread.
  /// Hyperscan's scratch stays marked in use after such a scan, so it can be neither scanned with
  /// nor freed: it is set aside, and after 64 of those (process-wide) Hyperscan's sets answer
  /// false here, so that callers search copies, not maps, and memory stays bounded.
  bool survives_abandoned_searches() const noexcept;

  /// To be called on the thread whose search of this set was abandoned mid-scan, before it
  /// searches again: sets aside the Hyperscan scratch that scan left in use (the thread's next
  /// scan gets a new one). Nothing for the other engines.
  void after_abandoned_search() const;

  /// Calls `on_hit(start, length)` for the hits starting in [from, decide) of data[0, size), in
  /// ascending order of start, the longest pattern at each start; after a hit the next may start
  /// at start + 1 (`overlapping`) or at its end. `on_hit` returns false to stop. Returns where
  /// the next hit may start (at least `decide` unless stopped; may be past it after a long hit).
  /// Hits must end within `size`, so a caller with more data to come passes `decide` at most
  /// size - longest() + 1. Sets `error` to ENOMEM when Hyperscan cannot get its scratch, EIO when
  /// its scan fails.
  template <class OnHit>
  std::size_t search(const char* data, std::size_t size, std::size_t from, std::size_t decide,
                     bool overlapping, int& error, OnHit&& on_hit) const;

  pattern_set(pattern_set&&) noexcept;
  pattern_set& operator=(pattern_set&&) noexcept;
  ~pattern_set();

private:
  struct engine;
  pattern_set() = default;

  /// The longest pattern length per start in [begin, end) of data[0, size), for search(): fills
  /// `lengths` (index: start - begin; 0 = no hit) and lists the starts with a hit in `starts`.
  /// Returns 0 or an errno value.
  bool uses_hyperscan() const noexcept;
  int block(const char* data, std::size_t size, std::size_t begin, std::size_t end,
            std::vector<std::uint32_t>& lengths, std::vector<std::uint32_t>& starts) const;

  std::vector<std::string> patterns_;
  std::size_t longest_ = 0;
  bool hits_can_overlap_ = false;
  std::unique_ptr<engine> engine_;
};

/// Per-thread working memory of pattern_set::search.
struct pattern_scratch {
  std::vector<std::uint32_t> lengths;
  std::vector<std::uint32_t> starts;
};
pattern_scratch& thread_pattern_scratch();

template <class OnHit>
std::size_t pattern_set::search(const char* data, std::size_t size, std::size_t from,
                                std::size_t decide, bool overlapping, int& error,
                                OnHit&& on_hit) const {
  if (patterns_.size() == 1) {
    const auto& needle = patterns_[0];
    while (from < decide && from + needle.size() <= size) {
      auto* hit = find_bytes(data + from, size - from, needle);
      if (hit == nullptr)
        return std::max(from, decide);
      auto at = static_cast<std::size_t>(hit - data);
      if (at >= decide)
        return std::max(from, decide);
      from = at + (overlapping ? 1 : needle.size());
      if (!on_hit(at, needle.size()))
        return from;
    }
    return std::max(from, decide);
  }
  // Blocks bound the per-start table; each block is scanned with the longest pattern's length
  // minus one bytes past its end so that every hit starting in it is seen whole.
  const std::size_t block_size = std::max<std::size_t>(std::size_t{1} << 18, 2 * longest_);
  auto& scratch = thread_pattern_scratch();
  while (from < decide) {
    auto end = std::min(decide, from + block_size);
    error = block(data, size, from, end, scratch.lengths, scratch.starts);
    if (error != 0)
      return from;
    std::sort(scratch.starts.begin(), scratch.starts.end());
    auto begin = from;
    for (auto offset : scratch.starts) {
      auto at = begin + offset;
      if (at < from)
        continue;
      auto length = scratch.lengths[offset];
      from = at + (overlapping ? 1 : length);
      if (!on_hit(at, std::size_t{length}))
        return from;
    }
    from = std::max(from, end);
  }
  return from;
}

} // namespace actorio::detail
