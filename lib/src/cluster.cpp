#include "actorio/cluster.hpp"

#include <atomic>
#include <cerrno>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "actorio/io_error.hpp"

namespace actorio {

// A call runs as one thread per node: it connects if needed (a blocking call to the node's own
// actor system), sends the node's one request and waits for its future. The facade gives futures,
// not continuations, so something must wait on each; a thread per node keeps every node's wait,
// connect timeout included, independent of the others. The last thread to finish completes the
// call. Threads hold the call's state and the node by shared_ptr, so dropping the cluster or the
// operation early is safe.

std::string endpoint::name() const {
  return host + ":" + std::to_string(port);
}

namespace {

/// One node and its connection, made on first use and dropped when it was found broken.
struct node_link {
  endpoint where;
  std::string name;
  connect_options opts;
  std::mutex lock;
  std::optional<mmap_manager> manager;
  /// Counts connections made, so that a failed call drops only the connection it used.
  std::uint64_t generation = 0;

  std::pair<mmap_manager, std::uint64_t> use() {
    std::lock_guard<std::mutex> guard{lock};
    if (!manager) {
      manager = connect(where.host, where.port, where.tls, opts);
      ++generation;
    }
    return {*manager, generation};
  }

  /// Forgets the connection `used` if it is still the current one: the next call reconnects.
  void drop(std::uint64_t used) {
    std::optional<mmap_manager> gone;
    {
      std::lock_guard<std::mutex> guard{lock};
      if (manager && generation == used)
        gone = std::exchange(manager, std::nullopt);
    }
    // `gone` (perhaps the last handle, ending its actor system) goes outside the lock.
  }
};

/// Whether a failure says the connection to the node is unusable (rather than the item failing).
bool connection_lost(int code) {
  return code == ECONNRESET || code == ECONNREFUSED || code == ETIMEDOUT || code == EPIPE ||
         code == EBADF || code == ENOTCONN;
}

failure failure_of(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const io_error& x) {
    return x.why();
  } catch (const std::exception& x) {
    return failure{EIO, "cluster", "", x.what()};
  } catch (...) {
    return failure{EIO, "cluster", "", "unknown exception"};
  }
}

/// The failure of a whole node, as the failure of one of its items.
failure item_failure(const failure& node, const std::string& node_name, const std::string& path) {
  auto detail = node.detail;
  if (detail.find(node_name) == std::string::npos)
    detail = "node " + node_name + (detail.empty() ? "" : ": " + detail);
  return failure{node.code, node.op, path, std::move(detail)};
}

/// What every node's part of one call shares: cancellation, progress, and the gathered results.
template <class T>
struct gather {
  std::mutex lock;
  bool cancelled = false;
  bool finished = false;
  /// Per node: stops the request it is waiting for, while it waits.
  std::vector<std::function<void()>> cancels;
  std::vector<progress> reports;
  progress_callback on_progress;
  std::size_t pending = 0;
  cluster::per_node<T> results;
  std::shared_ptr<detail::completion<cluster::per_node<T>>> promise =
    std::make_shared<detail::completion<cluster::per_node<T>>>();

  void report(std::size_t i, const progress& p) {
    std::lock_guard<std::mutex> guard{lock};
    if (finished)
      return;
    reports[i] = p;
    on_progress(sum());
  }

  progress sum() const {
    progress total;
    for (const auto& p : reports) {
      total.bytes_done += p.bytes_done;
      total.bytes_total += p.bytes_total;
      total.items_done += p.items_done;
      total.items_total += p.items_total;
    }
    return total;
  }

  void cancel() {
    std::lock_guard<std::mutex> guard{lock};
    cancelled = true;
    for (auto& c : cancels)
      if (c)
        c();
  }

