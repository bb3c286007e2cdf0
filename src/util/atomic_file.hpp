// Small state files (pid, stats, reload status) replaced whole, never through a symlink.
//
// The engine writes them as root into directories others may share (/run, /tmp). Writing
// by path would follow a symlink planted there and overwrite whatever it names. Instead:
// a new temporary file beside the target, created with O_CREAT|O_EXCL|O_NOFOLLOW (never an
// existing file, never a link), written completely, then renamed over the target (rename
// replaces a link itself, not what it points to). A reader sees the old content or the
// new, never half a file.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

namespace pbxgate {

// Returns an error message ("cannot write PATH: ..."), empty on success.
std::string replace_file(const std::string& path, std::string_view content, mode_t mode = 0644);

// The content of a small regular file, not following a symlink at `path`; nullopt when
// it is missing, a link, or unreadable.
std::optional<std::string> read_small_file(const std::string& path);

}  // namespace pbxgate
