// Reads an Asterisk configuration file the way Asterisk's main/config.c does: `;` and
// `;-- --;` comments, `#include`/`#tryinclude` (globbed, in textual order, relative to
// the config dir, continuing the current category), `[name](!)` templates,
// `[name](a,b)` inheritance, `[name](+)` appends, `=`, `=>` and `+=`.
// Never throws on bad input: every problem comes back with FILE:LINE:COL. Bounded in
// include depth, number of files and bytes per file, so a hostile or looping tree of
// includes ends with an error.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pbxgate/policy.hpp"

namespace pbxgate::asterisk {

struct variable {
    std::string name;
    std::string value;
    source_location where;  // the line that set it (a template's line when inherited)
};

struct category {
    std::string name;
    bool is_template = false;  // `(!)`: not an object, only inherited from
    std::vector<variable> vars;
    source_location where;     // the `[name]` line
};

struct config {
    std::vector<category> categories;  // in file order; names repeat freely
    // Every file read, as named and (for symlinks) where they lead, plus include targets
    // that did not exist (#tryinclude): whoever watches the directory watches these names.
    std::vector<std::string> files;
    std::vector<diagnostic> warnings;  // what Asterisk itself only warns about, and skips
};

// The file system as the reader needs it; injected so fuzzing and unit tests stay in memory.
struct config_fs {
    std::function<std::optional<std::string>(const std::string& path, std::size_t max_bytes, bool& too_big)> read;
    // Paths matching a glob pattern, sorted (an exact name matches itself when it exists).
    std::function<std::vector<std::string>(const std::string& pattern)> glob;
    // Where a symlink finally leads, or the path itself ("" when it cannot say).
    std::function<std::string(const std::string& path)> resolve;
};
config_fs real_config_fs();

struct reader_limits {
    unsigned max_depth = 16;                  // nested #include levels
    std::size_t max_files = 512;              // files read in total
    std::size_t max_file_bytes = 8u << 20;    // one file
    std::size_t max_variables = 200000;       // in the whole config
};

struct read_result {
    std::optional<config> value;  // set only without errors
    std::vector<diagnostic> errors;
    bool ok() const noexcept { return value.has_value() && errors.empty(); }
};

// Reads DIR/FILE (FILE may be absolute). A missing top file is an error too: callers that
// accept a missing file check first.
read_result read_config(const std::string& dir, const std::string& file, const config_fs& fs = real_config_fs(),
                        const reader_limits& limits = reader_limits{});

// Asterisk's ast_true(): yes, true, y, t, 1, on (any case).
bool ast_true(const std::string& value) noexcept;
// Case-insensitive ASCII comparison (Asterisk compares names so).
bool iequals(const std::string& a, const std::string& b) noexcept;

}  // namespace pbxgate::asterisk
