#pragma once

#include <cstdint>

namespace actorio::detail {

/// A requester that can still cancel a request after the receiver got it: the facade's bridge. A
/// receiver about to answer with data a cancel must not lose (bytes taken from a pipe) asks it
/// first, finding it by a cross-cast of the sender. Other requesters cannot cancel that way.
class reply_commit {
public:
  /// Called by the receiver before it answers `request` -> true when the call still waits: from
  /// now on a cancel leaves it to the reply. False when it was cancelled or settled: the receiver
  /// keeps the data. Called from any thread.
  virtual bool commit(std::uint64_t request) = 0;

protected:
  ~reply_commit() = default;
};

} // namespace actorio::detail
