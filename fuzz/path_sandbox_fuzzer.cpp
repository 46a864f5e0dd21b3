// Checks the path sandbox (io/src/path_sandbox.hpp) on a small tree with symlinks that lead in,
// out and round: the lexical refusals (empty, NUL, absolute, `..` above the root, PATH_MAX,
// NAME_MAX) give their documented errno before any system call; whatever opens is beneath the
// root (its inode is one of the tree's); and the openat2 path and the no-symlink walk agree,
// except that the walk refuses every symlink with ELOOP.

#include "io/src/path_sandbox.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>

using actorio::detail::path_sandbox;
using actorio::detail::walk_beneath;
namespace fs = std::filesystem;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "path_sandbox_fuzzer: %s\n", what);
    std::abort();
  }
}

using inode = std::pair<dev_t, ino_t>;

inode inode_of(int fd) {
  struct stat st {};
  check(::fstat(fd, &st) == 0, "fstat");
  return {st.st_dev, st.st_ino};
}

/// base/root/{a/b/, a/f, g, in -> a, up -> .., out -> ../outside, abs -> base/outside,
/// loop -> loop} and base/outside/secret. Removed at exit.
struct tree {
  fs::path base;
  std::optional<path_sandbox> sandbox;
  std::set<inode> beneath;

  tree() {
    char name[] = "/tmp/fuzz-path_sandbox-XXXXXX";
    check(::mkdtemp(name) != nullptr, "mkdtemp");
    base = name;
    auto root = base / "root";
    fs::create_directories(root / "a" / "b");
    fs::create_directories(base / "outside");
    std::ofstream{root / "a" / "f"} << "f";
    std::ofstream{root / "g"} << "g";
    std::ofstream{base / "outside" / "secret"} << "secret";
    fs::create_directory_symlink("a", root / "in");
    fs::create_directory_symlink("..", root / "up");
    fs::create_directory_symlink("../outside", root / "out");
    fs::create_directory_symlink(base / "outside", root / "abs");
    fs::create_symlink("loop", root / "loop");
    auto s = path_sandbox::open(root.string());
    check(s.ok(), "open the sandbox root");
    sandbox.emplace(std::move(s).value());
    struct stat st {};
    check(::stat(root.c_str(), &st) == 0, "stat root");
    beneath.insert({st.st_dev, st.st_ino});
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      check(::lstat(e.path().c_str(), &st) == 0, "lstat");
      beneath.insert({st.st_dev, st.st_ino});
    }
  }

  ~tree() {
    std::error_code ignored;
    fs::remove_all(base, ignored);
  }
};

/// The refusals the sandbox documents before any system call, or 0.
int lexical_refusal(std::string_view path) {
  if (path.empty())
    return ENOENT;
  if (path.find('\0') != std::string_view::npos)
    return EINVAL;
  if (path.front() == '/')
    return EACCES;
  if (path.size() >= PATH_MAX)
    return ENAMETOOLONG;
  long depth = 0;
  for (std::size_t pos = 0; pos <= path.size();) {
    auto slash = std::min(path.find('/', pos), path.size());
    auto part = path.substr(pos, slash - pos);
    pos = slash + 1;
    if (part.empty() || part == ".")
      continue;
    if (part.size() > NAME_MAX)
      return ENAMETOOLONG;
    depth += part == ".." ? -1 : 1;
    if (depth < 0)
      return EACCES;
  }
  return 0;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const tree t;
  FuzzedDataProvider fdp{data, size};
  constexpr int flag_choices[] = {O_RDONLY, O_RDONLY | O_DIRECTORY, O_PATH, O_RDONLY | O_NOFOLLOW};
  auto flags = fdp.PickValueInArray(flag_choices);
  auto path = fdp.ConsumeRemainingBytesAsString();

  auto kernel = t.sandbox->open_beneath(path, flags);
  auto walk = walk_beneath(t.sandbox->root_fd(), path, flags);
  if (auto code = lexical_refusal(path)) {
    check(!kernel && kernel.error().code == code, "open_beneath: wrong lexical refusal");
    check(!walk && walk.error().code == code, "walk_beneath: wrong lexical refusal");
    check(kernel.error().path == path, "the failure does not name the user's path");
    return 0;
  }
  if (kernel)
    check(t.beneath.count(inode_of(kernel->get())) == 1, "open_beneath opened outside the root");
  if (walk) {
    check(t.beneath.count(inode_of(walk->get())) == 1, "walk_beneath opened outside the root");
    check(kernel.ok(), "walk_beneath opened what open_beneath refused");
    check(inode_of(kernel->get()) == inode_of(walk->get()), "the two resolutions differ");
  } else if (kernel) {
    check(walk.error().code == ELOOP, "walk_beneath refused a path without a symlink");
  } else {
    check(walk.error().code == kernel.error().code || walk.error().code == ELOOP,
          "the two resolutions fail differently");
  }
  return 0;
}
