#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace actorio::cli {

/// Reads `fd` to its end in pieces of at most `piece_size` bytes (> 0) and hands each to
/// `consume`, in order, so memory stays bounded by one piece however long the input is (standard
/// input hashed by `sum`, written by `write`). EINTR is retried. Returns 0 at the end of input, or
/// the errno of the read(2) that failed (the pieces before it were consumed). An exception from
/// `consume` stops the reading and passes through.
int read_in_pieces(int fd, std::size_t piece_size,
                   const std::function<void(std::string_view)>& consume);

} // namespace actorio::cli
