#include "io/src/pattern_set.hpp"

#include "io/src/file_scan.hpp"

#include <atomic>
#include <cerrno>
#include <limits>
#include <mutex>
#include <utility>
#include <variant>

#if defined(ACTORIO_HAVE_HYPERSCAN)
#include <hs/hs.h>
#endif

namespace actorio::detail {

namespace {

/// An Aho-Corasick automaton with sparse transitions (memory linear in the patterns' total
/// length, whatever a -f file holds). Each state knows the longest pattern ending there and the
/// nearest state on its failure chain that ends a pattern, so every pattern ending at a position
/// is listed by walking those links.
class aho_corasick {
public:
  explicit aho_corasick(const std::vector<std::string>& patterns) {
    nodes_.emplace_back();
    for (const auto& p : patterns) {
      std::uint32_t s = 0;
      for (unsigned char c : p) {
        auto next = child(s, c);
        if (next == none) {
          next = static_cast<std::uint32_t>(nodes_.size());
          nodes_[s].edges.emplace_back(c, next);
          nodes_.emplace_back();
          nodes_.back().depth = nodes_[s].depth + 1;
        }
        s = next;
      }
      nodes_[s].ends = static_cast<std::uint32_t>(p.size());
    }
    // Breadth-first: a state's failure link points to a shallower state, already linked.
    std::vector<std::uint32_t> queue;
    for (auto [c, s] : nodes_[0].edges) {
      root_[c] = s;
      queue.push_back(s);
    }
    for (std::size_t k = 0; k < queue.size(); ++k) {
      auto s = queue[k];
      auto f = nodes_[s].fail;
      nodes_[s].output = nodes_[f].ends != 0 ? f : nodes_[f].output;
      for (auto [c, t] : nodes_[s].edges) {
        nodes_[t].fail = step(f, c);
        queue.push_back(t);
      }
    }
  }

  /// Calls on_end(end, length) for every pattern occurrence in data[0, size), end exclusive.
  template <class OnEnd>
  void scan(const unsigned char* data, std::size_t size, OnEnd&& on_end) const {
    std::uint32_t s = 0;
    for (std::size_t i = 0; i < size; ++i) {
      s = step(s, data[i]);
      if (s == 0)
        continue;
      for (auto t = nodes_[s].ends != 0 ? s : nodes_[s].output; t != 0; t = nodes_[t].output)
        on_end(i + 1, nodes_[t].ends);
    }
  }

private:
  static constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();

  struct node {
    std::vector<std::pair<unsigned char, std::uint32_t>> edges;
    std::uint32_t fail = 0;
    /// The nearest proper suffix state that ends a pattern; 0 = none.
    std::uint32_t output = 0;
    /// The length of the pattern ending here; 0 = none.
    std::uint32_t ends = 0;
    std::uint32_t depth = 0;
  };

  std::uint32_t child(std::uint32_t s, unsigned char c) const {
    for (auto [e, t] : nodes_[s].edges)
      if (e == c)
        return t;
    return none;
  }

  std::uint32_t step(std::uint32_t s, unsigned char c) const {
    for (;;) {
      if (s == 0)
        return root_[c];
      auto t = child(s, c);
      if (t != none)
        return t;
      s = nodes_[s].fail;
    }
  }

