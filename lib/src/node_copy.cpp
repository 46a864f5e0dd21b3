// copy_between: a file streamed from one manager to another in bounded chunks, into a staged file
// that gets its name only when complete; and the pull, the same copy made by the destination
// node itself.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <deque>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "lib/src/node_copy.hpp"

#include "actorio/cluster.hpp"
#include "actorio/io_error.hpp"
#include "lib/src/facade_access.hpp"

namespace actorio {

namespace {

using clock = std::chrono::steady_clock;

/// What the copy's thread and its `operation` share.
struct copy_run {
  std::atomic<bool> cancelled{false};
  std::shared_ptr<detail::completion<std::uint64_t>> promise =
    std::make_shared<detail::completion<std::uint64_t>>();
};

/// `why` with the node named in its detail (once) and `path` as its path when it has none. An
/// empty node is this process, in a pull: its client names it.
failure on_node(failure why, const std::string& node, const std::filesystem::path& path) {
  if (why.path.empty())
    why.path = path.string();
  if (!node.empty() && why.detail.find(node) == std::string::npos)
    why.detail = "node " + node + (why.detail.empty() ? "" : ": " + why.detail);
  return why;
}

/// The failure of the current exception.
failure current_failure() {
  try {
    throw;
  } catch (const io_error& e) {
    return e.why();
  } catch (const std::exception& e) {
    return failure{EIO, "copy", "", e.what()};
  } catch (...) {
    return failure{EIO, "copy", "", "unknown exception"};
  }
}

class copier {
public:
  copier(copy_end from, copy_end to, node_copy_options opts, bulk_options progress,
         std::shared_ptr<copy_run> run)
    : from_(std::move(from))
    , to_(std::move(to))
    , opts_(opts)
    , progress_(std::move(progress))
    , run_(std::move(run)) {}

  std::uint64_t operator()();

private:
  static constexpr std::string_view digest_algorithm = "sha256";

  /// Waits for `f` (a future or an operation) within the step timeout, or until cancelled.
  template <class F>
  auto wait(const copy_end& end, const char* what, F& f) {
    auto until = clock::now() + opts_.step_timeout;
    for (;;) {
      if (run_->cancelled.load())
        throw io_error(failure{ECANCELED, "copy", end.path.string(), "cancelled"});
      if (f.wait_for(std::chrono::milliseconds(50)) == std::future_status::ready)
        break;
      if (opts_.step_timeout.count() > 0 && clock::now() >= until)
        throw io_error(on_node(failure{ETIMEDOUT, "copy", end.path.string(),
                                       std::string{"no answer to "} + what + " within " +
                                         std::to_string(opts_.step_timeout.count()) + " ms"},
                               end.node, end.path));
    }
    try {
      return f.get();
    } catch (...) {
      throw io_error(on_node(current_failure(), end.node, end.path));
    }
  }

  /// The copy made by the destination itself (see mmap_manager::pull) when both ends are other
  /// nodes; nothing when the destination does not pull from the source or cannot reach it, and
  /// the bytes are then streamed through this process. ETIMEDOUT when the destination reports
  /// nothing for twice the step timeout.
  std::optional<std::uint64_t> pulled() {
    auto source = detail::facade_access::node_url(from_.manager);
    auto destination = detail::facade_access::node_url(to_.manager);
    if (source.empty() || destination.empty() || source == destination)
      return std::nullopt;
    auto heard = std::make_shared<std::atomic<clock::rep>>(clock::now().time_since_epoch().count());
    bulk_options how;
    how.progress_interval =
      progress_.on_progress ? progress_.progress_interval : opts_.step_timeout;
    if (opts_.step_timeout.count() > 0)
      how.progress_interval = std::min<std::chrono::milliseconds>(
        std::chrono::duration_cast<std::chrono::milliseconds>(how.progress_interval),
        opts_.step_timeout / 4);
    how.on_progress = [heard, user = progress_.on_progress](const progress& p) {
      heard->store(clock::now().time_since_epoch().count());
      if (user)
        user(p);
    };
    auto op = to_.manager.pull(source, from_.path, to_.path, opts_, how);
    auto silent_limit = 2 * opts_.step_timeout;
    bool cancel_sent = false;
    while (op.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
      if (run_->cancelled.load() && !std::exchange(cancel_sent, true))
        op.cancel();
      auto silent = clock::now() - clock::time_point{clock::duration{heard->load()}};
      if (opts_.step_timeout.count() > 0 && silent > silent_limit) {
        if (!cancel_sent)
          op.cancel();
        throw io_error(
          on_node(failure{cancel_sent ? ECANCELED : ETIMEDOUT, "copy", to_.path.string(),
                          "no word from the copying node within " +
                            std::to_string(silent_limit.count()) + " ms"},
                  to_.node, to_.path));
      }
    }
    try {
      return op.get();
    } catch (const io_error& e) {
      auto why = e.why();
      if ((why.op == "pull" && (why.code == EPERM || why.code == EOPNOTSUPP)) ||
          why.op == "connect")
        return std::nullopt;
      // What failed at the source names it already; the rest happened at the destination.
      if (why.detail.find(from_.node) == std::string::npos)
        why = on_node(std::move(why), to_.node, to_.path);
      throw io_error(std::move(why));
    }
  }

