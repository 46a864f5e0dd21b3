#pragma once

#include <string>
#include <vector>

#include "actorio/remote.hpp"
#include "actorio/runtime.hpp"
#include "actors/gate_actor.hpp"

namespace actorio::detail {

/// What a server's gate runs for the pulls its clients ask for (see mmap_manager::pull): it
/// copies from a node named in `peers` ("HOST:PORT") into `local`'s manager, connecting with
/// `tls`'s files to a node whose address says tls://, and fails with EPERM for any other node.
/// `local` is held by reference: the server stops the threads that run pulls before it.
pull_runner make_pull_runner(runtime& local, std::vector<std::string> peers, tls_options tls);

} // namespace actorio::detail
