#include "crowdsec/credentials.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "reload/strict_modes.hpp"

namespace pbxgate::crowdsec {
namespace {

constexpr std::size_t max_secret_bytes = 64 * 1024;

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

std::string octal(mode_t m) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
    return buf;
}

}  // namespace

credentials_result parse_machine_credentials(std::string_view yaml) {
    credentials_result r;
    machine_credentials c;
    bool have_login = false, have_password = false;
    unsigned lineno = 0;
    while (!yaml.empty()) {
        ++lineno;
        const std::size_t nl = yaml.find('\n');
        std::string_view line = yaml.substr(0, nl);
        yaml.remove_prefix(nl == std::string_view::npos ? yaml.size() : nl + 1);
        line = trim(line);
        if (line.empty() || line.front() == '#' || line == "---") continue;
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) {
            r.error = "line " + std::to_string(lineno) + ": expected 'key: value'";
            return r;
        }
        const std::string_view key = trim(line.substr(0, colon));
        std::string_view value = trim(line.substr(colon + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
            value = value.substr(1, value.size() - 2);
        if (key == "url") {
            c.url = std::string(value);
        } else if (key == "login") {
            c.login = std::string(value);
            have_login = !value.empty();
        } else if (key == "password") {
            c.password = std::string(value);
            have_password = !value.empty();
        }
        // Other keys (ca_cert_path, key_path...) are for TLS client auth, which pbxgate does not do.
    }
    if (!have_login || !have_password) {
        r.error = std::string("missing ") + (!have_login ? "login" : "password") +
                  " (write the file with `cscli machines add NAME --auto -f FILE`)";
        return r;
    }
    if (!c.url.empty() && c.url.back() != '/') c.url += '/';
    r.value = std::move(c);
    return r;
}

std::optional<std::string> secret_file_problem(const std::string& path, uid_t engine_uid) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return "cannot check " + path + ": " + std::strerror(errno);
    if (!S_ISREG(st.st_mode)) return path + " is not a regular file";
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        return path + " is accessible by its group or others (mode " + octal(st.st_mode) +
               "): a secret must be readable by its owner only (chmod 600)";
    // Owner and the directories above: the policy files' rule.
    return strict_modes_problem(path, engine_uid);
}

secret_read read_secret_file(const std::string& path, uid_t engine_uid, bool strict) {
    secret_read r;
    if (strict) {
        if (auto why = secret_file_problem(path, engine_uid)) {
            r.error = *why;
            return r;
        }
    }
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        r.error = "cannot read " + path + ": " + std::strerror(errno);
        return r;
    }
    std::string text;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(buf, static_cast<std::size_t>(n));
        if (text.size() > max_secret_bytes) {
            ::close(fd);
            r.error = path + " is larger than 64 KiB: not a key or credentials file";
            return r;
        }
    }
    ::close(fd);
    r.text = std::move(text);
    return r;
}

secret_read read_bouncer_key(const std::string& path, uid_t engine_uid, bool strict) {
    secret_read r = read_secret_file(path, engine_uid, strict);
    if (!r.text) return r;
    std::string_view t = *r.text;
    t = trim(t.substr(0, t.find('\n')));
    if (t.empty()) {
        r.error = path + ": no key on its first line (write what `cscli bouncers add NAME -o raw` prints)";
        r.text.reset();
        return r;
    }
    r.text = std::string(t);
    return r;
}

}  // namespace pbxgate::crowdsec