  template <class Make>
  auto step(const copy_end& end, const char* what, Make make) {
    auto f = make();
    return wait(end, what, f);
  }

  /// The source's size, from a read-only map of it (also the first check that it is a readable
  /// regular file).
  std::uint64_t source_size() {
    auto map =
      step(from_, "open", [&] { return from_.manager.open(from_.path, 0, open_mode::read_only); });
    auto size = step(from_, "size", [&] { return map.size(); });
    auto closed = map.close();
    wait(from_, "close", closed);
    return size;
  }

  operation<mmap_manager::per_path<byte_pieces>> read_at(std::uint64_t offset, std::uint64_t n) {
    std::map<std::filesystem::path, std::optional<std::vector<byte_range>>> files;
    files.emplace(from_.path, std::vector<byte_range>{byte_range{static_cast<std::int64_t>(offset),
                                                                 static_cast<std::int64_t>(n)}});
    return from_.manager.bulk_read(files);
  }

  /// Reads [0, size) from the source and writes it to staged file `id`, at most `window` chunks
  /// in flight each way.
  void stream(std::uint64_t id, std::uint64_t size) {
    struct pending_read {
      std::uint64_t offset;
      std::uint64_t size;
      operation<mmap_manager::per_path<byte_pieces>> op;
    };
    struct pending_write {
      std::uint64_t size;
      std::future<std::uint64_t> op;
    };
    std::deque<pending_read> reads;
    std::deque<pending_write> writes;
    auto chunk = static_cast<std::uint64_t>(std::max<std::size_t>(opts_.chunk_bytes, 1));
    auto window = std::max<std::size_t>(opts_.window, 1);
    std::uint64_t next = 0;
    std::uint64_t written = 0;
    for (;;) {
      // A read is started only while the writes in flight leave room: back-pressure.
      while (next < size && reads.size() < window && reads.size() + writes.size() < 2 * window) {
        auto n = std::min(chunk, size - next);
        reads.push_back(pending_read{next, n, read_at(next, n)});
        next += n;
      }
      if (reads.empty() && writes.empty())
        return;
      if (!writes.empty() && (writes.size() >= window || reads.empty())) {
        auto n = wait(to_, "a write", writes.front().op);
        if (n != writes.front().size)
          throw io_error(
            on_node(failure{EIO, "copy", to_.path.string(), "short write"}, to_.node, to_.path));
        written += n;
        writes.pop_front();
        report(written, size, false);
        continue;
      }
      auto& r = reads.front();
      auto got = wait(from_, "a read", r.op);
      auto& piece = got.at(from_.path);
      if (!piece)
        throw io_error(on_node(piece.error(), from_.node, from_.path));
      auto got_bytes = piece->total_bytes();
      if (got_bytes != r.size)
        throw io_error(on_node(failure{EIO, "copy", from_.path.string(),
                                       "the source shrank while being copied (" +
                                         std::to_string(r.offset + got_bytes) + " of " +
                                         std::to_string(size) + " bytes)"},
                               from_.node, from_.path));
      // The pieces read are passed on as they came: no copy in this process.
      writes.push_back(
        pending_write{r.size, to_.manager.write_staged(id, static_cast<std::int64_t>(r.offset),
                                                       std::move(*piece))});
      reads.pop_front();
    }
  }

  void report(std::uint64_t done, std::uint64_t total, bool last) {
    if (!progress_.on_progress)
      return;
    auto now = clock::now();
    if (!last && now < next_report_)
      return;
    next_report_ = now + progress_.progress_interval;
    progress_.on_progress(progress{done, total, last ? 1u : 0u, 1});
  }

