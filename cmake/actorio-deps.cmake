# Imported targets for actorio's system dependencies. Used by the build tree and by the installed
# package config. Debian's libcaf-dev ships no CMake config and no pkg-config file, so CAF is
# wrapped here once; xxHash likewise has no config in Debian 12.
include(CMakeFindDependencyMacro)
find_dependency(Threads)
find_dependency(OpenSSL 3)

if(NOT TARGET CAF::core)
  find_path(ACTORIO_CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
  find_library(ACTORIO_CAF_CORE_LIBRARY NAMES caf_core REQUIRED)
  find_library(ACTORIO_CAF_IO_LIBRARY NAMES caf_io REQUIRED)
  find_library(ACTORIO_CAF_OPENSSL_LIBRARY NAMES caf_openssl REQUIRED)
  add_library(CAF::core UNKNOWN IMPORTED)
  set_target_properties(CAF::core PROPERTIES
    IMPORTED_LOCATION "${ACTORIO_CAF_CORE_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${ACTORIO_CAF_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES Threads::Threads)
  add_library(CAF::io UNKNOWN IMPORTED)
  set_target_properties(CAF::io PROPERTIES
    IMPORTED_LOCATION "${ACTORIO_CAF_IO_LIBRARY}"
    INTERFACE_LINK_LIBRARIES CAF::core)
  add_library(CAF::openssl UNKNOWN IMPORTED)
  set_target_properties(CAF::openssl PROPERTIES
    IMPORTED_LOCATION "${ACTORIO_CAF_OPENSSL_LIBRARY}"
    INTERFACE_LINK_LIBRARIES "CAF::io;OpenSSL::SSL;OpenSSL::Crypto")
endif()

# Optional: Debian's libhyperscan-dev (x86-64 only). ACTORIO_WITH_HYPERSCAN=OFF builds without it.
option(ACTORIO_WITH_HYPERSCAN "Search several find patterns with Hyperscan when it is found" ON)
if(ACTORIO_WITH_HYPERSCAN AND NOT TARGET Hyperscan::hs)
  find_path(ACTORIO_HYPERSCAN_INCLUDE_DIR hs/hs.h)
  find_library(ACTORIO_HYPERSCAN_LIBRARY NAMES hs)
  if(ACTORIO_HYPERSCAN_INCLUDE_DIR AND ACTORIO_HYPERSCAN_LIBRARY)
    add_library(Hyperscan::hs UNKNOWN IMPORTED)
    set_target_properties(Hyperscan::hs PROPERTIES
      IMPORTED_LOCATION "${ACTORIO_HYPERSCAN_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${ACTORIO_HYPERSCAN_INCLUDE_DIR}")
  endif()
endif()

if(NOT TARGET xxHash::xxhash)
  find_path(ACTORIO_XXHASH_INCLUDE_DIR xxhash.h REQUIRED)
  find_library(ACTORIO_XXHASH_LIBRARY NAMES xxhash REQUIRED)
  add_library(xxHash::xxhash UNKNOWN IMPORTED)
  set_target_properties(xxHash::xxhash PROPERTIES
    IMPORTED_LOCATION "${ACTORIO_XXHASH_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${ACTORIO_XXHASH_INCLUDE_DIR}")
endif()
