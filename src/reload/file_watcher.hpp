// file_watcher: tells its owner when one of a set of files changed on disk (the engine
// watches the policy file and what it `extends`; any other set of files works the same).
//
// It watches the DIRECTORIES holding the files, not the files: an editor's write-and-rename
// and a config-management tool's atomic replace put a new inode at the path, and a watch on
// the old inode would see nothing after the first replace. Events are matched by file name.
//
// A finished change is due at once: a rename onto the name (IN_MOVED_TO) or the close of a
// file opened for writing (IN_CLOSE_WRITE) leaves a complete file. Only a change still in
// progress is debounced: a write not yet closed (IN_MODIFY), a new empty file (IN_CREATE),
// a file gone (IN_DELETE, IN_MOVED_FROM: an editor's replacement usually follows). While any
// watched name is in progress, nothing is due until it finishes or has been quiet for
// `quiet` (a writer that never closes, a file that stays deleted: the reload then reports
// what it finds).
//
// Not thread-safe: the engine's main thread owns it, next to its signalfd, in one poll().
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pbxgate {

class file_watcher {
public:
    using clock = std::chrono::steady_clock;

    // Throws std::system_error when inotify is unavailable (fd limit reached...).
    explicit file_watcher(std::chrono::milliseconds quiet = std::chrono::milliseconds(200));
    ~file_watcher();
    file_watcher(const file_watcher&) = delete;
    file_watcher& operator=(const file_watcher&) = delete;

    // Watch these files (replacing the previous set: `extends` may change on a reload).
    // Returns one message per directory that cannot be watched (missing, no permission).
    std::vector<std::string> watch(const std::vector<std::string>& files);

    // Among the watched files, these wait `quiet` (when longer than the default) before a
    // reload: FreePBX rewrites many Asterisk files one after the other on Apply.
    void slow_down(const std::vector<std::string>& files, std::chrono::milliseconds quiet);

    // The descriptor to poll for POLLIN.
    int fd() const noexcept { return fd_; }

    // Reads every pending event (non-blocking). A finished change makes a reload due now
    // (unless another watched name is still in progress); a change in progress arms, or
    // re-arms, the quiet period.
    void read_events(clock::time_point now);

    // When a reload becomes due (for poll's timeout), if one is pending.
    std::optional<clock::time_point> deadline() const noexcept { return deadline_; }
    // True (once) when a reload is due: reload now.
    bool take_due(clock::time_point now) noexcept;
    // A reload happened by other means (SIGHUP): drop the pending one.
    void cancel() noexcept {
        deadline_.reset();
        slow_until_.reset();
        in_progress_.clear();
        changed_.clear();
        changed_unknown_ = false;
    }
    // After take_due: were all the changes since the last reload to these files (and to no
    // other watched file)? Then the owner may reload only what depends on them (blocklist
    // files, without a policy recompile). Forgets the changes either way.
    bool take_changed_only(const std::vector<std::string>& files);

    const std::set<std::string>& files() const noexcept { return files_; }

private:
    struct dir_watch {
        int wd = -1;
        std::string dir;
        std::set<std::string> names;  // the watched files' names in this directory
    };

    int fd_ = -1;
    std::chrono::milliseconds quiet_;
    std::vector<dir_watch> dirs_;
    std::set<std::string> files_;  // absolute paths
    std::set<std::pair<int, std::string>> in_progress_;  // (directory watch, name) changing now
    std::set<std::string> slow_files_;  // absolute paths, see slow_down()
    std::chrono::milliseconds slow_quiet_{0};
    std::optional<clock::time_point> slow_until_;  // a slow file changed: not due before this
    std::optional<clock::time_point> deadline_;
    std::set<std::string> changed_;  // absolute paths with events since the last reload
    bool changed_unknown_ = false;   // the event queue overflowed: anything may have changed
};

}  // namespace pbxgate
