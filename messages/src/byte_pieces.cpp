#include "actorio/messages/byte_pieces.hpp"

#include <algorithm>
#include <cstring>

namespace actorio {

namespace {

constexpr std::uint64_t page_size = 4096;
constexpr std::uint64_t cache_line = 64;

} // namespace

char* byte_pieces::add_buffer(std::uint64_t bytes) {
  // The kernel's copy out of the page cache runs at about half speed into a destination at the
  // heap's 16-byte alignment, and slower still into a page-aligned one (its stores alias the loads
  // 4 KiB apart): a large buffer starts one cache line past a page boundary, so pieces of whole
  // pages laid back to back all do.
  auto slack = bytes >= page_size ? page_size + cache_line : 0;
  // `new char[]` leaves the bytes uninitialized: they are about to be overwritten.
  buffers_.emplace_back(new char[bytes + slack]);
  auto* start = buffers_.back().get();
  if (slack == 0)
    return start;
  auto at = reinterpret_cast<std::uintptr_t>(start);
  return start + (page_size + cache_line - at % page_size) % page_size;
}

byte_pieces::byte_pieces(std::span<const std::uint64_t> sizes) {
  std::uint64_t total = 0;
  for (auto s : sizes)
    total += s;
  pieces_.reserve(sizes.size());
  if (total == 0) {
    pieces_.resize(sizes.size());
    return;
  }
  auto* at = add_buffer(total);
  for (auto s : sizes) {
    pieces_.emplace_back(at, static_cast<std::size_t>(s));
    at += s;
  }
}

byte_pieces::byte_pieces(const byte_pieces& other) {
  std::vector<std::uint64_t> sizes;
  sizes.reserve(other.size());
  for (auto piece : other)
    sizes.push_back(piece.size());
  *this = byte_pieces{sizes};
  for (std::size_t i = 0; i < pieces_.size(); ++i)
    if (!pieces_[i].empty())
      std::memcpy(pieces_[i].data(), other.pieces_[i].data(), pieces_[i].size());
}

byte_pieces& byte_pieces::operator=(const byte_pieces& other) {
  if (this != &other)
    *this = byte_pieces{other};
  return *this;
}

std::uint64_t byte_pieces::total_bytes() const noexcept {
  std::uint64_t total = 0;
  for (auto piece : pieces_)
    total += piece.size();
  return total;
}

void byte_pieces::truncate(std::size_t i, std::size_t n) noexcept {
  if (n < pieces_[i].size())
    pieces_[i] = pieces_[i].first(n);
}

void byte_pieces::append(byte_pieces&& other) {
  if (pieces_.empty() && buffers_.empty()) {
    *this = std::move(other);
    return;
  }
  buffers_.reserve(buffers_.size() + other.buffers_.size());
  pieces_.insert(pieces_.end(), other.pieces_.begin(), other.pieces_.end());
  std::move(other.buffers_.begin(), other.buffers_.end(), std::back_inserter(buffers_));
  other = byte_pieces{};
}

bool operator==(const byte_pieces& x, const byte_pieces& y) noexcept {
  return std::equal(x.begin(), x.end(), y.begin(), y.end(), [](auto a, auto b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  });
}

} // namespace actorio
