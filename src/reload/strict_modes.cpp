#include "reload/strict_modes.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

namespace pbxgate {
namespace {

std::string octal(mode_t m) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
    return buf;
}

// One file or directory: trusted owner, and writable by nobody else.
std::optional<std::string> unsafe(const std::string& path, const struct stat& st, bool directory, uid_t engine_uid) {
    if (st.st_uid != 0 && st.st_uid != engine_uid)
        return path + " is owned by uid " + std::to_string(st.st_uid) + ", not by root or the engine's user (uid " +
               std::to_string(engine_uid) + ")";
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) == 0) return std::nullopt;
    if (directory && (st.st_mode & S_ISVTX)) return std::nullopt;  // sticky: others cannot replace our entries
    return path + " is writable by " + ((st.st_mode & S_IWOTH) ? "everyone" : "its group") + " (mode " +
           octal(st.st_mode) + ")";
}

// Every directory above `file`, nearest first, up to "/".
std::optional<std::string> unsafe_directories(const std::filesystem::path& file, uid_t engine_uid) {
    for (std::filesystem::path dir = file.parent_path();; dir = dir.parent_path()) {
        struct stat st {};
        if (::stat(dir.c_str(), &st) != 0) return "cannot check " + dir.string() + ": " + std::strerror(errno);
        if (auto why = unsafe(dir.string(), st, true, engine_uid)) return why;
        if (dir == dir.root_path() || !dir.has_relative_path()) return std::nullopt;
    }
}

// The directories as the path is written (where a symlink to the file lives) and where it
// really is: someone who can replace either decides the content.
std::optional<std::string> unsafe_ancestors(const std::string& path, uid_t engine_uid) {
    std::error_code ec;
    const auto written = std::filesystem::absolute(path, ec).lexically_normal();
    if (ec) return "cannot resolve " + path + ": " + ec.message();
    if (auto why = unsafe_directories(written, engine_uid)) return why;
    const auto real = std::filesystem::canonical(written, ec);
    if (ec) return "cannot resolve " + path + ": " + ec.message();
    if (real != written) return unsafe_directories(real, engine_uid);
    return std::nullopt;
}

std::string advice() {
    return ": policy files and the directories above them must be writable only by root or the engine's user "
           "(chmod go-w, chown root; pbxgate run --no-strict-modes skips this check)";
}

}  // namespace

std::optional<std::string> strict_modes_problem(const std::string& path, uid_t engine_uid) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return "cannot check " + path + ": " + std::strerror(errno);
    if (auto why = unsafe(path, st, false, engine_uid)) return why;
    return unsafe_ancestors(path, engine_uid);
}

file_reader strict_modes_reader(uid_t engine_uid) {
    return [engine_uid](const std::string& path) -> std::optional<std::string> {
        // The file is checked through the descriptor it is read from: what is checked is
        // what is read, even if the name is replaced in between.
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) return std::nullopt;
        struct fd_closer {
            int fd;
            ~fd_closer() { ::close(fd); }
        } guard{fd};
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
        if (auto why = unsafe(path, st, false, engine_uid)) throw std::runtime_error(*why + advice());
        if (auto why = unsafe_ancestors(path, engine_uid)) throw std::runtime_error(*why + advice());
        std::string text;
        char buf[8192];
        for (;;) {
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return std::nullopt;
            if (n == 0) return text;
            text.append(buf, static_cast<std::size_t>(n));
        }
    };
}

}  // namespace pbxgate