  copy_end from_;
  copy_end to_;
  node_copy_options opts_;
  bulk_options progress_;
  std::shared_ptr<copy_run> run_;
  clock::time_point next_report_{};
};

std::uint64_t copier::operator()() {
  if (auto n = pulled())
    return *n;
  auto size = source_size();
  // The size is known from here on: a progress bar can show a percentage before the first write.
  report(0, size, false);
  std::optional<operation<mmap_manager::per_path<std::string>>> source_digest;
  if (opts_.verify)
    source_digest.emplace(from_.manager.bulk_checksum({from_.path}, std::string{digest_algorithm}));
  auto staged = step(to_, "stage", [&] { return to_.manager.stage(to_.path); });
  try {
    stream(staged, size);
    std::string expected;
    if (source_digest) {
      auto sums = wait(from_, "the checksum", *source_digest);
      const auto& r = sums.at(from_.path);
      if (!r)
        throw io_error(on_node(r.error(), from_.node, from_.path));
      expected = *r;
    }
    auto committed =
      to_.manager.commit_staged(staged, expected, std::string{digest_algorithm}, opts_.flush);
    // The commit is answered within the destination's request timeout; cancel is not waited
    // for here, as the file is being renamed.
    try {
      committed.get();
    } catch (...) {
      throw io_error(on_node(current_failure(), to_.node, to_.path));
    }
    report(size, size, true);
    return size;
  } catch (...) {
    // Best effort: a node that is gone has dropped the staged file already.
    auto dropped = to_.manager.discard_staged(staged);
    if (dropped.wait_for(std::chrono::seconds(2)) == std::future_status::ready) {
      try {
        dropped.get();
      } catch (...) {
      }
    }
    throw;
  }
}

} // namespace

operation<std::uint64_t> copy_between(copy_end from, copy_end to, const node_copy_options& opts,
                                      const bulk_options& progress) {
  auto run = std::make_shared<copy_run>();
  auto future = run->promise->get_pending();
  auto work = std::make_unique<copier>(std::move(from), std::move(to), opts, progress, run);
  std::thread([run, work = std::move(work)]() mutable {
    std::uint64_t copied = 0;
    std::exception_ptr failed;
    try {
      copied = (*work)();
    } catch (...) {
      failed = std::current_exception();
    }
    // The managers go first: a caller that drops its last handle once the result arrived then
    // ends a connection itself, not this detached thread.
    work.reset();
    failed ? run->promise->set_exception(failed) : run->promise->set_value(copied);
  }).detach();
  return operation<std::uint64_t>{std::move(future), [run] { run->cancelled.store(true); }};
}

namespace detail {

namespace {

/// HOST, PORT and TLS of "tcp://HOST:PORT" or "tls://HOST:PORT".
struct node_address {
  std::string host;
  std::uint16_t port = 0;
  bool tls = false;

  std::string name() const {
    return host + ":" + std::to_string(port);
  }
};

std::optional<node_address> parse_node_url(const std::string& url) {
  node_address a;
  std::string_view rest{url};
  if (rest.starts_with("tls://"))
    a.tls = true;
  else if (!rest.starts_with("tcp://"))
    return std::nullopt;
  rest.remove_prefix(6);
  auto colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size())
    return std::nullopt;
  unsigned port = 0;
  for (char c : rest.substr(colon + 1)) {
    if (c < '0' || c > '9' || (port = port * 10 + static_cast<unsigned>(c - '0')) > 65535)
      return std::nullopt;
  }
  a.host = std::string{rest.substr(0, colon)};
  a.port = static_cast<std::uint16_t>(port);
  return a;
}

} // namespace

pull_runner make_pull_runner(runtime& local, std::vector<std::string> peers, tls_options tls) {
  return
    [&local, peers = std::move(peers), tls = std::move(tls)](
      const pull_request& r, const std::atomic<bool>& cancelled, std::chrono::milliseconds every,
      const std::function<void(const progress&)>& report) -> result<std::uint64_t> {
      auto source = parse_node_url(r.source);
      if (!source)
        return failure{EINVAL, "pull", r.dst,
                       "not a node: " + r.source + " (tcp://HOST:PORT or tls://HOST:PORT)"};
      if (std::find(peers.begin(), peers.end(), source->name()) == peers.end())
        return failure{EPERM, "pull", r.dst,
                       "this server does not pull from " + source->name() +
                         " (serve_options::pull_from)"};
      try {
        connect_options how;
        if (r.options.step_timeout.count() > 0)
          how.timeout = r.options.step_timeout;
        // Held here until the copy answered, so that the connection ends on this thread: the
        // copy's own thread, ending it there as its last holder, waits forever in CAF 0.17's
        // actor_system destructor.
        auto from = connect(source->host, source->port, source->tls ? tls : tls_options{}, how);
        bulk_options progress;
        if (report) {
          progress.on_progress = report;
          progress.progress_interval = every;
        }
        auto op = copy_between(copy_end{from, r.src, source->name()},
                               copy_end{local.manager(), r.dst, ""}, r.options, progress);
        bool cancel_sent = false;
        while (op.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready)
          if (cancelled.load() && !std::exchange(cancel_sent, true))
            op.cancel();
        return op.get();
      } catch (const io_error& e) {
        return e.why();
      } catch (const std::exception& e) {
        return failure{EIO, "pull", r.dst, e.what()};
      }
    };
}

} // namespace detail

} // namespace actorio
