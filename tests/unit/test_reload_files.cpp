// The engine's files on disk: policy files that others could write are refused (StrictModes),
// and the state files it writes (pid, stats, reload status) never follow a planted symlink
// and never show half their content.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "reload/policy_slot.hpp"
#include "reload/reload_status.hpp"
#include "reload/reloader.hpp"
#include "reload/strict_modes.hpp"
#include "util/atomic_file.hpp"
#include "temp_dir.hpp"

using namespace pbxgate;
namespace fs = std::filesystem;

namespace {

using pbxgate::testing::temp_dir;

void write(const fs::path& p, const std::string& text) {
    std::ofstream f(p, std::ios::trunc);
    f << text;
}

std::string slurp(const fs::path& p) {
    std::ifstream f(p);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

const std::string probe = "[services.probe]\nproto = \"udp\"\nports = [40000]\nallow = [\"lan\"]\n";

// A tree like /etc/pbxgate: DIR/conf/site.toml extending DIR/conf/lib/base.toml, all 0755/0644.
struct policy_tree {
    temp_dir dir;
    fs::path conf, lib, site, base;
    policy_tree() {
        conf = dir.path / "conf";
        lib = conf / "lib";
        fs::create_directories(lib);
        site = conf / "site.toml";
        base = lib / "base.toml";
        write(base, probe);
        write(site, "extends = \"lib/base.toml\"\n");
        for (const fs::path& d : {dir.path, conf, lib}) chmod(d.c_str(), 0755);
        for (const fs::path& f : {site, base}) chmod(f.c_str(), 0644);
    }
};

}  // namespace

TEST_CASE("strict modes: a policy file or directory others could write is refused", "[reload][strict]") {
    struct row {
        const char* what;
        std::function<void(policy_tree&)> spoil;
        const char* message;  // part of the refusal; nullptr: accepted
    };
    const std::vector<row> rows = {
        {"root or the engine's files, 0644 in 0755 directories", [](policy_tree&) {}, nullptr},
        {"group-writable top file", [](policy_tree& t) { chmod(t.site.c_str(), 0664); }, "site.toml is writable by its group (mode 0664)"},
        {"world-writable extended file", [](policy_tree& t) { chmod(t.base.c_str(), 0646); }, "base.toml is writable by everyone (mode 0646)"},
        {"group-writable directory of the top file", [](policy_tree& t) { chmod(t.conf.c_str(), 0775); }, "conf is writable by its group (mode 0775)"},
        {"world-writable directory of an extended file", [](policy_tree& t) { chmod(t.lib.c_str(), 0777); }, "lib is writable by everyone (mode 0777)"},
        {"a directory further up", [](policy_tree& t) { chmod(t.dir.path.c_str(), 0757); }, "is writable by everyone (mode 0757)"},
        {"sticky world-writable directory further up (like /tmp)", [](policy_tree& t) { chmod(t.dir.path.c_str(), 01777); }, nullptr},
        {"symlinked top file: where the link points is checked too",
         [](policy_tree& t) {
             const fs::path elsewhere = t.dir.path / "elsewhere";
             fs::create_directory(elsewhere);
             chmod(elsewhere.c_str(), 0777);
             write(elsewhere / "real.toml", probe);
             chmod((elsewhere / "real.toml").c_str(), 0644);
             fs::remove(t.site);
             fs::create_symlink(elsewhere / "real.toml", t.site);
         },
         "elsewhere is writable by everyone (mode 0777)"},
    };
    for (const row& r : rows) {
        INFO(r.what);
        policy_tree tree;
        r.spoil(tree);
        const load_result loaded = load_policy(tree.site.string(), strict_modes_reader(geteuid()));
        std::string errors;
        for (const diagnostic& d : loaded.errors) errors += d.to_string() + "\n";
        INFO(errors);
        if (!r.message) {
            CHECK(loaded.ok());
            continue;
        }
        REQUIRE_FALSE(loaded.ok());
        CHECK(errors.find(r.message) != std::string::npos);
        CHECK(errors.find("--no-strict-modes") != std::string::npos);
        // Without the check the same tree loads (what --no-strict-modes does).
        CHECK(load_policy(tree.site.string()).ok());
    }
}

TEST_CASE("strict modes: a file owned by another user is refused", "[reload][strict]") {
    policy_tree tree;
    // As root: give the file away. Otherwise: the file is ours, so pretend the engine runs
    // as someone else (root stays trusted either way).
    uid_t engine = geteuid();
    if (geteuid() == 0) REQUIRE(chown(tree.base.c_str(), 65534, 65534) == 0);
    else engine = geteuid() + 1;
    const load_result loaded = load_policy(tree.site.string(), strict_modes_reader(engine));
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.errors.front().message.find("base.toml is owned by uid") != std::string::npos);
    // The same owner as the engine's user is fine.
    const uid_t owner = geteuid() == 0 ? 65534 : geteuid();
    CHECK_FALSE(strict_modes_problem(tree.base.string(), owner));
}

TEST_CASE("strict modes: a refused reload keeps the running generation", "[reload][strict]") {
    policy_tree tree;
    const file_reader strict = strict_modes_reader(geteuid());
    const load_result first = load_policy(tree.site.string(), strict);
    REQUIRE(first.ok());
    policy_slot slot(compiled_policy::compile(*first.value));
    chmod(tree.conf.c_str(), 0777);
    const reload_outcome refused = reload_policy(tree.site.string(), slot, strict);
    CHECK_FALSE(refused.ok);
    CHECK(slot.generation() == 1);
    chmod(tree.conf.c_str(), 0755);
    CHECK(reload_policy(tree.site.string(), slot, strict).ok);
    CHECK(slot.generation() == 2);
}

TEST_CASE("state files are replaced whole and never written through a symlink", "[reload][files]") {
    temp_dir dir;
    const fs::path victim = dir.path / "victim", pid = dir.path / "pbxgate.pid";
    write(victim, "precious\n");
    fs::create_symlink(victim, pid);  // planted at the pid path
    // ...and at the fixed temporary name a writer might use beside it.
    fs::create_symlink(victim, pid.string() + ".tmp");
    CHECK(replace_file(pid.string(), "4242\n").empty());
    CHECK(slurp(victim) == "precious\n");  // the target is untouched
    CHECK_FALSE(fs::is_symlink(pid));      // the link itself was replaced
    CHECK(slurp(pid) == "4242\n");
    struct stat st {};
    REQUIRE(lstat(pid.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0644);
    // No temporary file is left beside it (victim, pid file, the planted .tmp link).
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path)) ++entries;
    CHECK(entries == 3);

    // Reading does not follow a link either: a planted pid file names no one.
    fs::remove(pid);
    fs::create_symlink(victim, pid);
    CHECK_FALSE(read_small_file(pid.string()));
    CHECK(read_small_file(victim.string()) == "precious\n");

    // The reload status file (beside the pid file) goes the same way.
    const fs::path status = reload_status_path(pid.string());
    fs::create_symlink(victim, status);
    fs::create_symlink(victim, status.string() + ".tmp");
    reload_status s;
    s.pid = 4242;
    CHECK(write_reload_status(status.string(), s).empty());
    CHECK(slurp(victim) == "precious\n");
    REQUIRE(read_reload_status(status.string()));
    CHECK(read_reload_status(status.string())->pid == 4242);

    // A directory that cannot be written: an error, no exception, nothing left behind.
    CHECK_FALSE(replace_file((dir.path / "missing" / "x.pid").string(), "1\n").empty());
}