  std::vector<node> nodes_;
  /// The root's transitions as a table: most steps of a sparse search start there.
  std::uint32_t root_[256] = {};
};

#if defined(ACTORIO_HAVE_HYPERSCAN)
struct hyperscan_database {
  hs_database_t* db = nullptr;
  std::vector<std::uint32_t> lengths;
  hyperscan_database() = default;
  hyperscan_database(hyperscan_database&& other) noexcept
    : db(std::exchange(other.db, nullptr))
    , lengths(std::move(other.lengths)) {}
  hyperscan_database& operator=(hyperscan_database&&) = delete;
  ~hyperscan_database() {
    if (db != nullptr)
      hs_free_database(db);
  }
};

/// One scratch per thread, grown to fit each database it scans with.
struct hyperscan_scratch {
  hs_scratch_t* scratch = nullptr;
  ~hyperscan_scratch() {
    if (scratch != nullptr)
      hs_free_scratch(scratch);
  }
};

thread_local hyperscan_scratch this_thread_scratch;

/// Scratches of scans a SIGBUS abandoned. Hyperscan keeps such a scratch marked in use, so it can
/// be neither scanned with nor freed (hs_free_scratch refuses it): it is kept here, still
/// reachable, and its thread gets a new one. After `abandoned_limit` of them, Hyperscan's sets
/// search copies only (survives_abandoned_searches), so however often files are cut under
/// searches, what is kept stays bounded.
struct abandoned_scratches {
  static constexpr std::size_t abandoned_limit = 64;
  std::mutex lock;
  std::vector<hs_scratch_t*> kept;
  std::atomic<std::size_t> count{0};
};

abandoned_scratches& abandoned() {
  // Never destroyed: what it keeps stays reachable until the process ends.
  static auto* all = new abandoned_scratches;
  return *all;
}

#endif

/// Whether two occurrences, of one pattern or of two, can share a byte: a pattern overlapping
/// itself, one pattern inside another, or a proper suffix of one that begins another. The answer
/// only lets a large file be searched in parallel segments, so a set too large to check every
/// pair cheaply is taken to overlap.
bool occurrences_can_overlap(const std::vector<std::string>& patterns) {
  if (std::any_of(patterns.begin(), patterns.end(),
                  [](const std::string& p) { return self_overlapping(p); }))
    return true;
  if (patterns.size() == 1)
    return false;
  constexpr std::size_t most_patterns = 16;
  constexpr std::size_t longest_checked = 256;
  if (patterns.size() > most_patterns ||
      std::any_of(patterns.begin(), patterns.end(),
                  [](const std::string& p) { return p.size() > longest_checked; }))
    return true;
  for (const auto& p : patterns)
    for (const auto& q : patterns) {
      if (&p == &q)
        continue;
      if (p.find(q) != std::string::npos)
        return true;
      for (std::size_t k = 1; k < std::min(p.size(), q.size()); ++k)
        if (p.compare(p.size() - k, k, q, 0, k) == 0)
          return true;
    }
  return false;
}

} // namespace

struct pattern_set::engine {
#if defined(ACTORIO_HAVE_HYPERSCAN)
  std::variant<std::monostate, pair_filter, aho_corasick, hyperscan_database> impl;
#else
  std::variant<std::monostate, pair_filter, aho_corasick> impl;
#endif
};

pattern_set::pattern_set(pattern_set&&) noexcept = default;
pattern_set& pattern_set::operator=(pattern_set&&) noexcept = default;
pattern_set::~pattern_set() = default;

pattern_scratch& thread_pattern_scratch() {
  thread_local pattern_scratch scratch;
  return scratch;
}

bool pattern_set::survives_abandoned_searches() const noexcept {
#if defined(ACTORIO_HAVE_HYPERSCAN)
  return !uses_hyperscan() ||
         abandoned().count.load(std::memory_order_relaxed) < abandoned_scratches::abandoned_limit;
#else
  return true;
#endif
}

void pattern_set::after_abandoned_search() const {
#if defined(ACTORIO_HAVE_HYPERSCAN)
  if (!uses_hyperscan() || this_thread_scratch.scratch == nullptr)
    return;
  auto& all = abandoned();
  std::lock_guard<std::mutex> guard{all.lock};
  all.kept.push_back(std::exchange(this_thread_scratch.scratch, nullptr));
  all.count.fetch_add(1, std::memory_order_relaxed);
#endif
}

bool pattern_set::uses_hyperscan() const noexcept {
#if defined(ACTORIO_HAVE_HYPERSCAN)
  return engine_ && std::holds_alternative<hyperscan_database>(engine_->impl);
#else
  return false;
#endif
}

result<pattern_set> pattern_set::make(std::vector<std::string> patterns, multi_engine choice) {
  if (patterns.empty())
    return failure{EINVAL, "find", "", "no pattern"};
  for (const auto& p : patterns)
    if (p.empty())
      return failure{EINVAL, "find", "", "empty pattern"};
  std::sort(patterns.begin(), patterns.end());
  patterns.erase(std::unique(patterns.begin(), patterns.end()), patterns.end());
  pattern_set set;
  for (const auto& p : patterns)
    set.longest_ = std::max(set.longest_, p.size());
  if (set.longest_ > std::numeric_limits<std::uint32_t>::max() / 2)
    return failure{EINVAL, "find", "", "pattern too long"};
  set.patterns_ = std::move(patterns);
  set.hits_can_overlap_ = occurrences_can_overlap(set.patterns_);
  if (set.patterns_.size() == 1)
    return set;
  set.engine_ = std::make_unique<engine>();
  if (choice == multi_engine::automatic && pair_filter::suits(set.patterns_)) {
    set.engine_->impl.emplace<pair_filter>(set.patterns_);
    return set;
  }
#if defined(ACTORIO_HAVE_HYPERSCAN)
  if (choice != multi_engine::portable && hs_valid_platform() == HS_SUCCESS) {
    std::vector<const char*> texts;
    std::vector<std::size_t> lens;
    std::vector<unsigned> flags(set.patterns_.size(), 0);
    std::vector<unsigned> ids;
    hyperscan_database db;
    for (const auto& p : set.patterns_) {
      texts.push_back(p.data());
      lens.push_back(p.size());
      ids.push_back(static_cast<unsigned>(ids.size()));
      db.lengths.push_back(static_cast<std::uint32_t>(p.size()));
    }
    hs_compile_error_t* error = nullptr;
    // Ids give each hit's length, so no start-of-match tracking is needed: a literal's start
    // is its end minus its length.
    auto rc = hs_compile_lit_multi(texts.data(), flags.data(), ids.data(), lens.data(),
                                   static_cast<unsigned>(texts.size()), HS_MODE_BLOCK, nullptr,
                                   &db.db, &error);
    if (rc == HS_SUCCESS) {
      set.engine_->impl.emplace<hyperscan_database>(std::move(db));
      return set;
    }
    // Hyperscan refuses some sets (too large, out of memory): the portable engine takes them.
    hs_free_compile_error(error);
  }
#endif
  set.engine_->impl.emplace<aho_corasick>(set.patterns_);
  return set;
}

const char* pattern_set::engine_name() const noexcept {
  if (!engine_)
    return "single";
  if (std::holds_alternative<pair_filter>(engine_->impl))
    return "pair-filter";
#if defined(ACTORIO_HAVE_HYPERSCAN)
  if (std::holds_alternative<hyperscan_database>(engine_->impl))
    return "hyperscan";
#endif
  return "aho-corasick";
}

int pattern_set::block(const char* data, std::size_t size, std::size_t begin, std::size_t end,
                       std::vector<std::uint32_t>& lengths,
                       std::vector<std::uint32_t>& starts) const {
  for (auto s : starts)
    lengths[s] = 0;
  starts.clear();
  if (lengths.size() < end - begin)
    lengths.resize(end - begin, 0);
  auto scan_end = std::min(size, end + longest_ - 1);
  auto record = [&](std::size_t hit_end, std::uint32_t length) {
    // Ends are relative to `begin`; hits starting at or past `end` belong to the next block.
    if (hit_end < length || hit_end - length >= end - begin)
      return;
    auto s = static_cast<std::uint32_t>(hit_end - length);
    if (lengths[s] == 0)
      starts.push_back(s);
    lengths[s] = std::max(lengths[s], length);
  };
  return std::visit(
    [&](const auto& impl) {
      using impl_type = std::decay_t<decltype(impl)>;
      if constexpr (std::is_same_v<impl_type, std::monostate>) {
        return 0;
      } else if constexpr (std::is_same_v<impl_type, pair_filter>) {
        impl.scan(data + begin, scan_end - begin, 0, end - begin, record);
        return 0;
      } else if constexpr (std::is_same_v<impl_type, aho_corasick>) {
        impl.scan(reinterpret_cast<const unsigned char*>(data + begin), scan_end - begin, record);
        return 0;
      } else {
#if defined(ACTORIO_HAVE_HYPERSCAN)
        auto& scratch = this_thread_scratch;
        // Grows the thread's scratch only when this database needs more; cheap otherwise.
        if (hs_alloc_scratch(impl.db, &scratch.scratch) != HS_SUCCESS)
          return ENOMEM;
        struct context {
          const hyperscan_database* db;
          decltype(record)* on_end;
        } ctx{&impl, &record};
        auto rc = hs_scan(
          impl.db, data + begin, static_cast<unsigned>(scan_end - begin), 0, scratch.scratch,
          [](unsigned id, unsigned long long, unsigned long long to, unsigned, void* p) -> int {
            auto* c = static_cast<context*>(p);
            (*c->on_end)(static_cast<std::size_t>(to), c->db->lengths[id]);
            return 0;
          },
          &ctx);
        // The callback never stops the scan: any other status (a scratch still in use) would
        // mean hits went unreported.
        if (rc != HS_SUCCESS)
          return rc == HS_NOMEM ? ENOMEM : EIO;
#endif
        return 0;
      }
    },
    engine_->impl);
}

} // namespace actorio::detail
