// Compiled by the layer_* tests (tests/CMakeLists.txt) with one layer's include paths and
// ACTORIO_PROBE naming a header: whether that layer can include it.
#include ACTORIO_PROBE
