#pragma once

#include <atomic>
#include <memory>

#include "actorio/couple.hpp"
#include "lib/src/runtime_core.hpp"

namespace actorio::detail {

/// What every copy of one `couple` handle shares.
struct couple_shared {
  std::shared_ptr<runtime_core> core;
  couple_actor actor;
  couple_mode mode = couple_mode::binary;
  int reader = -1;
  int writer = -1;
  std::atomic<bool> closed{false};

  ~couple_shared();
};

} // namespace actorio::detail
