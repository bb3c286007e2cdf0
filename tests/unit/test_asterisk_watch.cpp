// The watcher's longer quiet period for the Asterisk files ([asterisk] import): a write
// there reloads only after it, a symlink target's directory is watched too, and the policy
// file keeps its own short one.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "asterisk_staging.hpp"
#include "reload/file_watcher.hpp"

using namespace pbxgate;
using namespace std::chrono_literals;
using pbxgate::test::config_dir;

namespace {

// Reads events until one arrives (at most 2 s); returns the deadline they set.
std::optional<file_watcher::clock::time_point> deadline_after_write(file_watcher& w, const std::string& path,
                                                                    file_watcher::clock::time_point& written) {
    written = file_watcher::clock::now();
    std::ofstream(path, std::ios::trunc) << "[general]\n";
    for (int i = 0; i < 200 && !w.deadline(); ++i) {
        w.read_events(written);
        if (!w.deadline()) std::this_thread::sleep_for(10ms);
    }
    return w.deadline();
}

}  // namespace

TEST_CASE("asterisk watch: Asterisk files wait their own quiet period, the policy file its short one") {
    config_dir dir;
    config_dir elsewhere;  // where a symlink leads (FreePBX: the module tree)
    dir.write("site.toml", "");
    dir.write("pjsip.conf", "");
    elsewhere.write("rtp.conf", "");
    std::filesystem::create_symlink(elsewhere / "rtp.conf", dir / "rtp.conf");

    file_watcher w(50ms);
    REQUIRE(w.watch({dir / "site.toml", dir / "pjsip.conf", dir / "rtp.conf"}).empty());
    w.slow_down({dir / "pjsip.conf", dir / "rtp.conf"}, 1000ms);

    file_watcher::clock::time_point written;
    auto due = deadline_after_write(w, dir / "pjsip.conf", written);
    REQUIRE(due);
    CHECK(*due - written >= 1000ms);
    w.cancel();

    // Rewriting the file a symlink points at is a change of the Asterisk configuration.
    due = deadline_after_write(w, elsewhere / "rtp.conf", written);
    REQUIRE(due);
    CHECK(*due - written >= 1000ms);
    w.cancel();

    due = deadline_after_write(w, dir / "site.toml", written);
    REQUIRE(due);
    CHECK(*due - written < 1000ms);
}
