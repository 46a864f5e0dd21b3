#pragma once

#include <cstdint>
#include <new>
#include <type_traits>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/none.hpp>
#include <caf/sec.hpp>

#include "actorio/messages/byte_pieces.hpp"
#include "actorio/messages/types.hpp"
#include "actorio/result.hpp"

// How the plain message types cross the wire: CAF 0.17's inspect overloads, kept apart from the
// types so that the plain helpers and the facade use the types without CAF. CAF finds them by
// argument-dependent lookup when it instantiates a type's serializer, so every header that gives
// CAF the types (type_ids.hpp, and through it interfaces.hpp) includes this one first.

namespace actorio {

/// Crosses the wire as the piece sizes, then every byte as one block (the layout of a
/// `std::vector<std::uint64_t>` followed by a `std::vector<char>`): one buffer on arrival.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, byte_pieces& x) {
  constexpr auto name = caf::meta::type_name("actorio::byte_pieces");
  std::vector<std::uint64_t> sizes;
  if constexpr (Inspector::reads_state) {
    sizes.reserve(x.size());
    for (auto piece : x)
      sizes.push_back(piece.size());
  }
  if constexpr (std::is_void_v<typename Inspector::result_type>) {
    // deep_to_string: the sizes say enough.
    f(name, sizes);
  } else if constexpr (Inspector::reads_state) {
    std::size_t total = x.total_bytes();
    return caf::error::eval([&] { return f(name, sizes); }, [&] { return f.begin_sequence(total); },
                            [&]() -> caf::error {
                              for (auto piece : x)
                                if (!piece.empty())
                                  if (auto err =
                                        f.apply_raw(piece.size(), const_cast<char*>(piece.data())))
                                    return err;
                              return caf::none;
                            },
                            [&] { return f.end_sequence(); });
  } else {
    std::size_t total = 0;
    return caf::error::eval(
      [&] { return f(name, sizes); }, [&] { return f.begin_sequence(total); },
      [&]() -> caf::error {
        std::uint64_t sum = 0;
        for (auto s : sizes) {
          if (s > total - sum)
            return caf::make_error(caf::sec::invalid_argument, "byte_pieces: sizes exceed bytes");
          sum += s;
        }
        if (sum != total)
          return caf::make_error(caf::sec::invalid_argument, "byte_pieces: sizes miss bytes");
        // A peer's count is allocated only when the message can hold that many bytes.
        if (auto* bin = dynamic_cast<caf::binary_deserializer*>(&f);
            bin && total > bin->remaining())
          return caf::make_error(caf::sec::end_of_stream, "byte_pieces: bytes missing");
        try {
          x = byte_pieces{sizes};
        } catch (const std::bad_alloc&) {
          return caf::make_error(caf::sec::invalid_argument, "byte_pieces: no memory");
        }
        if (total > 0)
          return f.apply_raw(total, x[0].data());
        return caf::none;
      },
      [&] { return f.end_sequence(); });
  }
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, failure& x) {
  return f(caf::meta::type_name("actorio::failure"), x.code, x.op, x.path, x.detail);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chunk& x) {
  return f(caf::meta::type_name("actorio::chunk"), x.offset, x.data);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, map_info& x) {
  return f(caf::meta::type_name("actorio::map_info"), x.path, x.mode, x.size, x.mapped_length,
           x.modified_ns, x.links);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, byte_range& x) {
  return f(caf::meta::type_name("actorio::byte_range"), x.offset, x.size);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, read_job& x) {
  return f(caf::meta::type_name("actorio::read_job"), x.path, x.ranges, x.whole);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, write_job& x) {
  return f(caf::meta::type_name("actorio::write_job"), x.path, x.chunks);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, resize_job& x) {
  return f(caf::meta::type_name("actorio::resize_job"), x.path, x.size);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, copy_job& x) {
  return f(caf::meta::type_name("actorio::copy_job"), x.src, x.dst);
}

/// The target crosses the wire as its number; an unknown one is refused on arrival.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, copy_options& x) {
  auto target = static_cast<std::uint8_t>(x.target);
  if constexpr (Inspector::reads_state) {
    return f(caf::meta::type_name("actorio::copy_options"), x.flush, x.verify, x.replace, target);
  } else {
    auto load = caf::meta::load_callback([&]() -> caf::error {
      if (target > static_cast<std::uint8_t>(copy_target::file_or_directory))
        return caf::make_error(caf::sec::invalid_argument);
      x.target = static_cast<copy_target>(target);
      return caf::none;
    });
    return f(caf::meta::type_name("actorio::copy_options"), x.flush, x.verify, x.replace, target,
             load);
  }
}

/// Sizes cross the wire as 64-bit numbers and the step timeout as milliseconds.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_copy_options& x) {
  auto chunk = static_cast<std::uint64_t>(x.chunk_bytes);
  auto window = static_cast<std::uint64_t>(x.window);
  auto step = static_cast<std::int64_t>(x.step_timeout.count());
  if constexpr (Inspector::reads_state) {
    return f(caf::meta::type_name("actorio::node_copy_options"), x.verify, x.flush, chunk, window,
             step);
  } else {
    auto load = caf::meta::load_callback([&]() -> caf::error {
      x.chunk_bytes = static_cast<std::size_t>(chunk);
      x.window = static_cast<std::size_t>(window);
      x.step_timeout = std::chrono::milliseconds{step};
      return caf::none;
    });
    return f(caf::meta::type_name("actorio::node_copy_options"), x.verify, x.flush, chunk, window,
             step, load);
  }
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, find_job& x) {
  return f(caf::meta::type_name("actorio::find_job"), x.path, x.start);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, size_change& x) {
  return f(caf::meta::type_name("actorio::size_change"), x.old_size, x.new_size);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, walk_options& x) {
  return f(caf::meta::type_name("actorio::walk_options"), x.follow_symlinks, x.include, x.exclude,
           x.exclude_dir, x.page_size);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, walk_page& x) {
  return f(caf::meta::type_name("actorio::walk_page"), x.files, x.errors, x.next, x.done);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, progress& x) {
  return f(caf::meta::type_name("actorio::progress"), x.bytes_done, x.bytes_total, x.items_done,
           x.items_total);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, report_progress& x) {
  return f(caf::meta::type_name("actorio::report_progress"), x.every_ms);
}

/// A per-item result crosses the wire as (ok, value, failure): one of the two is default.
template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, result<T>& x) {
  if constexpr (Inspector::reads_state) {
    // The value is written where it is: a copy would cost as much as the bytes it holds.
    bool ok = x.ok();
    if (ok) {
      failure none;
      return f(caf::meta::type_name("actorio::result"), ok, x.value(), none);
    }
    T none{};
    auto why = x.error();
    return f(caf::meta::type_name("actorio::result"), ok, none, why);
  } else {
    bool ok = false;
    T value{};
    failure why;
    auto load = caf::meta::load_callback([&]() -> caf::error {
      x = ok ? result<T>{std::move(value)} : result<T>{std::move(why)};
      return caf::none;
    });
    return f(caf::meta::type_name("actorio::result"), ok, value, why, load);
  }
}

} // namespace actorio
