// The policy file watcher on a real directory: each way of changing a file gives exactly
// one reload, after the quiet period; bursts are one reload; other files are ignored.
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

using namespace pbxgate;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr auto quiet = 60ms;

struct temp_dir {
    fs::path path;
    temp_dir() {
        char templ[] = "/tmp/pbxgate-watch-XXXXXX";
        REQUIRE(mkdtemp(templ) != nullptr);
        path = templ;
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

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

TEST_CASE("each way of changing a watched file gives one reload after the quiet period", "[reload][watch]") {
    struct row {
        const char* what;
        std::function<void(const fs::path& top, const fs::path& base)> change;
        std::size_t reloads;
    };
    const std::vector<row> rows = {
        {"write in place", [](const fs::path& t, const fs::path&) { write(t, "a = 2\n"); }, 1},
        {"atomic rename over it", [](const fs::path& t, const fs::path&) { replace_atomically(t, "a = 3\n"); }, 1},
        {"a file it extends, in another directory",
         [](const fs::path&, const fs::path& b) { replace_atomically(b, "b = 2\n"); }, 1},
        {"deleted (the reload reports it)", [](const fs::path& t, const fs::path&) { fs::remove(t); }, 1},
        {"vim-style: move away, write anew",
         [](const fs::path& t, const fs::path&) {
             fs::rename(t, t.string() + "~");
             write(t, "a = 4\n");
         },
         1},
        {"a burst of 10 writes, 10 ms apart",
         [](const fs::path& t, const fs::path&) {
             for (int i = 0; i < 10; ++i) {
                 write(t, "a = " + std::to_string(i) + "\n");
                 std::this_thread::sleep_for(10ms);
             }
         },
         1},
        {"an unrelated file in the same directory",
         [](const fs::path& t, const fs::path&) { write(t.parent_path() / "notes.txt", "x\n"); }, 0},
        {"a file with a name that only starts the same",
         [](const fs::path& t, const fs::path&) { write(t.string() + ".bak", "x\n"); }, 0},
        {"read only", [](const fs::path& t, const fs::path&) { std::ifstream f(t); std::string s; f >> s; }, 0},
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
        const auto started = file_watcher::clock::now();
        r.change(top, base);
        const auto changed = file_watcher::clock::now();
        const due_log log = pump(w, 400ms);
        CHECK(log.when.size() == r.reloads);
        // Not before the last event has been quiet for the period.
        for (const auto& t : log.when) CHECK(t - changed >= quiet - (changed - started));
        CHECK_FALSE(w.deadline());
    }
}

TEST_CASE("a burst gives one reload, due a quiet period after its last event", "[reload][watch]") {
    temp_dir dir;
    const fs::path top = dir.path / "site.toml";
    write(top, "a = 1\n");
    file_watcher w(quiet);
    REQUIRE(w.watch({top.string()}).empty());
    // Events 30 ms apart (less than the quiet period) for 300 ms: no reload in between.
    file_watcher::clock::time_point last_write;
    due_log during;
    for (int i = 0; i < 10; ++i) {
        replace_atomically(top, "a = " + std::to_string(i) + "\n");
        last_write = file_watcher::clock::now();
        const due_log l = pump(w, 30ms);
        during.when.insert(during.when.end(), l.when.begin(), l.when.end());
    }
    CHECK(during.when.empty());
    const due_log after = pump(w, 300ms);
    REQUIRE(after.when.size() == 1);
    CHECK(after.when.front() - last_write >= quiet);
    CHECK(after.when.front() - last_write < quiet + 100ms);
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
    CHECK(pump(w, 200ms).when.empty());

    write(top, "a = 2\n");
    pump(w, 10ms);
    w.cancel();  // a SIGHUP reload covered it
    CHECK(pump(w, 200ms).when.empty());

    // A directory that does not exist is reported, the others still watched.
    const auto problems = w.watch({top.string(), (dir.path / "missing" / "x.toml").string()});
    REQUIRE(problems.size() == 1);
    CHECK(problems.front().find("missing") != std::string::npos);
    write(top, "a = 3\n");
    CHECK(pump(w, 200ms).when.size() == 1);
}
