// The policy file watcher on a real directory: a finished change (rename onto the name,
// write closed) is due at once; a change in progress (write not closed, file gone) waits
// for the quiet period; other files are ignored.
#include <catch2/catch.hpp>

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "reload/file_watcher.hpp"
#include "temp_dir.hpp"

using namespace pbxgate;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Long enough that "due at once" and "due after the quiet period" cannot be confused on a
// loaded machine.
constexpr auto quiet = 250ms;
constexpr auto at_once = 100ms;

using pbxgate::testing::temp_dir;

void write(const fs::path& p, const std::string& text) {
    std::ofstream f(p, std::ios::trunc);
    f << text;
}

// Editors and config tools: write a temporary file, rename it over the target.
void replace_atomically(const fs::path& p, const std::string& text) {
    const fs::path tmp = p.string() + ".tmp~";
    write(tmp, text);
    fs::rename(tmp, p);
}

struct due_log {
    std::vector<file_watcher::clock::time_point> when;
};

// Drives the watcher as the engine's loop does, for `span`, recording when reloads fall due.
due_log pump(file_watcher& w, std::chrono::milliseconds span) {
    due_log log;
    const auto end = file_watcher::clock::now() + span;
    for (auto now = file_watcher::clock::now(); now < end; now = file_watcher::clock::now()) {
        pollfd pfd{w.fd(), POLLIN, 0};
        poll(&pfd, 1, 5);
        now = file_watcher::clock::now();
        if (pfd.revents & POLLIN) w.read_events(now);
        if (w.take_due(now)) log.when.push_back(now);
    }
    return log;
}

}  // namespace

TEST_CASE("each way of changing a watched file gives one reload, at once when the file is complete", "[reload][watch]") {
    struct row {
        const char* what;
        std::function<void(const fs::path& top, const fs::path& base)> change;
        std::size_t reloads;
        bool immediate;  // due at once (a complete file), else a quiet period after the change
    };
    const std::vector<row> rows = {
        {"write in place (closed)", [](const fs::path& t, const fs::path&) { write(t, "a = 2\n"); }, 1, true},
        {"atomic rename over it", [](const fs::path& t, const fs::path&) { replace_atomically(t, "a = 3\n"); }, 1, true},
        {"a file it extends, in another directory",
         [](const fs::path&, const fs::path& b) { replace_atomically(b, "b = 2\n"); }, 1, true},
        {"vim-style: move away, write anew",
         [](const fs::path& t, const fs::path&) {
             fs::rename(t, t.string() + "~");
             write(t, "a = 4\n");
         },
         1, true},
        {"deleted (the reload reports it)", [](const fs::path& t, const fs::path&) { fs::remove(t); }, 1, false},
        {"moved away and not replaced", [](const fs::path& t, const fs::path&) { fs::rename(t, t.string() + "~"); }, 1,
         false},
        {"an unrelated file in the same directory",
         [](const fs::path& t, const fs::path&) { write(t.parent_path() / "notes.txt", "x\n"); }, 0, false},
        {"a file with a name that only starts the same",
         [](const fs::path& t, const fs::path&) { write(t.string() + ".bak", "x\n"); }, 0, false},
        {"read only", [](const fs::path& t, const fs::path&) { std::ifstream f(t); std::string s; f >> s; }, 0, false},
    };
    for (const row& r : rows) {
        INFO(r.what);
        temp_dir dir;
        const fs::path top = dir.path / "site.toml";
        fs::create_directory(dir.path / "lib");
        const fs::path base = dir.path / "lib" / "base.toml";
        write(top, "a = 1\n");
        write(base, "b = 1\n");
        file_watcher w(quiet);
        REQUIRE(w.watch({top.string(), base.string()}).empty());
        r.change(top, base);
        const auto changed = file_watcher::clock::now();
        const due_log log = pump(w, quiet + 300ms);
        CHECK(log.when.size() == r.reloads);
        for (const auto& t : log.when) {
            if (r.immediate) CHECK(t - changed < at_once);
            else CHECK(t - changed >= quiet);
        }
        CHECK_FALSE(w.deadline());
    }
}

