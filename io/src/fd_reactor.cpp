#include "io/src/fd_reactor.hpp"

#include <cerrno>
#include <cstdint>
#include <system_error>
#include <vector>

#include <sys/epoll.h>
#include <sys/eventfd.h>

namespace actorio::detail {

fd_reactor::fd_reactor()
  : epoll_(::epoll_create1(EPOLL_CLOEXEC))
  , wakeup_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!epoll_ || !wakeup_)
    throw std::system_error(errno, std::generic_category(), "actorio: fd_reactor");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wakeup_.get();
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wakeup_.get(), &ev) != 0)
    throw std::system_error(errno, std::generic_category(), "actorio: fd_reactor");
  thread_ = std::thread([this] { loop(); });
}

fd_reactor::~fd_reactor() {
  stop();
}

status fd_reactor::when_readable(int fd, callback on_ready) {
  return arm(fd, std::move(on_ready), false);
}

status fd_reactor::when_writable(int fd, callback on_ready) {
  return arm(fd, std::move(on_ready), true);
}

int fd_reactor::update(int fd, interest& it) {
  epoll_event ev{};
  // One-shot: a descriptor reports once per arming, so a slow actor is not flooded.
  ev.events = EPOLLONESHOT | (it.on_readable ? EPOLLIN : 0u) | (it.on_writable ? EPOLLOUT : 0u);
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_.get(), it.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0)
    return errno;
  it.registered = true;
  return 0;
}

status fd_reactor::arm(int fd, callback on_ready, bool write) {
  std::lock_guard<std::mutex> guard{lock_};
  if (stopped_)
    return failure{EBADF, "watch", "", "reactor stopped"};
  auto [pos, added] = interests_.try_emplace(fd);
  auto& it = pos->second;
  (write ? it.on_writable : it.on_readable) = std::move(on_ready);
  if (auto err = update(fd, it); err != 0) {
    if (added)
      interests_.erase(pos);
    else
      (write ? it.on_writable : it.on_readable) = nullptr;
    return failure{err, "watch", "", "epoll_ctl"};
  }
  return ok_status();
}

void fd_reactor::forget(int fd) {
  std::lock_guard<std::mutex> guard{lock_};
  auto pos = interests_.find(fd);
  if (pos == interests_.end())
    return;
  if (pos->second.registered)
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  interests_.erase(pos);
}

std::size_t fd_reactor::watched() const {
  std::lock_guard<std::mutex> guard{lock_};
  return interests_.size();
}

void fd_reactor::stop() {
  {
    std::lock_guard<std::mutex> guard{lock_};
    if (stopped_)
      return;
    stopped_ = true;
  }
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wakeup_.get(), &one, sizeof(one));
  if (thread_.joinable())
    thread_.join();
  std::unordered_map<int, interest> dropped;
  {
    std::lock_guard<std::mutex> guard{lock_};
    dropped.swap(interests_);
  }
}

void fd_reactor::loop() {
  std::vector<callback> ready;
  epoll_event events[64];
  for (;;) {
    auto n = retry_eintr([&] { return ::epoll_wait(epoll_.get(), events, 64, -1); });
    if (n < 0)
      return;
    {
      std::lock_guard<std::mutex> guard{lock_};
      if (stopped_)
        return;
      for (int i = 0; i < n; ++i) {
        auto fd = events[i].data.fd;
        auto pos = interests_.find(fd);
        if (fd == wakeup_.get() || pos == interests_.end())
          continue;
        auto& it = pos->second;
        auto got = events[i].events;
        auto broken = (got & (EPOLLERR | EPOLLHUP)) != 0;
        if (it.on_readable && (broken || (got & EPOLLIN)))
          ready.push_back(std::exchange(it.on_readable, nullptr));
        if (it.on_writable && (broken || (got & EPOLLOUT)))
          ready.push_back(std::exchange(it.on_writable, nullptr));
        // Re-arm what is still wanted; one-shot disabled the descriptor.
        if (it.on_readable || it.on_writable)
          update(fd, it);
      }
    }
    for (auto& f : ready)
      f();
    ready.clear();
  }
}

} // namespace actorio::detail
