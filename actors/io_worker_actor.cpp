#include "actors/io_worker_actor.hpp"

#include <algorithm>
#include <system_error>

#include "actorio/io_error.hpp"

namespace actorio::detail {

caf::behavior io_worker_impl(caf::event_based_actor*) {
  return {
    [](io_job& job) { job.run(); },
  };
}

io_worker_pool::io_worker_pool(caf::actor_system& sys, std::size_t workers)
  : sys_(sys) {
  workers = std::max<std::size_t>(workers, 1);
  for (std::size_t i = 0; i < workers; ++i) {
    try {
      workers_.push_back(sys.spawn<caf::detached + caf::hidden>(io_worker_impl));
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

void io_worker_pool::stop() {
  // A detached actor's last step, after it has left the system's count of running actors, posts
  // to the actor clock, whose queue holds 64 posts. Once the actor system's end has stopped the
  // clock, a 65th such post blocks its worker thread forever, and the system's end waits for that
  // thread. So the workers end here, while the clock still runs. Their down message comes just
  // before that post; the post then waits for the clock at most briefly.
  caf::scoped_actor self{sys_};
  for (auto& w : workers_) {
    self->monitor(w);
    self->send_exit(w, caf::exit_reason::user_shutdown);
  }
  std::size_t ended = 0;
  self->receive_while([&] { return ended < workers_.size(); })(
    [&](const caf::down_msg&) { ++ended; },
    caf::after(stop_wait) >> [&] { ended = workers_.size(); });
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