  void finish(const std::string& name, T value) {
    bool was_cancelled = false;
    {
      std::lock_guard<std::mutex> guard{lock};
      results.emplace(name, std::move(value));
      if (--pending != 0)
        return;
      if (on_progress)
        on_progress(sum());
      finished = true;
      was_cancelled = cancelled;
    }
    // Outside the lock: a completion callback runs here and may call `cancel`.
    if (was_cancelled)
      promise->set_exception(
        std::make_exception_ptr(io_error(failure{ECANCELED, "cluster", "", "cancelled"})));
    else
      promise->set_value(std::move(results));
  }
};

using clock = std::chrono::steady_clock;

/// ETIMEDOUT: the node did not finish its part within the deadline.
failure missed_deadline(std::chrono::milliseconds deadline) {
  return failure{ETIMEDOUT, "cluster", "",
                 "no answer within the deadline of " + std::to_string(deadline.count()) + " ms"};
}

/// The handle one node's thread uses to wait for its requests, cancellably and until the node's
/// deadline.
template <class T>
struct node_call {
  std::shared_ptr<gather<T>> state;
  std::size_t index;
  std::chrono::milliseconds deadline{0};
  clock::time_point started = clock::now();

  template <class U>
  U await(operation<U> op) {
    {
      std::lock_guard<std::mutex> guard{state->lock};
      if (state->cancelled)
        op.cancel();
      else
        state->cancels[index] = [&op] { op.cancel(); };
    }
    bool late = false;
    if (deadline.count() > 0)
      late = op.wait_for(started + deadline - clock::now()) != std::future_status::ready;
    else
      op.wait();
    {
      std::lock_guard<std::mutex> guard{state->lock};
      state->cancels[index] = nullptr;
    }
    if (late) {
      // A silent node may never answer, not even the cancel: its part is given up here.
      op.cancel();
      throw io_error(missed_deadline(deadline));
    }
    return op.get();
  }

  bulk_options options(const bulk_options& opts) const {
    bulk_options o;
    o.progress_interval = opts.progress_interval;
    if (opts.on_progress)
      o.on_progress = [state = state, i = index](const progress& p) { state->report(i, p); };
    return o;
  }
};

} // namespace

struct cluster::impl {
  std::vector<std::shared_ptr<node_link>> links;
  std::vector<std::string> names;
  std::chrono::milliseconds deadline{0};

  std::shared_ptr<node_link> find(const std::string& name) const {
    for (const auto& l : links)
      if (l->name == name)
        return l;
    return nullptr;
  }

  /// Runs `run(call, manager, options, node name)` on each of `targets` at once, each in a thread
  /// of its own; a node that cannot be connected, or whose call fails as a whole, gets
  /// `fail(failure)`.
  template <class T, class Run, class Fail>
  operation<per_node<T>> scatter(std::vector<std::shared_ptr<node_link>> targets,
                                 const bulk_options& opts, Run run, Fail fail) const {
    auto state = std::make_shared<gather<T>>();
    state->cancels.resize(targets.size());
    state->reports.resize(targets.size());
    state->on_progress = opts.on_progress;
    state->pending = targets.size();
    auto future = state->promise->get_pending();
    if (targets.empty())
      state->promise->set_value(per_node<T>{});
    for (std::size_t i = 0; i < targets.size(); ++i) {
      std::thread([state, i, link = targets[i], opts, run, fail, deadline = deadline]() mutable {
        node_call<T> call{state, i, deadline};
        std::optional<T> value;
        std::uint64_t used = 0;
        try {
          {
            std::lock_guard<std::mutex> guard{state->lock};
            if (state->cancelled)
              throw io_error(failure{ECANCELED, "cluster", link->name, "cancelled"});
          }
          auto [manager, generation] = link->use();
          used = generation;
          value.emplace(run(call, manager, call.options(opts), link->name));
        } catch (...) {
          auto why = failure_of(std::current_exception());
          if (used != 0 && connection_lost(why.code))
            link->drop(used);
          value.emplace(fail(why, link->name));
        }
        // Released first: a caller that drops the cluster once the result arrived then ends the
        // node's connection (and its actor system) itself, not this detached thread.
        auto name = link->name;
        link.reset();
        state->finish(name, std::move(*value));
      }).detach();
    }
    return operation<per_node<T>>{std::move(future), [state] { state->cancel(); }};
  }
};

