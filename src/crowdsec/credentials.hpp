// The secrets the CrowdSec client needs: the bouncer's API key (a file holding what
// `cscli bouncers add NAME -o raw` printed) and a machine's credentials (the YAML
// `cscli machines add NAME --auto -f FILE` writes: url, login, password). Both files must
// be root's (or the engine user's) and readable by no one else, like an ssh private key.
// Read once, at start, before the engine drops root. Never logged.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace pbxgate::crowdsec {

struct machine_credentials {
    std::string url;  // may be empty: [crowdsec] api_url is used then
    std::string login;
    std::string password;
};

struct credentials_result {
    std::optional<machine_credentials> value;
    std::string error;  // "LINE: what" (never quoting a password)
};

// The flat YAML cscli writes (`key: value`, values optionally quoted, # comments).
credentials_result parse_machine_credentials(std::string_view yaml);

// Why a secret file is unsafe (group/world readable or writable, owned by someone else,
// in a directory others can write), or nullopt. Root (uid 0) always owns safely.
std::optional<std::string> secret_file_problem(const std::string& path, uid_t engine_uid);

struct secret_read {
    std::optional<std::string> text;
    std::string error;  // names the path, never the content
};

// Checks (when `strict`) and reads a secret file of at most 64 KiB.
secret_read read_secret_file(const std::string& path, uid_t engine_uid, bool strict);

// The bouncer key: the file's first line, trimmed; empty is an error.
secret_read read_bouncer_key(const std::string& path, uid_t engine_uid, bool strict);

}  // namespace pbxgate::crowdsec
