#pragma once

#include <map>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actorio/messages/inspect.hpp"
#include "actorio/messages/types.hpp"

/// actorio's atoms and plain message types. CAF 0.17 caps atom text at 10 characters. Actor handle
/// types (interfaces.hpp) are registered by name in `actorio::add_message_types`.
// clang-format off
CAF_BEGIN_TYPE_ID_BLOCK(actorio, caf::first_custom_type_id + 100)

  CAF_ADD_TYPE_ID(actorio, (actorio::failure))
  CAF_ADD_TYPE_ID(actorio, (actorio::chunk))
  CAF_ADD_TYPE_ID(actorio, (actorio::map_info))
  CAF_ADD_TYPE_ID(actorio, (std::vector<char>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::chunk>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::map_info>))
  CAF_ADD_TYPE_ID(actorio, (actorio::open_mode))
  CAF_ADD_TYPE_ID(actorio, (actorio::utf8_errors))
  CAF_ADD_TYPE_ID(actorio, (actorio::map_advice))
  CAF_ADD_TYPE_ID(actorio, (std::map<std::string, actorio::open_mode>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<std::vector<char>>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<std::uint64_t>))
  CAF_ADD_TYPE_ID(actorio, (actorio::byte_range))
  CAF_ADD_TYPE_ID(actorio, (actorio::read_job))
  CAF_ADD_TYPE_ID(actorio, (actorio::write_job))
  CAF_ADD_TYPE_ID(actorio, (actorio::resize_job))
  CAF_ADD_TYPE_ID(actorio, (actorio::copy_job))
  CAF_ADD_TYPE_ID(actorio, (actorio::find_job))
  CAF_ADD_TYPE_ID(actorio, (std::vector<std::string>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::read_job>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::write_job>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::resize_job>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::copy_job>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::find_job>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::result<std::uint64_t>>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::result<std::string>>))
  CAF_ADD_TYPE_ID(actorio, (actorio::byte_pieces))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::result<actorio::byte_pieces>>))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::result<std::vector<std::uint64_t>>>))
  CAF_ADD_TYPE_ID(actorio, (actorio::progress))
  CAF_ADD_TYPE_ID(actorio, (actorio::report_progress))
  CAF_ADD_TYPE_ID(actorio, (actorio::copy_options))
  CAF_ADD_TYPE_ID(actorio, (actorio::size_change))
  CAF_ADD_TYPE_ID(actorio, (std::vector<actorio::result<actorio::size_change>>))
  CAF_ADD_TYPE_ID(actorio, (actorio::walk_options))
  CAF_ADD_TYPE_ID(actorio, (actorio::walk_page))

  // Mapped-file operations (open/close/flush reuse CAF's own atoms). An atom is named for its
  // facade method; its text is a short form of that name (CAF 0.17 allows 10 characters).
  CAF_ADD_ATOM(actorio, actorio, read_atom, "read")
  CAF_ADD_ATOM(actorio, actorio, write_atom, "write")
  CAF_ADD_ATOM(actorio, actorio, resize_atom, "resize")
  CAF_ADD_ATOM(actorio, actorio, grow_atom, "grow")
  CAF_ADD_ATOM(actorio, actorio, size_atom, "size")
  CAF_ADD_ATOM(actorio, actorio, sync_atom, "sync")
  CAF_ADD_ATOM(actorio, actorio, checksum_atom, "checksum")
  CAF_ADD_ATOM(actorio, actorio, info_atom, "info")
  CAF_ADD_ATOM(actorio, actorio, read_str_atom, "read_str")
  CAF_ADD_ATOM(actorio, actorio, write_str_atom, "write_str")
  CAF_ADD_ATOM(actorio, actorio, readline_atom, "readline")
  CAF_ADD_ATOM(actorio, actorio, readlines_atom, "readlines")
  CAF_ADD_ATOM(actorio, actorio, lines_atom, "lines")
  CAF_ADD_ATOM(actorio, actorio, read_until_atom, "read_until")
  CAF_ADD_ATOM(actorio, actorio, writelines_atom, "writelines")
  CAF_ADD_ATOM(actorio, actorio, insert_atom, "insert")
  CAF_ADD_ATOM(actorio, actorio, erase_atom, "erase")
  CAF_ADD_ATOM(actorio, actorio, replace_atom, "replace")
  CAF_ADD_ATOM(actorio, actorio, fill_atom, "fill")
  CAF_ADD_ATOM(actorio, actorio, copy_within_atom, "copywithin")
  CAF_ADD_ATOM(actorio, actorio, move_atom, "move")
  CAF_ADD_ATOM(actorio, actorio, compare_atom, "compare")
  CAF_ADD_ATOM(actorio, actorio, hamming_dist_atom, "hamming")
  CAF_ADD_ATOM(actorio, actorio, hamming_dist_bytes_atom, "hamming_by")
  CAF_ADD_ATOM(actorio, actorio, find_atom, "find")
  CAF_ADD_ATOM(actorio, actorio, rfind_atom, "rfind")
  CAF_ADD_ATOM(actorio, actorio, search_atom, "search")
  CAF_ADD_ATOM(actorio, actorio, compact_atom, "compact")
  CAF_ADD_ATOM(actorio, actorio, madvise_atom, "madvise")
  CAF_ADD_ATOM(actorio, actorio, clear_error_atom, "clearerror")

  // Manager operations.
  CAF_ADD_ATOM(actorio, actorio, create_sparse_atom, "sparse")
  CAF_ADD_ATOM(actorio, actorio, copy_file_atom, "copy_file")
  CAF_ADD_ATOM(actorio, actorio, currently_open_atom, "curr_open")
  CAF_ADD_ATOM(actorio, actorio, open_files_atom, "open_files")
  CAF_ADD_ATOM(actorio, actorio, open_paths_atom, "open_paths")
  CAF_ADD_ATOM(actorio, actorio, open_mmaps_atom, "open_mmaps")
  CAF_ADD_ATOM(actorio, actorio, approx_memory_usage_atom, "mem_usage")
  CAF_ADD_ATOM(actorio, actorio, shutdown_atom, "shutdown")
  CAF_ADD_ATOM(actorio, actorio, bulk_read_atom, "bulk_read")
  CAF_ADD_ATOM(actorio, actorio, bulk_write_atom, "bulk_write")
  CAF_ADD_ATOM(actorio, actorio, bulk_resize_atom, "bulk_resiz")
  CAF_ADD_ATOM(actorio, actorio, bulk_copy_atom, "bulk_copy")
  CAF_ADD_ATOM(actorio, actorio, bulk_checksum_atom, "bulk_cksum")
  CAF_ADD_ATOM(actorio, actorio, find_in_files_atom, "find_in")
  CAF_ADD_ATOM(actorio, actorio, compact_files_atom, "compact_fs")
  CAF_ADD_ATOM(actorio, actorio, prefetch_files_atom, "prefetch")
  CAF_ADD_ATOM(actorio, actorio, progress_atom, "progress")
  CAF_ADD_ATOM(actorio, actorio, walk_atom, "walk")
  CAF_ADD_ATOM(actorio, actorio, stage_atom, "stage")
  CAF_ADD_ATOM(actorio, actorio, write_staged_atom, "write_stg")
  CAF_ADD_ATOM(actorio, actorio, commit_staged_atom, "commit_stg")
  CAF_ADD_ATOM(actorio, actorio, discard_staged_atom, "discard")

  // Couple operations.
  CAF_ADD_ATOM(actorio, actorio, read1_atom, "read1")
  CAF_ADD_ATOM(actorio, actorio, readall_atom, "readall")
  CAF_ADD_ATOM(actorio, actorio, readinto_atom, "readinto")
  CAF_ADD_ATOM(actorio, actorio, readinto1_atom, "readinto1")
  CAF_ADD_ATOM(actorio, actorio, truncate_atom, "truncate")
  CAF_ADD_ATOM(actorio, actorio, ainput_atom, "ainput")
  CAF_ADD_ATOM(actorio, actorio, ready_atom, "ready")
  CAF_ADD_ATOM(actorio, actorio, cancel_atom, "cancel")

CAF_END_TYPE_ID_BLOCK(actorio)
// clang-format on