cluster::cluster(std::vector<endpoint> nodes, connect_options opts)
  : cluster(std::move(nodes), cluster_options{.connect = opts}) {}

cluster::cluster(std::vector<endpoint> nodes, cluster_options opts)
  : impl_(std::make_shared<impl>()) {
  impl_->deadline = opts.deadline;
  if (nodes.empty())
    throw io_error(failure{EINVAL, "cluster", "", "a cluster needs at least one node"});
  std::set<std::string> seen;
  for (auto& e : nodes) {
    auto link = std::make_shared<node_link>();
    link->name = e.name();
    if (!seen.insert(link->name).second)
      throw io_error(failure{EINVAL, "cluster", link->name, "node given twice"});
    link->where = std::move(e);
    link->opts = opts.connect;
    impl_->names.push_back(link->name);
    impl_->links.push_back(std::move(link));
  }
}

cluster::cluster(cluster&&) noexcept = default;
cluster& cluster::operator=(cluster&&) noexcept = default;
cluster::~cluster() = default;

const std::vector<std::string>& cluster::nodes() const noexcept {
  return impl_->names;
}

mmap_manager cluster::node(const std::string& name) const {
  auto link = impl_->find(name);
  if (!link)
    throw io_error(failure{EINVAL, "cluster", name, "no such node in the cluster"});
  return link->use().first;
}

namespace {

/// Every path of `keys` (a container of paths, or a map keyed by path) failed with `why`.
template <class T, class Keys>
mmap_manager::per_path<T> all_failed(const Keys& keys, const failure& why,
                                     const std::string& node) {
  mmap_manager::per_path<T> out;
  for (const auto& k : keys) {
    const std::filesystem::path* p = nullptr;
    if constexpr (std::is_same_v<std::decay_t<decltype(k)>, std::filesystem::path>)
      p = &k;
    else
      p = &k.first;
    out.insert_or_assign(*p, result<T>{item_failure(why, node, p->string())});
  }
  return out;
}

} // namespace

operation<cluster::per_node<cluster::per_path<std::string>>>
cluster::bulk_checksum(const std::vector<std::filesystem::path>& paths, std::string algorithm,
                       const bulk_options& opts) const {
  per_node<std::vector<std::filesystem::path>> each;
  for (const auto& n : impl_->names)
    each[n] = paths;
  return bulk_checksum(each, std::move(algorithm), opts);
}

namespace {

/// The call fails as a whole with EINVAL: `node` is not in the cluster.
template <class T>
operation<T> unknown_node(const std::string& op, const std::string& node) {
  return operation<T>{
    detail::failed_pending<T>(failure{EINVAL, op, node, "no such node in the cluster"}), [] {}};
}

/// The same `x` for every node of `names`.
template <class X>
cluster::per_node<X> for_each_node(const std::vector<std::string>& names, const X& x) {
  cluster::per_node<X> each;
  for (const auto& n : names)
    each.emplace(n, x);
  return each;
}

} // namespace

/// The nodes `args` names, or the first name that is no node.
template <class X>
std::pair<std::vector<std::shared_ptr<node_link>>, std::string>
targets_of(const cluster::impl& x, const cluster::per_node<X>& args) {
  std::vector<std::shared_ptr<node_link>> targets;
  for (const auto& [name, arg] : args) {
    auto link = x.find(name);
    if (!link)
      return {{}, name};
    targets.push_back(std::move(link));
  }
  return {std::move(targets), {}};
}

operation<cluster::per_node<cluster::per_path<std::string>>>
cluster::bulk_checksum(const per_node<std::vector<std::filesystem::path>>& paths,
                       std::string algorithm, const bulk_options& opts) const {
  using T = per_path<std::string>;
  auto [targets, unknown] = targets_of(*impl_, paths);
  if (!unknown.empty())
    return unknown_node<per_node<T>>("checksum", unknown);
  auto lists = std::make_shared<per_node<std::vector<std::filesystem::path>>>(paths);
  return impl_->scatter<T>(
    std::move(targets), opts,
    [lists, algorithm](node_call<T>& call, const mmap_manager& m, const bulk_options& o,
                       const std::string& node) {
      return call.await(m.bulk_checksum(lists->at(node), algorithm, o));
    },
    [lists](const failure& why, const std::string& node) {
      return all_failed<std::string>(lists->at(node), why, node);
    });
}

