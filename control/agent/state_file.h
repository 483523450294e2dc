// Durable state files: a whole file replaced atomically (write a temporary
// file, fsync it, rename it over the old one, fsync the directory), so a
// crash at any moment leaves either the old or the new content, never a mix.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"

namespace ferry::agent {

// Creates `dir` (and parents) with mode 0700 when missing.
Result<void> ensure_dir(const std::string& dir);

// Replaces `path` with `content` atomically and durably.
Result<void> write_file_atomic(const std::string& path, const std::string& content);

// The file's content, or nullopt when it does not exist.
Result<std::optional<std::string>> read_file(const std::string& path);

}  // namespace ferry::agent
