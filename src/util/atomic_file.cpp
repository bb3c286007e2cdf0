#include "util/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace pbxgate {
namespace {

std::string failed(const char* what, const std::string& path, int err) {
    return std::string("cannot ") + what + " " + path + ": " + std::strerror(err);
}

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

}  // namespace

std::string replace_file(const std::string& path, std::string_view content, mode_t mode) {
    static std::atomic<unsigned> serial{0};
    std::string tmp;
    int fd = -1;
    // A unique name: two writers (stats and reload status share a directory) never meet,
    // and a stale temporary file from a crash is never reused.
    for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
        tmp = path + ".tmp." + std::to_string(getpid()) + "." + std::to_string(serial.fetch_add(1));
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0 && errno != EEXIST) return failed("create", tmp, errno);
    }
    if (fd < 0) return failed("create", tmp, EEXIST);
    // The umask must not decide who may read a status file.
    if (::fchmod(fd, mode) != 0 || !write_all(fd, content)) {
        const int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return failed("write", tmp, err);
    }
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return failed("write", tmp, err);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return failed("replace", path, err);
    }
    return {};
}

std::optional<std::string> read_small_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return std::nullopt;
    struct stat st {};
    std::optional<std::string> out;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        std::string text;
        char buf[4096];
        for (;;) {
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) break;
            if (n == 0) {
                out = std::move(text);
                break;
            }
            text.append(buf, static_cast<std::size_t>(n));
            if (text.size() > (1u << 20)) break;  // not a small state file
        }
    }
    ::close(fd);
    return out;
}

}  // namespace pbxgate
