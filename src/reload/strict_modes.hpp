// StrictModes for policy files, as sshd checks authorized_keys: whoever can write a policy
// file, or rename things in a directory above it, decides what the engine lets through.
// Each file the policy reads (the top file and all it extends) and every directory above it
// must be owned by root or the engine's user and writable by no one else. One deviation: a
// world-writable directory with the sticky bit (/tmp) is accepted, since others cannot
// rename or remove what it holds; the entry below it is checked as usual.
//
// The engine loads through strict_modes_reader at start and at every reload; a file that
// fails is refused like any policy error ("cannot read F: ..."), and the running generation
// stays in force. `pbxgate run --no-strict-modes` turns it off (test trees).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "pbxgate/policy.hpp"

namespace pbxgate {

// Why `path` is unsafe, or nullopt when it is safe. Root (uid 0) is always a trusted owner.
std::optional<std::string> strict_modes_problem(const std::string& path, uid_t engine_uid);

// Reads like filesystem_reader(), after checking the file and its directories; throws
// std::runtime_error naming the offending path when the check fails.
file_reader strict_modes_reader(uid_t engine_uid);

}  // namespace pbxgate