TEST_CASE("a write still in progress is debounced; its close is due at once", "[reload][watch]") {
    temp_dir dir;
    const fs::path top = dir.path / "site.toml";
    write(top, "a = 1\n");
    file_watcher w(quiet);
    REQUIRE(w.watch({top.string()}).empty());
    // A slow writer: 8 writes 40 ms apart (less than the quiet period), file kept open.
    std::ofstream f(top, std::ios::trunc);
    file_watcher::clock::time_point last_write;
    due_log during;
    for (int i = 0; i < 8; ++i) {
        f << "a = " << i << "\n";
        f.flush();
        last_write = file_watcher::clock::now();
        const due_log l = pump(w, 40ms);
        during.when.insert(during.when.end(), l.when.begin(), l.when.end());
    }
    CHECK(during.when.empty());
    // Then it finishes: the closed file is complete, due at once.
    f.close();
    const auto closed = file_watcher::clock::now();
    const due_log after = pump(w, 50ms + at_once);
    REQUIRE(after.when.size() == 1);
    CHECK(after.when.front() - closed < at_once);

    // A writer that never closes: due a quiet period after its last write.
    std::ofstream g(top, std::ios::trunc);
    g << "a = 9\n";
    g.flush();
    const auto wrote = file_watcher::clock::now();
    const due_log stalled = pump(w, quiet + 200ms);
    REQUIRE(stalled.when.size() == 1);
    CHECK(stalled.when.front() - wrote >= quiet);
    CHECK(stalled.when.front() - wrote < quiet + 150ms);
}

TEST_CASE("a complete file waits while another watched file is still being written", "[reload][watch]") {
    temp_dir dir;
    const fs::path top = dir.path / "site.toml", base = dir.path / "base.toml";
    write(top, "a = 1\n");
    write(base, "b = 1\n");
    file_watcher w(quiet);
    REQUIRE(w.watch({top.string(), base.string()}).empty());
    std::ofstream b(base, std::ios::trunc);  // a tool rewriting both, base first
    b << "b = 2\n";
    b.flush();
    pump(w, 10ms);
    replace_atomically(top, "a = 2\n");
    CHECK(pump(w, at_once).when.empty());  // base is half written: not yet
    b.close();
    const auto closed = file_watcher::clock::now();
    const due_log log = pump(w, at_once + 50ms);
    REQUIRE(log.when.size() == 1);
    CHECK(log.when.front() - closed < at_once);
}

TEST_CASE("watch() replaces the watched set; cancel() drops a pending reload", "[reload][watch]") {
    temp_dir dir;
    const fs::path top = dir.path / "site.toml", old_base = dir.path / "old.toml";
    write(top, "a = 1\n");
    write(old_base, "b = 1\n");
    file_watcher w(quiet);
    REQUIRE(w.watch({top.string(), old_base.string()}).empty());
    REQUIRE(w.watch({top.string()}).empty());  // the policy no longer extends old.toml
    write(old_base, "b = 2\n");
    CHECK(pump(w, 100ms).when.empty());

    fs::remove(top);  // pending for the quiet period
    pump(w, 10ms);
    REQUIRE(w.deadline());
    w.cancel();  // a SIGHUP reload covered it
    CHECK(pump(w, quiet + 100ms).when.empty());

    // A directory that does not exist is reported, the others still watched.
    const auto problems = w.watch({top.string(), (dir.path / "missing" / "x.toml").string()});
    REQUIRE(problems.size() == 1);
    CHECK(problems.front().find("missing") != std::string::npos);
    write(top, "a = 3\n");
    CHECK(pump(w, at_once).when.size() == 1);
}

TEST_CASE("the watcher tells whether only some files (blocklists) changed", "[reload][watch]") {
    temp_dir dir;
    const fs::path policy = dir.path / "site.toml";
    const fs::path list = dir.path / "feed.txt";
    write(policy, "# policy\n");
    write(list, "192.0.2.1\n");
    file_watcher w(quiet);
    w.watch({policy.string(), list.string()});
    const std::vector<std::string> lists{list.string()};

    replace_atomically(list, "192.0.2.2\n");
    CHECK(pump(w, at_once).when.size() == 1);
    CHECK(w.take_changed_only(lists));       // only the list: no policy recompile
    CHECK_FALSE(w.take_changed_only(lists));  // forgotten once taken

    replace_atomically(list, "192.0.2.3\n");
    replace_atomically(policy, "# policy 2\n");
    CHECK(pump(w, at_once).when.size() == 1);
    CHECK_FALSE(w.take_changed_only(lists));  // the policy too: a full reload

    replace_atomically(policy, "# policy 3\n");
    CHECK(pump(w, at_once).when.size() == 1);
    CHECK_FALSE(w.take_changed_only(lists));
}