operation<cluster::per_node<cluster::per_path<std::vector<std::uint64_t>>>> cluster::find_in_files(
  std::string_view pattern, const std::map<std::filesystem::path, std::int64_t>& starts,
  std::uint64_t max_per_file, bool allow_overlapping, const bulk_options& opts) const {
  return find_in_files(std::vector<std::string>{std::string{pattern}},
                       for_each_node(impl_->names, starts), max_per_file, allow_overlapping, opts);
}

operation<cluster::per_node<cluster::per_path<std::vector<std::uint64_t>>>>
cluster::find_in_files(const std::vector<std::string>& patterns,
                       const per_node<std::map<std::filesystem::path, std::int64_t>>& starts,
                       std::uint64_t max_per_file, bool allow_overlapping,
                       const bulk_options& opts) const {
  using T = per_path<std::vector<std::uint64_t>>;
  auto [targets, unknown] = targets_of(*impl_, starts);
  if (!unknown.empty())
    return unknown_node<per_node<T>>("find", unknown);
  auto mine = std::make_shared<per_node<std::map<std::filesystem::path, std::int64_t>>>(starts);
  return impl_->scatter<T>(
    std::move(targets), opts,
    [mine, patterns, max_per_file, allow_overlapping](
      node_call<T>& call, const mmap_manager& m, const bulk_options& o, const std::string& node) {
      return call.await(
        m.find_in_files(patterns, mine->at(node), max_per_file, allow_overlapping, o));
    },
    [mine](const failure& why, const std::string& node) {
      return all_failed<std::vector<std::uint64_t>>(mine->at(node), why, node);
    });
}

operation<cluster::per_node<cluster::per_path<byte_pieces>>> cluster::bulk_read(
  const std::map<std::filesystem::path, std::optional<std::vector<byte_range>>>& files,
  const bulk_options& opts) const {
  using T = per_path<byte_pieces>;
  auto mine =
    std::make_shared<std::map<std::filesystem::path, std::optional<std::vector<byte_range>>>>(
      files);
  return impl_->scatter<T>(
    impl_->links, opts,
    [mine](node_call<T>& call, const mmap_manager& m, const bulk_options& o, const std::string&) {
      return call.await(m.bulk_read(*mine, o));
    },
    [mine](const failure& why, const std::string& node) {
      return all_failed<byte_pieces>(*mine, why, node);
    });
}

operation<cluster::per_node<cluster::per_path<size_change>>>
cluster::compact_files(const std::vector<std::filesystem::path>& paths,
                       const bulk_options& opts) const {
  return compact_files(for_each_node(impl_->names, paths), opts);
}

operation<cluster::per_node<cluster::per_path<size_change>>>
cluster::compact_files(const per_node<std::vector<std::filesystem::path>>& paths,
                       const bulk_options& opts) const {
  using T = per_path<size_change>;
  auto [targets, unknown] = targets_of(*impl_, paths);
  if (!unknown.empty())
    return unknown_node<per_node<T>>("compact", unknown);
  auto mine = std::make_shared<per_node<std::vector<std::filesystem::path>>>(paths);
  return impl_->scatter<T>(
    std::move(targets), opts,
    [mine](node_call<T>& call, const mmap_manager& m, const bulk_options& o,
           const std::string& node) { return call.await(m.compact_files(mine->at(node), o)); },
    [mine](const failure& why, const std::string& node) {
      return all_failed<size_change>(mine->at(node), why, node);
    });
}

