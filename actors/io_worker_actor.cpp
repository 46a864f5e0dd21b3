#include "actors/io_worker_actor.hpp"

#include <algorithm>
#include <system_error>

#include "actorio/io_error.hpp"

namespace actorio::detail {

io_worker::io_worker(caf::actor_config& cfg, std::shared_ptr<io_worker_ends> ends)
  : caf::event_based_actor(cfg)
  , ends_(std::move(ends)) {}

io_worker::~io_worker() {
  std::lock_guard lock{ends_->mutex};
  ++ends_->count;
  ends_->changed.notify_all();
}

caf::behavior io_worker::make_behavior() {
  keep_alive_ = caf::actor_cast<caf::actor>(this);
  return {
    [](io_job& job) { job.run(); },
  };
}

void io_worker::on_exit() {
  keep_alive_ = nullptr;
}

io_worker_pool::io_worker_pool(caf::actor_system& sys, std::size_t workers) {
  workers = std::max<std::size_t>(workers, 1);
  for (std::size_t i = 0; i < workers; ++i) {
    try {
      auto worker = sys.spawn<io_worker, caf::detached + caf::hidden>(ends_);
      workers_.push_back(worker.address());
    } catch (const std::system_error& e) {
      // CAF counted the detached thread before it failed to start it; nothing will ever count
      // it down, and the actor system's destructor would wait for it forever. The actor that
      // never got its thread stays allocated (CAF holds a reference to it on the thread's
      // behalf): a small leak on a path that ends in an error.
      sys.dec_detached_threads();
      stop();
      throw io_error(failure{e.code().value(), "start", "",
                             "cannot start io worker thread " + std::to_string(i + 1) + " of " +
                               std::to_string(workers)});
    }
    loads_.push_back(std::make_shared<std::atomic<int>>(0));
  }
}

io_worker_pool::~io_worker_pool() {
  send_exits();
}

void io_worker_pool::send_exits() {
  for (auto& w : workers_)
    if (auto worker = caf::actor_cast<caf::actor>(w))
      caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
}

void io_worker_pool::stop() {
  // A detached actor's last step, after its down message, posts to the actor clock, whose queue
  // holds 64 posts. Once the actor system's end has stopped the clock, a 65th such post blocks
  // its worker thread forever, and the system's end waits for that thread. So the workers end
  // here, while the clock still runs, and stop waits until CAF has destroyed each of them, which
  // it does only after that post.
  send_exits();
  std::unique_lock lock{ends_->mutex};
  ends_->changed.wait_for(lock, stop_wait, [&] { return ends_->count >= workers_.size(); });
}

std::size_t io_worker_pool::pick() {
  std::size_t best = 0;
  int best_load = loads_[0]->load(std::memory_order_relaxed);
  for (std::size_t i = 1; i < loads_.size() && best_load > 0; ++i) {
    int load = loads_[i]->load(std::memory_order_relaxed);
    if (load < best_load) {
      best = i;
      best_load = load;
    }
  }
  loads_[best]->fetch_add(1, std::memory_order_relaxed);
  return best;
}

} // namespace actorio::detail
