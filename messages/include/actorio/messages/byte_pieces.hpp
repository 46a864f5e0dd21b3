#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <span>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace actorio {

/// Pieces of bytes in order, each a span into buffers the pieces own: what `bulk_read` gives
/// for one file, one piece per range. The reader fills a few large buffers (one per worker's share
/// of the ranges) instead of allocating each piece, and moving pieces moves the buffers: the bytes
/// are not copied between the read and the caller. Copying copies the bytes (into one buffer).
class byte_pieces {
public:
  using value_type = std::span<const char>;
  using size_type = std::size_t;

  /// Walks the pieces in order, each as a `std::span<const char>`.
  class const_iterator {
  public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = std::span<const char>;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = std::span<const char>;

    const_iterator() = default;
    std::span<const char> operator*() const noexcept {
      return *at_;
    }
    std::span<const char> operator[](difference_type n) const noexcept {
      return at_[n];
    }
    const_iterator& operator++() noexcept {
      ++at_;
      return *this;
    }
    const_iterator operator++(int) noexcept {
      return const_iterator{at_++};
    }
    const_iterator& operator--() noexcept {
      --at_;
      return *this;
    }
    const_iterator operator--(int) noexcept {
      return const_iterator{at_--};
    }
    const_iterator& operator+=(difference_type n) noexcept {
      at_ += n;
      return *this;
    }
    const_iterator& operator-=(difference_type n) noexcept {
      at_ -= n;
      return *this;
    }
    friend const_iterator operator+(const_iterator i, difference_type n) noexcept {
      return i += n;
    }
    friend const_iterator operator+(difference_type n, const_iterator i) noexcept {
      return i += n;
    }
    friend const_iterator operator-(const_iterator i, difference_type n) noexcept {
      return i -= n;
    }
    friend difference_type operator-(const_iterator a, const_iterator b) noexcept {
      return a.at_ - b.at_;
    }
    friend auto operator<=>(const const_iterator&, const const_iterator&) = default;

  private:
    friend class byte_pieces;
    explicit const_iterator(const std::span<char>* at) noexcept
      : at_(at) {}
    const std::span<char>* at_ = nullptr;
  };

  byte_pieces() = default;

  /// Pieces of the given sizes, back to back in one new buffer whose bytes are left as they come
  /// (they are about to be overwritten): fill them through the non-const `operator[]`. Throws
  /// std::bad_alloc.
  explicit byte_pieces(std::span<const std::uint64_t> sizes);

  byte_pieces(const byte_pieces& other);
  byte_pieces& operator=(const byte_pieces& other);
  byte_pieces(byte_pieces&&) noexcept = default;
  byte_pieces& operator=(byte_pieces&&) noexcept = default;
  ~byte_pieces() = default;

  /// The number of pieces.
  std::size_t size() const noexcept {
    return pieces_.size();
  }
  bool empty() const noexcept {
    return pieces_.empty();
  }

  /// Piece `i`; precondition: `i < size()`.
  std::span<const char> operator[](std::size_t i) const noexcept {
    return pieces_[i];
  }
  std::span<char> operator[](std::size_t i) noexcept {
    return pieces_[i];
  }

  /// Piece `i`; std::out_of_range when there is none.
  std::span<const char> at(std::size_t i) const {
    if (i >= pieces_.size())
      throw std::out_of_range("byte_pieces::at");
    return pieces_[i];
  }

  /// Piece `i` as text; precondition: `i < size()`.
  std::string_view text(std::size_t i) const noexcept {
    return {pieces_[i].data(), pieces_[i].size()};
  }

  const_iterator begin() const noexcept {
    return const_iterator{pieces_.data()};
  }
  const_iterator end() const noexcept {
    return const_iterator{pieces_.data() + pieces_.size()};
  }

  /// The bytes of all pieces together.
  std::uint64_t total_bytes() const noexcept;

  /// Cuts piece `i` to its first `n` bytes (a read that came back short); a piece no longer
  /// than `n` stays as it is.
  void truncate(std::size_t i, std::size_t n) noexcept;

  /// Appends the pieces of `other` after these, taking over its buffers: no byte is copied.
  void append(byte_pieces&& other);

  /// Same pieces with the same bytes (wherever they are held).
  friend bool operator==(const byte_pieces& x, const byte_pieces& y) noexcept;

private:
  /// Room for `bytes`, its start placed for fast copies out of the page cache.
  char* add_buffer(std::uint64_t bytes);

  std::vector<std::unique_ptr<char[]>> buffers_;
  std::vector<std::span<char>> pieces_;
};

} // namespace actorio