operation<cluster::per_node<mmap_manager::prefetched>>
cluster::prefetch_files(const std::vector<std::filesystem::path>& paths, std::int64_t init_size,
                        const bulk_options& opts) const {
  using T = mmap_manager::prefetched;
  auto mine = std::make_shared<std::vector<std::filesystem::path>>(paths);
  return impl_->scatter<T>(
    impl_->links, opts,
    [mine, init_size](node_call<T>& call, const mmap_manager& m, const bulk_options& o,
                      const std::string&) {
      return call.await(m.prefetch_files(*mine, init_size, o));
    },
    [mine](const failure& why, const std::string& node) {
      T out;
      for (const auto& p : *mine)
        out.files.emplace_back(p, result<mapped_file>{item_failure(why, node, p.string())});
      return out;
    });
}

operation<cluster::per_node<result<walk_page>>> cluster::walk(const std::filesystem::path& root,
                                                              const walk_options& options,
                                                              const bulk_options& opts) const {
  using T = result<walk_page>;
  return impl_->scatter<T>(
    impl_->links, opts,
    [root, options](node_call<T>& call, const mmap_manager& m, const bulk_options& o,
                    const std::string&) -> T {
      walk_page all;
      std::string after;
      for (;;) {
        auto page = call.await(m.walk(root, options, after, o));
        all.files.insert(all.files.end(), std::make_move_iterator(page.files.begin()),
                         std::make_move_iterator(page.files.end()));
        all.errors.insert(all.errors.end(), std::make_move_iterator(page.errors.begin()),
                          std::make_move_iterator(page.errors.end()));
        if (page.done)
          break;
        after = std::move(page.next);
      }
      all.done = true;
      return all;
    },
    [root](const failure& why, const std::string& node) {
      return T{item_failure(why, node, root.string())};
    });
}

operation<std::uint64_t>
cluster::copy(const std::string& node_a, const std::filesystem::path& path_a,
              const std::string& node_b, const std::filesystem::path& path_b,
              const node_copy_options& opts, const bulk_options& progress) const {
  auto a = impl_->find(node_a);
  auto b = impl_->find(node_b);
  if (!a || !b)
    return unknown_node<std::uint64_t>("copy", a ? node_b : node_a);
  // Connecting blocks: done on a thread of its own, as the bulk calls do, then the copy's.
  auto done = std::make_shared<detail::completion<std::uint64_t>>();
  auto inner = std::make_shared<std::pair<std::mutex, operation<std::uint64_t>>>();
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  auto future = done->get_pending();
  std::thread([=]() mutable {
    std::pair<std::uint64_t, std::uint64_t> used{0, 0};
    std::exception_ptr failed;
    std::uint64_t copied = 0;
    try {
      auto [ma, ga] = a->use();
      used.first = ga;
      auto [mb, gb] = b->use();
      used.second = gb;
      {
        std::lock_guard<std::mutex> guard{inner->first};
        inner->second = copy_between(copy_end{ma, path_a, a->name}, copy_end{mb, path_b, b->name},
                                     opts, progress);
        if (cancelled->load())
          inner->second.cancel();
      }
      inner->second.wait();
      std::lock_guard<std::mutex> guard{inner->first};
      copied = inner->second.get();
    } catch (...) {
      failed = std::current_exception();
      auto why = failure_of(failed);
      if (connection_lost(why.code)) {
        // Which node it was is in the detail; both are connected again if in doubt.
        if (used.first != 0 && why.detail.find(a->name) != std::string::npos)
          a->drop(used.first);
        if (used.second != 0 && why.detail.find(b->name) != std::string::npos)
          b->drop(used.second);
      }
    }
    // Released first, as in `scatter`: a caller that drops the cluster once the result arrived
    // then ends the nodes' connections itself, not this detached thread.
    a.reset();
    b.reset();
    failed ? done->set_exception(failed) : done->set_value(copied);
  }).detach();
  return operation<std::uint64_t>{std::move(future), [inner, cancelled] {
                                    cancelled->store(true);
                                    std::lock_guard<std::mutex> guard{inner->first};
                                    if (inner->second.valid())
                                      inner->second.cancel();
                                  }};
}

} // namespace actorio
