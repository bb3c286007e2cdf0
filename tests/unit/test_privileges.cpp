#include <catch2/catch.hpp>

#include <pwd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>

#include "engine/privileges.hpp"

using namespace pbxgate;

namespace {

constexpr std::uint64_t net_admin_only = std::uint64_t{1} << 12;  // CAP_NET_ADMIN

// The drop cannot be undone, so each row runs in a forked child; the child reports through
// its exit code which check failed (0 = all held), so the parent's INFO names it.
enum child_result : int { ok = 0, threw, no_throw, wrong_caps, no_nnp, wrong_uid, wrong_message, crashed = 99 };

struct row {
    const char* name;
    std::string user;
    bool should_throw;
    const char* message_part;  // expected in the exception text when it throws
};

int run_in_child(const row& r) {
    const pid_t pid = fork();
    if (pid == 0) {
        int result = ok;
        try {
            drop_privileges(r.user);
            if (r.should_throw) _exit(no_throw);
            const privilege_state s = current_privileges();
            if (s.effective != net_admin_only || s.permitted != net_admin_only) result = wrong_caps;
            else if (!s.no_new_privs) result = no_nnp;
            else if (!r.user.empty() && s.uid != getpwnam(r.user.c_str())->pw_uid) result = wrong_uid;
        } catch (const std::exception& e) {
            if (!r.should_throw) result = threw;
            else if (std::strstr(e.what(), r.message_part) == nullptr) result = wrong_message;
        }
        _exit(result);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : crashed;
}

}  // namespace

TEST_CASE("drop_privileges keeps CAP_NET_ADMIN only, sets no_new_privs, switches user", "[privileges]") {
    if (geteuid() != 0 || !has_net_admin()) {
        WARN("not root: the privilege drop cannot be exercised here (CI runs as root)");
        return;
    }
    const bool have_nobody = getpwnam("nobody") != nullptr;
    const row rows[] = {
        {"keep uid", "", false, ""},
        {"become nobody", have_nobody ? "nobody" : "", false, ""},
        {"unknown user", "pbxgate-no-such-user", true, "no such user 'pbxgate-no-such-user'"},
    };
    for (const row& r : rows) {
        INFO(r.name << " (result codes: 1 threw, 2 no throw, 3 caps, 4 no_new_privs, 5 uid, 6 message)");
        CHECK(run_in_child(r) == ok);
    }
}

namespace {

// The kernel's own account of the process, read independently of current_privileges().
std::map<std::string, std::string> proc_status() {
    std::ifstream in("/proc/self/status");
    std::map<std::string, std::string> out;
    std::string line;
    while (std::getline(in, line)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        const auto value = line.find_first_not_of(" \t", colon + 1);
        out[line.substr(0, colon)] = value == std::string::npos ? "" : line.substr(value);
    }
    return out;
}

}  // namespace

TEST_CASE("current_privileges agrees with /proc/self/status", "[privileges]") {
    const privilege_state s = current_privileges();
    auto st = proc_status();
    REQUIRE(st.count("CapEff") == 1);
    CHECK(s.effective == std::stoull(st["CapEff"], nullptr, 16));
    CHECK(s.permitted == std::stoull(st["CapPrm"], nullptr, 16));
    CHECK(s.uid == std::stoul(st["Uid"]));  // the first field: the real id
    CHECK(s.gid == std::stoul(st["Gid"]));
    CHECK(s.no_new_privs == (st["NoNewPrivs"] == "1"));
    CHECK((s.effective & ~s.permitted) == 0);  // effective is always within permitted
    CHECK(has_net_admin() == ((s.effective & net_admin_only) != 0));
}

TEST_CASE("current_privileges sees no_new_privs once it is set", "[privileges]") {
    // Setting it cannot be undone: in a child. Exit 0: off before, on after, as the kernel says.
    const pid_t pid = fork();
    if (pid == 0) {
        const bool before = current_privileges().no_new_privs;
        const bool kernel_before = proc_status()["NoNewPrivs"] == "1";
        if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0) _exit(3);
        const bool after = current_privileges().no_new_privs;
        _exit(before != kernel_before ? 1 : !after ? 2 : 0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    INFO("exit codes: 1 wrong before, 2 not seen after, 3 prctl refused");
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
