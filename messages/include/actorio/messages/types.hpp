#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "actorio/result.hpp"

namespace actorio {

/// Raw bytes as they travel in messages. `std::vector<char>` because CAF 0.17 serializes it as
/// one block (a `std::vector<std::byte>` goes element by element).
using bytes = std::vector<char>;

/// One piece of initial content for `create_sparse`: `data` written at `offset`.
struct sparse_chunk {
  std::int64_t offset = 0;
  bytes data;
};

/// A live map as the manager reports it (`open_mmaps`).
struct map_info {
  /// The normalized path the map was opened under.
  std::string path;
  /// "r+b", "rb", "w+b" or "x+b".
  std::string mode;
  /// The file size, i.e. the bytes a reader sees.
  std::uint64_t size = 0;
  /// Bytes of address space the map occupies (page-rounded, may exceed `size`).
  std::uint64_t mapped_length = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, failure& x) {
  return f(caf::meta::type_name("actorio::failure"), x.code, x.op, x.path, x.detail);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sparse_chunk& x) {
  return f(caf::meta::type_name("actorio::sparse_chunk"), x.offset, x.data);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, map_info& x) {
  return f(caf::meta::type_name("actorio::map_info"), x.path, x.mode, x.size, x.mapped_length);
}

} // namespace actorio
