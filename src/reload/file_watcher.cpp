#include "reload/file_watcher.hpp"

#include <limits.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <system_error>

namespace pbxgate {
namespace {

// A complete file at the name: a write closed, or a file renamed onto it.
constexpr std::uint32_t finished = IN_CLOSE_WRITE | IN_MOVED_TO;
// A change under way: content being written, a new (still empty) file, the file taken
// away (the reload that follows, if nothing replaces it, reports the missing file and keeps
// the running policy).
constexpr std::uint32_t unfinished = IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_FROM;
constexpr std::uint32_t watch_mask = finished | unfinished | IN_ONLYDIR;

// The paths to watch for one file: as written, and where a symlink leads.
std::vector<std::filesystem::path> spellings(const std::string& file) {
    std::error_code ec;
    std::vector<std::filesystem::path> out;
    const auto absolute = std::filesystem::absolute(file, ec).lexically_normal();
    if (ec) return out;
    out.push_back(absolute);
    const auto canonical = std::filesystem::weakly_canonical(absolute, ec);
    if (!ec && canonical != absolute) out.push_back(canonical);
    return out;
}

}  // namespace

file_watcher::file_watcher(std::chrono::milliseconds quiet) : quiet_(quiet) {
    fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "inotify_init1");
}

file_watcher::~file_watcher() {
    if (fd_ >= 0) close(fd_);
}

std::vector<std::string> file_watcher::watch(const std::vector<std::string>& files) {
    std::vector<std::string> problems;
    std::map<std::string, std::set<std::string>> wanted;  // directory -> file names
    std::set<std::string> paths;
    for (const std::string& f : files)
        for (const auto& p : spellings(f)) {
            wanted[p.parent_path().string()].insert(p.filename().string());
            paths.insert(p.string());
        }
    std::vector<dir_watch> next;
    for (auto& [dir, names] : wanted) {
        // Adding a directory already watched returns its existing descriptor.
        const int wd = inotify_add_watch(fd_, dir.c_str(), watch_mask);
        if (wd < 0) {
            problems.push_back("cannot watch " + dir + ": " + std::strerror(errno));
            continue;
        }
        next.push_back(dir_watch{wd, dir, std::move(names)});
    }
    for (const dir_watch& old : dirs_) {
        const bool kept = std::any_of(next.begin(), next.end(), [&](const dir_watch& d) { return d.wd == old.wd; });
        if (!kept) inotify_rm_watch(fd_, old.wd);
    }
    dirs_ = std::move(next);
    files_ = std::move(paths);
    return problems;
}

void file_watcher::slow_down(const std::vector<std::string>& files, std::chrono::milliseconds quiet) {
    slow_files_.clear();
    for (const std::string& f : files)
        for (const auto& p : spellings(f)) slow_files_.insert(p.string());
    slow_quiet_ = quiet;
}

void file_watcher::read_events(clock::time_point now) {
    // inotify's documented minimum buffer for one event with the longest name.
    alignas(inotify_event) char buf[sizeof(inotify_event) + NAME_MAX + 1 + 4096];
    bool any_finished = false, any_unfinished = false;
    for (;;) {
        const ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n <= 0) break;  // EAGAIN: drained (errors other than EINTR do not repeat usefully)
        for (ssize_t off = 0; off + static_cast<ssize_t>(sizeof(inotify_event)) <= n;) {
            inotify_event ev;
            std::memcpy(&ev, buf + off, sizeof ev);
            const char* name = buf + off + sizeof(inotify_event);
            off += static_cast<ssize_t>(sizeof(inotify_event) + ev.len);
            if (off > n) break;
            if (ev.mask & IN_Q_OVERFLOW) {
                any_finished = true;  // events were lost: reload to be sure
                changed_unknown_ = true;
                continue;
            }
            if (ev.len == 0) continue;
            const std::string file(name, strnlen(name, ev.len));
            bool watched = false, slow = false;
            for (const dir_watch& d : dirs_)
                if (d.wd == ev.wd && d.names.count(file)) {
                    watched = true;
                    slow = slow || slow_files_.count(d.dir + "/" + file) != 0;
                }
            if (!watched) continue;
            for (const dir_watch& d : dirs_)
                if (d.wd == ev.wd && d.names.count(file)) changed_.insert(d.dir + "/" + file);
            if (slow) {
                // FreePBX rewrites many Asterisk files one after the other on Apply: even a
                // finished one waits until the whole set has been quiet for slow_quiet_.
                slow_until_ = now + std::max(slow_quiet_, quiet_);
                continue;
            }
            // In queue order: the last event on a name says whether it is finished.
            if (ev.mask & finished) {
                in_progress_.erase({ev.wd, file});
                any_finished = true;
            } else if (ev.mask & unfinished) {
                in_progress_.insert({ev.wd, file});
                any_unfinished = true;
            }
        }
    }
    if (!in_progress_.empty()) {
        // A writer is not done: wait a quiet period after its last sign of life.
        if (any_unfinished || !deadline_) deadline_ = now + quiet_;
    } else if (any_finished) {
        deadline_ = now;  // every change seen is complete
    }
    if (slow_until_) deadline_ = std::max(deadline_.value_or(now), *slow_until_);
}

bool file_watcher::take_due(clock::time_point now) noexcept {
    if (!deadline_ || now < *deadline_) return false;
    deadline_.reset();
    slow_until_.reset();
    in_progress_.clear();  // finished or given up on: the reload reads whatever is there
    return true;
}

bool file_watcher::take_changed_only(const std::vector<std::string>& files) {
    std::set<std::string> allowed;
    for (const std::string& f : files)
        for (const auto& p : spellings(f)) allowed.insert(p.string());
    bool only = !changed_unknown_ && !changed_.empty();
    for (const std::string& c : changed_)
        if (!allowed.count(c)) only = false;
    changed_.clear();
    changed_unknown_ = false;
    return only;
}

}  // namespace pbxgate
