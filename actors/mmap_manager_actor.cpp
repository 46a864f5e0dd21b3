#include "actors/mmap_manager_actor.hpp"

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <limits>
#include <numeric>
#include <optional>
#include <span>
#include <utility>

#include "actors/gather.hpp"
#include "actors/mapped_file_actor.hpp"
#include "actors/reply.hpp"
#include "io/src/digest.hpp"
#include "io/src/file_copy.hpp"
#include "io/src/file_scan.hpp"
#include "io/src/file_tree_walk.hpp"
#include "io/src/mapped_region.hpp"
#include "io/src/staged_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>

namespace actorio::detail {

namespace {

using self_pointer = mmap_manager_actor::stateful_pointer<mmap_manager_state>;

/// The registry key and helper argument for `path`: absolute and lexically normalized, or, in a
/// confined manager, normalized and relative to the root (the sandbox checks it again, and
/// resolves symlinks, when the file is opened).
result<std::string> resolve(const mmap_manager_state& st, const std::string& path, const char* op) {
  if (path.empty())
    return failure{ENOENT, op, path, "empty path"};
  // The kernel would silently open the path cut at the NUL.
  if (path.find('\0') != std::string::npos)
    return failure{EINVAL, op, path, "path contains a NUL byte"};
  bool absolute = path.starts_with('/');
  if (st.options.opener.sandbox()) {
    if (absolute)
      return failure{EACCES, op, path, "absolute path; the manager is confined to its root"};
    auto normal = lexically_normal(path);
    if (normal == ".." || normal.starts_with("../"))
      return failure{EACCES, op, path, "'..' leads outside the root"};
    return normal;
  }
  if (absolute)
    return lexically_normal(path);
  auto joined = st.options.root;
  if (!joined.empty() && !joined.ends_with('/'))
    joined += '/';
  return lexically_normal(joined + path);
}

/// EROFS for a change asked of a read-only manager.
failure read_only_failure(const char* op, const std::string& path) {
  return failure{EROFS, op, path, "the manager is read-only"};
}

/// Forgets one reference to `file`; the last one closes the map. `done` gets the close status.
template <class Done>
void release(self_pointer self, const caf::actor_addr& addr, Done done) {
  auto& st = self->state;
  auto k = st.keys.find(addr);
  if (k == st.keys.end()) {
    done(ok_status()); // Already closed: releasing is idempotent.
    return;
  }
  auto e = st.maps.find(k->second);
  if (--e->second.refs > 0) {
    done(ok_status());
    return;
  }
  auto file = e->second.file;
  auto path = e->first.path;
  st.maps.erase(e);
  st.keys.erase(k);
  self->request(file, caf::infinite, caf::close_atom_v)
    .then([done]() mutable { done(ok_status()); },
          [done, path](caf::error& err) mutable { done(to_failure(err, "close", path)); });
}

/// Hands `file` to `done` once the file is at least `init_size` bytes. The caller has already
/// counted the reference; it is released again if growing fails.
void hand_out(self_pointer self, mmap_manager_state::open_callback done,
              const mapped_file_internal& file, std::int64_t init_size, const std::string& path) {
  if (init_size <= 0) {
    done(mapped_file_actor{file});
    return;
  }
  self->request(file, caf::infinite, grow_atom_v, init_size)
    .then([done, file](std::uint64_t) { done(mapped_file_actor{file}); },
          [self, done, file, path](caf::error& err) {
            release(self, file.address(), [](status&&) {});
            done(to_failure(err, "open", path));
          });
}

/// Registers a freshly opened region under `key` and serves every open waiting for it.
void finish_open(self_pointer self, const map_key& key, result<std::shared_ptr<mapped_region>> r) {
  auto& st = self->state;
  auto node = st.opening.extract(key);
  auto waiters =
    node.empty() ? std::vector<mmap_manager_state::waiter>{} : std::move(node.mapped());
  if (!r) {
    for (auto& w : waiters)
      w.done(r.error());
    return;
  }
  auto file = self->spawn<mapped_file_class, caf::monitored>(
    std::move(r).value(), st.pool, st.options.default_digest, self->address());
  st.maps[key] = mmap_manager_state::entry{file, waiters.size(), ++st.open_counter};
  st.keys[file.address()] = key;
  for (auto& w : waiters)
    hand_out(self, std::move(w.done), file, w.init_size, key.path);
}

/// Opens `key` on a worker with `open_fn` (returning result<mapped_region>), or joins an open of
/// the same key that is under way.
template <class OpenFn>
void start_open(self_pointer self, const map_key& key, std::int64_t init_size, OpenFn open_fn,
                mmap_manager_state::open_callback done) {
  auto& waiters = self->state.opening[key];
  waiters.push_back({std::move(done), init_size});
  if (waiters.size() > 1)
    return;
  self->state.pool->run(
    self,
    [open_fn = std::move(open_fn)]() mutable -> result<std::shared_ptr<mapped_region>> {
      auto r = open_fn();
      if (!r)
        return std::move(r).error();
      return std::make_shared<mapped_region>(std::move(r).value());
    },
    [self, key](result<std::shared_ptr<mapped_region>>&& r) {
      finish_open(self, key, std::move(r));
    },
    false);
}

/// The one way a map is opened: validates the request, shares an open map or opens the file.
void open_map(self_pointer self, const std::string& path, open_mode mode, std::int64_t init_size,
              mmap_manager_state::open_callback done) {
  if (to_string(mode).empty()) {
    done(failure{EINVAL, "open", path, "unknown open mode"});
    return;
  }
  if (init_size < 0) {
    done(failure{EINVAL, "open", path, "negative init_size"});
    return;
  }
  if (self->state.options.read_only &&
      (mode == open_mode::create || mode == open_mode::create_exclusive)) {
    done(read_only_failure("open", path));
    return;
  }
  auto resolved = resolve(self->state, path, "open");
  if (!resolved) {
    done(resolved.error());
    return;
  }
  map_key key{*resolved, mode};
  auto& st = self->state;
  if (auto i = st.maps.find(key); i != st.maps.end()) {
    ++i->second.refs;
    hand_out(self, std::move(done), i->second.file, init_size, key.path);
    return;
  }
  bool minimize = st.options.minimize_writes;
  start_open(
    self, key, init_size,
    [key, m = mode, init_size, minimize, opener = st.options.opener,
     read_only = st.options.read_only]() -> result<mapped_region> {
      if (!read_only)
        return mapped_region::open(key.path, m, init_size, minimize, opener);
      // A read-only manager maps every file read-only; changes through the map give EROFS, and
      // so does an init_size that would grow the file.
      auto r = mapped_region::open(key.path, open_mode::read_only, 0, minimize, opener);
      if (!r)
        return r;
      r->refuse_writes_with_erofs();
      if (auto grown = r->grow(init_size); !grown)
        return std::move(grown).error();
      return r;
    },
    std::move(done));
}

/// Starts the bookkeeping of a bulk request: progress goes to the requester as it asked, and the
/// run can be cancelled by the requester (by request id) or by its going down (a lost caller).
/// Call it before make_response_promise, which takes the sender out of the current message.
std::shared_ptr<work_control> start_run(self_pointer self, std::size_t items,
                                        report_progress every) {
  auto requester = caf::actor_cast<caf::actor>(self->current_sender());
  auto request = self->current_message_id().integer_value() & caf::message_id::request_id_mask;
  work_control::reporter report;
  // Sent as the manager: a gate passes on only reports that come from its manager. Held weakly:
  // the report lives as long as the run, which must not keep the manager.
  if (requester && every.every_ms > 0)
    report = [manager = self->address(), requester, request](const progress& p) {
      caf::send_as(caf::actor_cast<caf::actor>(manager), requester, progress_atom_v, request, p);
    };
  auto control = std::make_shared<work_control>(items, std::chrono::milliseconds(every.every_ms),
                                                std::move(report));
  if (requester) {
    auto& st = self->state;
    // Monitored once: a long-lived requester (the facade's bridge) makes many requests.
    if (st.requesters.insert(requester.address()).second)
      self->monitor(requester);
    st.running.emplace(requester.address(), mmap_manager_state::run{request, control});
  }
  return control;
}

/// Ends the bookkeeping of `control`'s run; the requester gets a last progress report before the
/// reply.
void finish_run(self_pointer self, const std::shared_ptr<work_control>& control) {
  auto& running = self->state.running;
  for (auto i = running.begin(); i != running.end(); ++i) {
    if (i->second.control.lock() == control) {
      running.erase(i);
      break;
    }
  }
  control->report_now();
}

/// Cancels the runs requested by `requester`: the one with id `request`, or all of them.
void cancel_runs_of(self_pointer self, const caf::actor_addr& requester,
                    std::optional<std::uint64_t> request = std::nullopt) {
  auto [first, last] = self->state.running.equal_range(requester);
  for (auto i = first; i != last;) {
    if (request && i->second.request != *request) {
      ++i;
      continue;
    }
    if (auto control = i->second.control.lock())
      control->cancel();
    i = self->state.running.erase(i);
  }
}

/// Runs `work(i)` (returning result<T>) for each index in `indices` on the io workers and stores
/// the results into `g`. Indices go in batches, a few per worker, so thousands of small files
/// cost a few messages rather than one each, while the batches still spread over all workers.
template <class T, class Work>
void scatter(self_pointer self, const std::shared_ptr<gather<T>>& g,
             std::vector<std::size_t> indices, Work work) {
  if (indices.empty())
    return;
  auto workers = std::max<std::size_t>(self->state.pool->size(), 1);
  auto batch = std::clamp<std::size_t>(indices.size() / (workers * 4), 1, 64);
  for (std::size_t first = 0; first < indices.size(); first += batch) {
    std::vector<std::size_t> part(indices.begin() + first,
                                  indices.begin() + std::min(first + batch, indices.size()));
    self->state.pool->run(
      self,
      [part, work]() mutable {
        std::vector<result<T>> out;
        out.reserve(part.size());
        for (auto i : part)
          out.push_back(work(i));
        return result<std::vector<result<T>>>{std::move(out)};
      },
      [g, part](result<std::vector<result<T>>>&& r) {
        for (std::size_t k = 0; k < part.size(); ++k)
          g->set(part[k], r ? std::move(r->at(k)) : result<T>{r.error()});
      },
      false);
  }
}

/// The writable open map a mutating bulk item must go through (its actor owns the size it
/// maps), if any. A path mapped read-only only is refused: a change under that map would leave
/// it with a size that is no longer true.
result<std::optional<mapped_file_actor>> writer_for(const mmap_manager_state& st,
                                                    const std::string& path, const char* op) {
  for (auto mode : {open_mode::read_write, open_mode::create, open_mode::create_exclusive})
    if (auto i = st.maps.find(map_key{path, mode}); i != st.maps.end())
      return std::optional<mapped_file_actor>{i->second.file};
  if (st.maps.count(map_key{path, open_mode::read_only}) > 0)
    return failure{EBUSY, op, path, "mapped read-only; change it through a writable map"};
  return std::optional<mapped_file_actor>{};
}

/// A promise for a bulk reply, as a gather callback that also ends the run.
template <class T>
std::function<void(std::vector<result<T>>&&)>
reply_with(self_pointer self, std::shared_ptr<work_control> control,
           caf::typed_response_promise<std::vector<result<T>>> rp) {
  return [self, control, rp](std::vector<result<T>>&& all) mutable {
    finish_run(self, control);
    rp.deliver(std::move(all));
  };
}

/// Resolves every path through `path_of(i)`; failures land in `g` at once. Returns the indices
/// that resolved and the resolved paths (by index).
template <class T, class Path>
std::pair<std::vector<std::size_t>, std::vector<std::string>>
resolve_all(self_pointer self, const std::shared_ptr<gather<T>>& g, std::size_t n, Path path_of,
            const char* op) {
  std::vector<std::size_t> ok;
  std::vector<std::string> paths(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto p = resolve(self->state, path_of(i), op);
    if (!p) {
      g->set(i, p.error());
      continue;
    }
    paths[i] = std::move(*p);
    ok.push_back(i);
  }
  return {std::move(ok), std::move(paths)};
}

/// `raw(i, path, control)` for scatter, skipped with ECANCELED once the run is cancelled. The
/// paths are shared: scatter copies the work into every batch.
template <class T, class Raw>
auto guarded(std::shared_ptr<work_control> control, const char* op, std::vector<std::string> paths,
             Raw raw) {
  return [control, op, paths = std::make_shared<const std::vector<std::string>>(std::move(paths)),
          raw](std::size_t i) -> result<T> {
    const auto& path = (*paths)[i];
    if (control->cancelled())
      return work_control::cancelled_failure(op, path);
    return raw(i, path, control.get());
  };
}

/// A mutating bulk operation: items whose file is open as a writable map go to that map's actor
/// through `via_actor(i, actor, g)`; the others run on the workers through `raw(i, path,
/// control)`. `total_bytes` (if known before any work) starts the progress total.
template <class T, class Path, class Raw, class ViaActor>
caf::typed_response_promise<std::vector<result<T>>>
mutate_bulk(self_pointer self, std::size_t n, report_progress every, const char* op, Path path_of,
            std::uint64_t total_bytes, Raw raw, ViaActor via_actor) {
  auto control = start_run(self, n, every);
  control->add_total(total_bytes);
  auto rp = self->make_response_promise<std::vector<result<T>>>();
  auto g = make_gather<T>(n, reply_with<T>(self, control, rp), control);
  if (self->state.options.read_only) {
    for (std::size_t i = 0; i < n; ++i)
      g->set(i, read_only_failure(op, path_of(i)));
    return rp;
  }
  auto [resolved, paths] = resolve_all(self, g, n, path_of, op);
  std::vector<std::size_t> on_disk;
  for (auto i : resolved) {
    auto writer = writer_for(self->state, paths[i], op);
    if (!writer)
      g->set(i, writer.error());
    else if (*writer)
      via_actor(i, **writer, g);
    else
      on_disk.push_back(i);
  }
  scatter<T>(self, g, std::move(on_disk), guarded<T>(control, op, std::move(paths), raw));
  return rp;
}

/// A reading bulk operation: every item runs on the workers through `raw(i, path, control)`,
/// which adds each file's size to the progress total as it opens it.
template <class T, class Path, class Raw>
caf::typed_response_promise<std::vector<result<T>>> read_bulk(self_pointer self, std::size_t n,
                                                              report_progress every, const char* op,
                                                              Path path_of, Raw raw) {
  auto control = start_run(self, n, every);
  auto rp = self->make_response_promise<std::vector<result<T>>>();
  auto g = make_gather<T>(n, reply_with<T>(self, control, rp), control);
  auto [resolved, paths] = resolve_all(self, g, n, path_of, op);
  scatter<T>(self, g, std::move(resolved), guarded<T>(control, op, std::move(paths), raw));
  return rp;
}

/// Files searched as consecutive segments of this size, in parallel, when hits cannot overlap.
constexpr std::uint64_t find_segment = std::uint64_t{64} << 20;

using hits = std::vector<std::uint64_t>;

/// A segment of a large file searched on its own: item `item`'s bytes [begin, end).
struct find_segment_unit {
  std::size_t item;
  std::uint64_t begin;
  std::uint64_t end;
};

/// What find_bulk's first pass leaves of a file: its hits, or (`split_size` > 0) its size when
/// it is to be searched in segments.
struct find_first_pass {
  hits found;
  std::uint64_t split_size = 0;
};

/// Searches the large files the first pass left as segments in parallel, and joins each file's
/// hits in order into `g`.
void find_in_segments(self_pointer self, const std::shared_ptr<gather<hits>>& g,
                      std::shared_ptr<const std::vector<std::string>> paths,
                      std::shared_ptr<const pattern_set> needle, find_options base,
                      std::shared_ptr<work_control> control,
                      std::vector<find_segment_unit> found_units) {
  auto units = std::make_shared<const std::vector<find_segment_unit>>(std::move(found_units));
  auto parts =
    make_gather<hits>(units->size(), [g, units, base](std::vector<result<hits>>&& found) {
      for (std::size_t k = 0; k < units->size();) {
        auto item = (*units)[k].item;
        result<hits> joined = hits{};
        for (; k < units->size() && (*units)[k].item == item; ++k) {
          if (!joined)
            continue;
          if (!found[k])
            joined = std::move(found[k]).error();
          else
            joined->insert(joined->end(), found[k]->begin(), found[k]->end());
        }
        if (joined && base.max_results != 0 && joined->size() > base.max_results)
          joined->resize(base.max_results);
        g->set(item, std::move(joined));
      }
    });
  std::vector<std::size_t> order(units->size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  scatter<hits>(self, parts, std::move(order),
                [units, paths, needle, base, control,
                 opener = self->state.options.opener](std::size_t u) -> result<hits> {
                  const auto& part = (*units)[u];
                  const auto& path = (*paths)[part.item];
                  if (control->cancelled())
                    return work_control::cancelled_failure("find", path);
                  auto opts = base;
                  opts.start = part.begin;
                  opts.end = part.end;
                  opts.control = control.get();
                  thread_local std::vector<char> buffer;
                  return find_in_file(path, *needle, opts, buffer, opener);
                });
}

/// `find_in_files`: searches each file on the workers, sizing it in the same open (progress
/// totals grow as files start). A file too large for one worker is left unsearched by that first
/// pass and then searched as segments in parallel, whose hits are joined. Segments are only used
/// for patterns whose occurrences cannot overlap: then the hits of consecutive segments
/// concatenate to the hits of the whole file, with or without overlap.
caf::typed_response_promise<std::vector<result<hits>>>
find_bulk(self_pointer self, pattern_set patterns, std::vector<find_job> jobs, find_options base,
          report_progress every) {
  using unit = find_segment_unit;
  using first_pass = find_first_pass;
  auto needle = std::make_shared<const pattern_set>(std::move(patterns));
  auto all = std::make_shared<const std::vector<find_job>>(std::move(jobs));
  auto n = all->size();
  auto control = start_run(self, n, every);
  auto rp = self->make_response_promise<std::vector<result<hits>>>();
  auto g = make_gather<hits>(n, reply_with<hits>(self, control, rp), control);
  auto [resolved, resolved_paths] = resolve_all(
    self, g, n, [all](std::size_t i) { return (*all)[i].path; }, "find");
  auto paths = std::make_shared<const std::vector<std::string>>(std::move(resolved_paths));
  auto valid = std::make_shared<std::vector<std::size_t>>();
  for (auto i : resolved) {
    if ((*all)[i].start < 0)
      g->set(i, failure{EINVAL, "find", (*paths)[i], "negative start offset"});
    else
      valid->push_back(i);
  }
  bool splittable = !needle->hits_can_overlap();
  const auto& opener = self->state.options.opener;
  auto split = [self, g, paths, needle, base, control](std::vector<unit> units) {
    find_in_segments(self, g, paths, needle, base, control, std::move(units));
  };
  auto firsts = make_gather<first_pass>(
    valid->size(), [g, all, valid, split](std::vector<result<first_pass>>&& done) {
      std::vector<unit> units;
      for (std::size_t j = 0; j < valid->size(); ++j) {
        auto i = (*valid)[j];
        if (!done[j]) {
          g->set(i, std::move(done[j]).error());
          continue;
        }
        auto size = done[j]->split_size;
        if (size == 0) {
          g->set(i, std::move(done[j]->found));
          continue;
        }
        // The last segment is open-ended so bytes appended since the stat are searched too.
        auto start = static_cast<std::uint64_t>((*all)[i].start);
        auto last = std::numeric_limits<std::uint64_t>::max();
        for (auto b = start; b < size; b += find_segment)
          units.push_back(unit{i, b, size - b <= find_segment ? last : b + find_segment});
      }
      if (!units.empty())
        split(std::move(units));
    });
  std::vector<std::size_t> order(valid->size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  scatter<first_pass>(self, firsts, std::move(order),
                      [all, paths, valid, needle, base, control, splittable,
                       opener](std::size_t j) -> result<first_pass> {
                        auto i = (*valid)[j];
                        const auto& path = (*paths)[i];
                        if (control->cancelled())
                          return work_control::cancelled_failure("find", path);
                        auto start = static_cast<std::uint64_t>((*all)[i].start);
                        first_pass out;
                        auto opts = base;
                        opts.start = start;
                        opts.control = control.get();
                        opts.on_open = [&](std::uint64_t size) {
                          auto left = size > start ? size - start : 0;
                          control->add_total(left);
                          if (splittable && left > 2 * find_segment) {
                            out.split_size = size;
                            return false;
                          }
                          return true;
                        };
                        thread_local std::vector<char> buffer;
                        auto found = find_in_file(path, *needle, opts, buffer, opener);
                        if (!found)
                          return std::move(found).error();
                        out.found = std::move(*found);
                        return out;
                      });
  return rp;
}

/// `bulk_read`: an item of many ranges is read in parts (consecutive ranges, each part one job
/// with its own descriptor and its own buffer), so that one large item still keeps every worker
/// busy; the parts' pieces are joined in order by handing over their buffers. A part is at least
/// `min_part_ranges` long, so that the open and stat each part costs stay small against its reads.
caf::typed_response_promise<std::vector<result<byte_pieces>>>
read_bulk_ranges(self_pointer self, std::vector<read_job> jobs, report_progress every) {
  using pieces = byte_pieces;
  constexpr std::size_t min_part_ranges = 256;
  struct unit {
    std::size_t item;
    std::size_t first;
    std::size_t last;
  };
  auto all = std::make_shared<const std::vector<read_job>>(std::move(jobs));
  auto n = all->size();
  auto control = start_run(self, n, every);
  auto rp = self->make_response_promise<std::vector<result<pieces>>>();
  auto g = make_gather<pieces>(n, reply_with<pieces>(self, control, rp), control);
  auto [resolved, resolved_paths] = resolve_all(
    self, g, n, [all](std::size_t i) { return (*all)[i].path; }, "read");
  auto paths = std::make_shared<const std::vector<std::string>>(std::move(resolved_paths));
  auto units = std::make_shared<std::vector<unit>>();
  auto workers = std::max<std::size_t>(self->state.pool->size(), 1);
  for (auto i : resolved) {
    const auto& job = (*all)[i];
    auto count = job.ranges.size();
    auto part = std::max(min_part_ranges, (count + workers * 4 - 1) / (workers * 4));
    if (job.whole || count <= part) {
      units->push_back(unit{i, 0, count});
      continue;
    }
    for (std::size_t first = 0; first < count; first += part)
      units->push_back(unit{i, first, std::min(count, first + part)});
  }
  auto parts = make_gather<pieces>(units->size(), [g, units](std::vector<result<pieces>>&& read) {
    for (std::size_t k = 0; k < units->size();) {
      auto item = (*units)[k].item;
      result<pieces> joined = std::move(read[k]);
      for (++k; k < units->size() && (*units)[k].item == item; ++k) {
        if (!joined)
          continue;
        if (!read[k])
          joined = std::move(read[k]).error();
        else
          joined->append(std::move(*read[k]));
      }
      g->set(item, std::move(joined));
    }
  });
  auto work = [all, units, paths, control,
               opener = self->state.options.opener](std::size_t u) -> result<pieces> {
    const auto& part = (*units)[u];
    const auto& job = (*all)[part.item];
    const auto& path = (*paths)[part.item];
    if (control->cancelled())
      return work_control::cancelled_failure("read", path);
    static constexpr byte_range whole_file{0, -1};
    auto ranges =
      job.whole
        ? std::span<const byte_range>{&whole_file, 1}
        : std::span<const byte_range>{job.ranges}.subspan(part.first, part.last - part.first);
    auto r = read_ranges(path, ranges, opener);
    if (r) {
      // A range's length is only known once read (it may run to the end, or past it).
      control->add_total(r->total_bytes());
      control->add_bytes(r->total_bytes());
    }
    return r;
  };
  std::vector<std::size_t> order(units->size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  scatter<pieces>(self, parts, std::move(order), std::move(work));
  return rp;
}

/// Asks every open map for its info and calls `done(std::vector<map_info>)` with the answers;
/// a map that closes meanwhile is left out.
template <class Done>
void collect_infos(self_pointer self, Done done) {
  auto& maps = self->state.maps;
  auto g =
    make_gather<map_info>(maps.size(), [done](std::vector<result<map_info>>&& answers) mutable {
      std::vector<map_info> infos;
      for (auto& a : answers)
        if (a)
          infos.push_back(std::move(*a));
      done(std::move(infos));
    });
  std::size_t i = 0;
  for (auto& [key, e] : maps) {
    self->request(e.file, caf::infinite, info_atom_v)
      .then([g, i](map_info& info) { g->set(i, std::move(info)); },
            [g, i, path = key.path](caf::error& err) { g->set(i, to_failure(err, "info", path)); });
    ++i;
  }
}

/// Runs `then` (a commit or discard of the staged file `entry`) now, or once the writes to it that
/// are running end: staged_file's commit and discard must not race its writes, and a commit after
/// writes includes them, as their order of arrival says. Writes that come meanwhile are refused.
template <class Then>
void after_staged_writes(mmap_manager_state::staged_entry& entry, Then then) {
  if (entry.writes == 0)
    then();
  else
    entry.after_writes = std::move(then);
}

/// Removes the staged file `id` from the registry and returns it.
std::shared_ptr<staged_file> take_staged(mmap_manager_state& st, std::uint64_t id) {
  auto i = st.staged.find(id);
  auto file = std::move(i->second.file);
  st.staged.erase(i);
  return file;
}

// The handlers of the manager's interface, one per request; mmap_manager_impl lists them.

caf::result<mapped_file_actor> create_sparse(self_pointer self, const std::string& path,
                                             std::int64_t total_size, std::vector<chunk>& chunks) {
  if (total_size < 0)
    return make_error(failure{EINVAL, "create_sparse", path, "negative total_size"});
  for (auto& c : chunks)
    if (c.offset < 0)
      return make_error(failure{EINVAL, "create_sparse", path, "negative chunk offset"});
  if (self->state.options.read_only)
    return make_error(read_only_failure("create_sparse", path));
  auto resolved = resolve(self->state, path, "create_sparse");
  if (!resolved)
    return make_error(resolved.error());
  map_key key{*resolved, open_mode::create_exclusive};
  auto& st = self->state;
  if (st.maps.count(key) > 0 || st.opening.count(key) > 0)
    return make_error(failure{EEXIST, "create_sparse", path, "open as x+b"});
  bool minimize = st.options.minimize_writes;
  auto rp = self->make_response_promise<mapped_file_actor>();
  start_open(
    self, key, 0,
    [key, total_size, chunks = std::move(chunks), minimize, opener = st.options.opener]() {
      auto r =
        mapped_region::open(key.path, open_mode::create_exclusive, total_size, minimize, opener);
      if (!r)
        return r;
      // Only the pages a chunk touches get blocks; the rest of the file stays a hole.
      for (auto& c : chunks) {
        if (auto w = r->write(c.data.data(), c.data.size(), c.offset); !w) {
          r->close();
          opener.remove(key.path);
          return result<mapped_region>{std::move(w).error()};
        }
      }
      return r;
    },
    [rp](result<mapped_file_actor> r) mutable { deliver(rp, std::move(r)); });
  return rp;
}

caf::result<std::uint64_t> copy_one(self_pointer self, const std::string& src,
                                    const std::string& dst, actorio::copy_options opts) {
  if (self->state.options.read_only)
    return make_error(read_only_failure("copy", dst));
  auto s = resolve(self->state, src, "copy");
  if (!s)
    return make_error(s.error());
  auto d = resolve(self->state, dst, "copy");
  if (!d)
    return make_error(d.error());
  auto rp = self->make_response_promise<std::uint64_t>();
  self->state.pool->run(
    self,
    [s = *s, d = *d, opts, opener = self->state.options.opener] {
      return copy_file(s, d, detail::copy_options{opts, nullptr}, opener);
    },
    [rp](result<std::uint64_t>&& r) mutable { deliver(rp, std::move(r)); }, false);
  return rp;
}

caf::result<std::string> checksum_one(self_pointer self, const std::string& path,
                                      const std::string& algorithm) {
  auto p = resolve(self->state, path, "checksum");
  if (!p)
    return make_error(p.error());
  auto alg = algorithm.empty() ? self->state.options.default_digest : algorithm;
  auto rp = self->make_response_promise<std::string>();
  self->state.pool->run(
    self,
    [p = *p, alg, opener = self->state.options.opener] {
      return digest_file(p, alg, nullptr, opener);
    },
    [rp](result<std::string>&& r) mutable { deliver(rp, std::move(r)); }, false);
  return rp;
}

/// Every open map, each as a new reference.
std::vector<open_file> open_files(self_pointer self) {
  std::vector<open_file> out;
  for (auto& [key, e] : self->state.maps) {
    ++e.refs;
    out.push_back(open_file{key.path, key.mode, e.file});
  }
  return out;
}

/// Each open path with the mode it was opened in last.
std::map<std::string, open_mode> open_paths(self_pointer self) {
  std::map<std::string, std::pair<std::uint64_t, open_mode>> latest;
  for (auto& [key, e] : self->state.maps) {
    auto& slot = latest[key.path];
    if (e.opened_at >= slot.first)
      slot = {e.opened_at, key.mode};
  }
  std::map<std::string, open_mode> out;
  for (auto& [path, v] : latest)
    out.emplace(path, v.second);
  return out;
}

caf::result<std::uint64_t> approx_memory_usage(self_pointer self) {
  auto rp = self->make_response_promise<std::uint64_t>();
  collect_infos(self, [rp](std::vector<map_info>&& infos) mutable {
    std::uint64_t total = 0;
    for (auto& i : infos)
      total += i.size;
    rp.deliver(total);
  });
  return rp;
}

/// Writes one item through the writable map `file` that holds it: the map's actor applies the
/// chunks in order, and the item is done when all are.
void write_through_map(self_pointer self, const write_job& job,
                       const std::shared_ptr<gather<std::uint64_t>>& g, std::size_t i,
                       const mapped_file_actor& file) {
  const auto& chunks = job.chunks;
  auto item =
    make_gather<std::uint64_t>(chunks.size(), [g, i](std::vector<result<std::uint64_t>>&& written) {
      std::uint64_t total = 0;
      for (auto& w : written) {
        if (!w) {
          g->set(i, std::move(w));
          return;
        }
        total += *w;
      }
      g->set(i, total);
    });
  for (std::size_t k = 0; k < chunks.size(); ++k)
    self->request(file, caf::infinite, write_atom_v, chunks[k].data, chunks[k].offset)
      .then(
        [item, g, k](std::uint64_t n) {
          g->control->add_bytes(n);
          item->set(k, n);
        },
        [item, k, path = job.path](caf::error& err) {
          item->set(k, to_failure(err, "write", path));
        });
}

caf::typed_response_promise<std::vector<result<std::uint64_t>>>
bulk_write(self_pointer self, std::vector<write_job>& jobs, report_progress every) {
  auto all = std::make_shared<std::vector<write_job>>(std::move(jobs));
  std::uint64_t total = 0;
  for (const auto& job : *all)
    for (const auto& c : job.chunks)
      total += c.data.size();
  return mutate_bulk<std::uint64_t>(
    self, all->size(), every, "write", [all](std::size_t i) { return (*all)[i].path; }, total,
    [all, opener = self->state.options.opener](std::size_t i, const std::string& path,
                                               work_control* control) {
      std::vector<write_piece> pieces;
      for (const auto& c : (*all)[i].chunks)
        pieces.push_back(write_piece{c.offset, std::string_view{c.data.data(), c.data.size()}});
      auto r = write_pieces(path, pieces, opener);
      if (r)
        control->add_bytes(*r);
      return r;
    },
    [self, all](std::size_t i, const mapped_file_actor& file, auto g) {
      write_through_map(self, (*all)[i], g, i, file);
    });
}

caf::typed_response_promise<std::vector<result<std::uint64_t>>>
bulk_resize(self_pointer self, std::vector<resize_job>& jobs, report_progress every) {
  auto all = std::make_shared<std::vector<resize_job>>(std::move(jobs));
  return mutate_bulk<std::uint64_t>(
    self, all->size(), every, "resize", [all](std::size_t i) { return (*all)[i].path; }, 0,
    [all, opener = self->state.options.opener](std::size_t i, const std::string& path,
                                               work_control*) {
      return resize_file(path, (*all)[i].size, opener);
    },
    [self, all](std::size_t i, const mapped_file_actor& file, auto g) {
      self->request(file, caf::infinite, resize_atom_v, (*all)[i].size)
        .then([g, i](std::uint64_t n) { g->set(i, n); },
              [g, i, path = (*all)[i].path](caf::error& err) {
                g->set(i, to_failure(err, "resize", path));
              });
    });
}

caf::typed_response_promise<std::vector<result<size_change>>>
compact_files(self_pointer self, std::vector<std::string>& paths, report_progress every) {
  auto all = std::make_shared<std::vector<std::string>>(std::move(paths));
  return mutate_bulk<size_change>(
    self, all->size(), every, "compact", [all](std::size_t i) { return (*all)[i]; }, 0,
    [opener = self->state.options.opener](std::size_t, const std::string& path,
                                          work_control* control) {
      thread_local std::vector<char> buffer;
      return compact_file(path, buffer, scan_window, control, opener);
    },
    [self, all](std::size_t i, const mapped_file_actor& file, auto g) {
      auto fail = [g, i, path = (*all)[i]](caf::error& err) {
        g->set(i, to_failure(err, "compact", path));
      };
      self->request(file, caf::infinite, compact_atom_v)
        .then(
          [self, file, g, i, fail](std::uint64_t removed) {
            self->request(file, caf::infinite, size_atom_v)
              .then(
                [g, i, removed](std::uint64_t size) {
                  g->set(i, size_change{size + removed, size});
                },
                fail);
          },
          fail);
    });
}

caf::typed_response_promise<std::vector<result<std::uint64_t>>>
bulk_copy(self_pointer self, std::vector<copy_job>& jobs, actorio::copy_options opts,
          report_progress every) {
  auto all = std::make_shared<std::vector<copy_job>>(std::move(jobs));
  auto dsts = std::make_shared<std::vector<result<std::string>>>();
  for (const auto& job : *all)
    dsts->push_back(self->state.options.read_only ? read_only_failure("copy", job.dst)
                                                  : resolve(self->state, job.dst, "copy"));
  return read_bulk<std::uint64_t>(
    self, all->size(), every, "copy", [all](std::size_t i) { return (*all)[i].src; },
    [dsts, opts, opener = self->state.options.opener](
      std::size_t i, const std::string& src, work_control* control) -> result<std::uint64_t> {
      const auto& dst = (*dsts)[i];
      if (!dst)
        return dst.error();
      return copy_file(src, *dst, detail::copy_options{opts, control}, opener);
    });
}

caf::typed_response_promise<std::vector<result<std::string>>>
bulk_checksum(self_pointer self, std::vector<std::string>& paths, const std::string& algorithm,
              report_progress every) {
  auto all = std::make_shared<std::vector<std::string>>(std::move(paths));
  auto alg = algorithm.empty() ? self->state.options.default_digest : algorithm;
  return read_bulk<std::string>(
    self, all->size(), every, "checksum", [all](std::size_t i) { return (*all)[i]; },
    [alg, opener = self->state.options.opener](std::size_t, const std::string& path,
                                               work_control* control) {
      return digest_file(path, alg, control, opener);
    });
}

caf::result<std::vector<result<std::vector<std::uint64_t>>>>
find_in_files(self_pointer self, std::vector<std::string>& patterns, std::vector<find_job>& jobs,
              std::uint64_t max_per_file, bool overlapping, report_progress every) {
  auto set = pattern_set::make(std::move(patterns));
  if (!set) {
    auto why = std::move(set).error();
    why.op = "find_in_files";
    return make_error(std::move(why));
  }
  auto workers = self->state.pool->size();
  return find_bulk(self, std::move(*set), std::move(jobs),
                   find_options{.max_results = max_per_file,
                                .overlapping = overlapping,
                                .map_chunk = map_chunk_for(workers)},
                   every);
}

/// Opens every path as a map and advises the kernel to read it ahead.
caf::typed_response_promise<std::vector<result<mapped_file_actor>>>
prefetch_files(self_pointer self, const std::vector<std::string>& paths, std::int64_t init_size,
               report_progress every) {
  auto control = start_run(self, paths.size(), every);
  auto rp = self->make_response_promise<std::vector<result<mapped_file_actor>>>();
  auto g = make_gather<mapped_file_actor>(
    paths.size(),
    [self, control, rp, paths](std::vector<result<mapped_file_actor>>&& all) mutable {
      // A requester that is gone can never release the maps it was to receive.
      if (control->cancelled())
        for (std::size_t i = 0; i < all.size(); ++i)
          if (all[i]) {
            release(self, all[i]->address(), [](status&&) {});
            all[i] = work_control::cancelled_failure("prefetch_files", paths[i]);
          }
      finish_run(self, control);
      rp.deliver(std::move(all));
    },
    control);
  for (std::size_t i = 0; i < paths.size(); ++i)
    open_map(
      self, paths[i], open_mode::read_write, init_size, [self, g, i](result<mapped_file_actor> r) {
        if (!r) {
          g->set(i, std::move(r));
          return;
        }
        // The advice only starts read-ahead; the handle is the result either way.
        auto file = *r;
        self
          ->request(file, caf::infinite, madvise_atom_v, map_advice::willneed, std::int64_t{0},
                    std::int64_t{-1})
          .then([g, i, file] { g->set(i, file); }, [g, i, file](caf::error&) { g->set(i, file); });
      });
  return rp;
}

caf::result<walk_page> walk(self_pointer self, const std::string& path, const walk_options& opts,
                            const std::string& after, report_progress every) {
  auto p = resolve(self->state, path, "walk");
  if (!p)
    return make_error(p.error());
  auto control = start_run(self, 0, every);
  auto rp = self->make_response_promise<walk_page>();
  self->state.pool->run(
    self,
    [p = *p, path, opts, after, control, opener = self->state.options.opener] {
      return walk_tree(p, path, opts, after, opener, control.get());
    },
    [self, control, rp](result<walk_page>&& r) mutable {
      finish_run(self, control);
      deliver(rp, std::move(r));
    },
    false);
  return rp;
}

caf::result<std::uint64_t> stage(self_pointer self, const std::string& dst) {
  if (self->state.options.read_only)
    return make_error(read_only_failure("stage", dst));
  auto d = resolve(self->state, dst, "stage");
  if (!d)
    return make_error(d.error());
  auto rp = self->make_response_promise<std::uint64_t>();
  self->state.pool->run(
    self,
    [d = *d, opener = self->state.options.opener]() -> result<std::shared_ptr<staged_file>> {
      auto f = staged_file::create(d, opener);
      if (!f)
        return std::move(f).error();
      return std::make_shared<staged_file>(std::move(*f));
    },
    [self, rp, dst](result<std::shared_ptr<staged_file>>&& r) mutable {
      if (!r) {
        auto why = std::move(r).error();
        why.path = dst;
        rp.deliver(make_error(why));
        return;
      }
      auto id = ++self->state.staged_counter;
      self->state.staged[id].file = std::move(*r);
      rp.deliver(id);
    },
    false);
  return rp;
}

/// Runs the first queued write of staged file `id` on a worker; when it ends, the next one, or the
/// commit or discard that waited for the writes.
void run_staged_write(self_pointer self, std::uint64_t id) {
  auto& entry = self->state.staged.at(id);
  auto w = std::move(entry.queued.front());
  entry.queued.pop_front();
  self->state.pool->run(
    self,
    [file = entry.file, offset = w.offset, data = std::move(w.data)]() -> result<std::uint64_t> {
      std::uint64_t done = 0;
      for (auto piece : data) {
        auto n = file->write(offset + static_cast<std::int64_t>(done), piece);
        if (!n)
          return n;
        done += *n;
      }
      return done;
    },
    [self, rp = std::move(w.promise), id](result<std::uint64_t>&& r) mutable {
      deliver(rp, std::move(r));
      auto& entry = self->state.staged.at(id);
      --entry.writes;
      if (!entry.queued.empty())
        run_staged_write(self, id);
      else if (entry.after_writes)
        std::exchange(entry.after_writes, nullptr)();
    },
    false);
}

caf::result<std::uint64_t> write_staged(self_pointer self, std::uint64_t id, std::int64_t offset,
                                        byte_pieces& data) {
  auto i = self->state.staged.find(id);
  if (i == self->state.staged.end() || i->second.after_writes)
    return make_error(failure{EBADF, "write_staged", "", "no such staged file"});
  if (offset < 0)
    return make_error(
      failure{EINVAL, "write_staged", i->second.file->destination(), "negative offset"});
  auto rp = self->make_response_promise<std::uint64_t>();
  auto& entry = i->second;
  entry.queued.push_back({offset, std::move(data), rp});
  if (entry.writes++ == 0)
    run_staged_write(self, id);
  return rp;
}

/// Verifies (when `expected` is set) and commits a staged file; a mismatch discards it.
result<std::string> commit_verified(staged_file& file, const std::string& expected,
                                    const std::string& alg, bool flush) {
  std::string digest;
  if (!expected.empty()) {
    auto d = file.digest(alg);
    if (!d) {
      file.discard();
      return d;
    }
    if (*d != expected) {
      file.discard();
      return failure{EIO, "commit_staged", file.destination(),
                     "the copy's " + alg + " digest " + *d + " is not the source's " + expected};
    }
    digest = std::move(*d);
  }
  if (auto done = file.commit(flush); !done)
    return std::move(done).error();
  return digest;
}

caf::result<std::string> commit_staged(self_pointer self, std::uint64_t id,
                                       const std::string& expected, const std::string& algorithm,
                                       bool flush) {
  auto i = self->state.staged.find(id);
  if (i == self->state.staged.end() || i->second.after_writes)
    return make_error(failure{EBADF, "commit_staged", "", "no such staged file"});
  auto alg = algorithm.empty() ? self->state.options.default_digest : algorithm;
  auto rp = self->make_response_promise<std::string>();
  after_staged_writes(i->second, [self, id, expected, alg, flush, rp]() mutable {
    auto file = take_staged(self->state, id);
    self->state.pool->run(
      self, [file, expected, alg, flush] { return commit_verified(*file, expected, alg, flush); },
      [rp](result<std::string>&& r) mutable { deliver(rp, std::move(r)); }, false);
  });
  return rp;
}

caf::result<void> discard_staged(self_pointer self, std::uint64_t id) {
  auto i = self->state.staged.find(id);
  if (i == self->state.staged.end() || i->second.after_writes)
    return caf::unit;
  auto rp = self->make_response_promise<void>();
  after_staged_writes(i->second, [self, id, rp]() mutable {
    auto file = take_staged(self->state, id);
    // Unlinking a fallback temporary is a syscall on the directory: on a worker.
    self->state.pool->run(
      self,
      [file]() -> status {
        file->discard();
        return ok_status();
      },
      [rp](status&& r) mutable { deliver(rp, std::move(r)); }, false);
  });
  return rp;
}

/// Closes every map; answered once all are closed, with the first failure if any.
caf::result<void> close_all(self_pointer self) {
  auto rp = self->make_response_promise<void>();
  auto& st = self->state;
  auto g = make_gather<std::monostate>(st.maps.size(), [rp](std::vector<status>&& closed) mutable {
    for (auto& c : closed)
      if (!c) {
        rp.deliver(make_error(c.error()));
        return;
      }
    deliver_ok(rp);
  });
  std::size_t i = 0;
  for (auto& [key, e] : st.maps) {
    self->request(e.file, caf::infinite, caf::close_atom_v)
      .then(
        [g, i] { g->set(i, std::monostate{}); },
        [g, i, path = key.path](caf::error& err) { g->set(i, to_failure(err, "close", path)); });
    ++i;
  }
  st.maps.clear();
  st.keys.clear();
  return rp;
}

/// Forgets what a requester or map that went down left: its runs are cancelled, a map whose
/// actor died (e.g. an exception) leaves the registry, so calls on its handles then fail with
/// "receiver down" instead of hanging.
void on_down(self_pointer self, const caf::down_msg& dm) {
  self->state.requesters.erase(dm.source);
  cancel_runs_of(self, dm.source);
  auto& st = self->state;
  auto k = st.keys.find(dm.source);
  if (k == st.keys.end())
    return;
  st.maps.erase(k->second);
  st.keys.erase(k);
}

} // namespace

mmap_manager_state::~mmap_manager_state() {
  for (auto& [key, e] : maps)
    caf::anon_send_exit(e.file, caf::exit_reason::user_shutdown);
}

mmap_manager_actor::behavior_type mmap_manager_impl(self_pointer self,
                                                    std::shared_ptr<io_worker_pool> pool,
                                                    mmap_manager_options options) {
  self->state.pool = std::move(pool);
  self->state.options = std::move(options);
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });
  using bulk_reply = caf::result<std::vector<result<std::uint64_t>>>;
  return {
    [=](caf::open_atom, const std::string& path, open_mode mode,
        std::int64_t init_size) -> caf::result<mapped_file_actor> {
      auto rp = self->make_response_promise<mapped_file_actor>();
      open_map(self, path, mode, init_size,
               [rp](result<mapped_file_actor> r) mutable { deliver(rp, std::move(r)); });
      return rp;
    },
    [=](create_sparse_atom, const std::string& path, std::int64_t total_size,
        std::vector<chunk>& chunks) { return create_sparse(self, path, total_size, chunks); },
    [=](caf::close_atom, const mapped_file_actor& file) -> caf::result<void> {
      auto rp = self->make_response_promise<void>();
      release(self, file.address(), [rp](status&& st) mutable { deliver(rp, std::move(st)); });
      return rp;
    },
    [=](copy_file_atom, const std::string& src, const std::string& dst,
        actorio::copy_options opts) { return copy_one(self, src, dst, opts); },
    [=](checksum_atom, const std::string& path, const std::string& algorithm) {
      return checksum_one(self, path, algorithm);
    },
    [=](currently_open_atom) -> caf::result<std::uint64_t> { return self->state.maps.size(); },
    [=](open_files_atom) -> caf::result<std::vector<open_file>> { return open_files(self); },
    [=](open_paths_atom) -> caf::result<std::map<std::string, open_mode>> {
      return open_paths(self);
    },
    [=](open_mmaps_atom) -> caf::result<std::vector<map_info>> {
      auto rp = self->make_response_promise<std::vector<map_info>>();
      collect_infos(self, [rp](std::vector<map_info>&& infos) mutable { rp.deliver(infos); });
      return rp;
    },
    [=](approx_memory_usage_atom) { return approx_memory_usage(self); },
    [=](cancel_atom, std::uint64_t request) {
      cancel_runs_of(self, caf::actor_cast<caf::actor_addr>(self->current_sender()), request);
    },
    [=](bulk_read_atom, std::vector<read_job>& jobs,
        report_progress every) -> caf::result<std::vector<result<byte_pieces>>> {
      return read_bulk_ranges(self, std::move(jobs), every);
    },
    [=](bulk_write_atom, std::vector<write_job>& jobs, report_progress every) -> bulk_reply {
      return bulk_write(self, jobs, every);
    },
    [=](bulk_resize_atom, std::vector<resize_job>& jobs, report_progress every) -> bulk_reply {
      return bulk_resize(self, jobs, every);
    },
    [=](compact_files_atom, std::vector<std::string>& paths,
        report_progress every) -> caf::result<std::vector<result<size_change>>> {
      return compact_files(self, paths, every);
    },
    [=](bulk_copy_atom, std::vector<copy_job>& jobs, actorio::copy_options opts,
        report_progress every) -> bulk_reply { return bulk_copy(self, jobs, opts, every); },
    [=](bulk_checksum_atom, std::vector<std::string>& paths, const std::string& algorithm,
        report_progress every) -> caf::result<std::vector<result<std::string>>> {
      return bulk_checksum(self, paths, algorithm, every);
    },
    [=](find_in_files_atom, std::vector<std::string>& patterns, std::vector<find_job>& jobs,
        std::uint64_t max_per_file, bool overlapping, report_progress every) {
      return find_in_files(self, patterns, jobs, max_per_file, overlapping, every);
    },
    [=](prefetch_files_atom, const std::vector<std::string>& paths, std::int64_t init_size,
        report_progress every) -> caf::result<std::vector<result<mapped_file_actor>>> {
      return prefetch_files(self, paths, init_size, every);
    },
    [=](walk_atom, const std::string& path, const walk_options& opts, const std::string& after,
        report_progress every) { return walk(self, path, opts, after, every); },
    [=](stage_atom, const std::string& dst) { return stage(self, dst); },
    [=](write_staged_atom, std::uint64_t id, std::int64_t offset, byte_pieces& data) {
      return write_staged(self, id, offset, data);
    },
    [=](commit_staged_atom, std::uint64_t id, const std::string& expected,
        const std::string& algorithm,
        bool flush) { return commit_staged(self, id, expected, algorithm, flush); },
    [=](discard_staged_atom, std::uint64_t id) { return discard_staged(self, id); },
    [=](pull_atom, const std::string&, const std::string&, const std::string& dst,
        const node_copy_options&, report_progress) -> caf::result<std::uint64_t> {
      return make_error(failure{EOPNOTSUPP, "pull", dst,
                                "only a served node pulls a copy from another (actorio::serve)"});
    },
    [=](shutdown_atom) { return close_all(self); },
  };
}

} // namespace actorio::detail
