#include "engine/privileges.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace pbxgate {

namespace {

// capget/capset directly: the two calls we need do not justify linking libcap.
struct cap_sets {
    std::uint64_t effective = 0, permitted = 0, inheritable = 0;
};

bool read_caps(cap_sets& out) noexcept {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
    if (syscall(SYS_capget, &header, data) != 0) return false;
    const auto join = [](std::uint32_t lo, std::uint32_t hi) { return (std::uint64_t{hi} << 32) | lo; };
    out.effective = join(data[0].effective, data[1].effective);
    out.permitted = join(data[0].permitted, data[1].permitted);
    out.inheritable = join(data[0].inheritable, data[1].inheritable);
    return true;
}

bool write_caps(const cap_sets& c) noexcept {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
    for (unsigned i = 0; i < 2; ++i) {
        data[i].effective = static_cast<std::uint32_t>(c.effective >> (32 * i));
        data[i].permitted = static_cast<std::uint32_t>(c.permitted >> (32 * i));
        data[i].inheritable = static_cast<std::uint32_t>(c.inheritable >> (32 * i));
    }
    return syscall(SYS_capset, &header, data) == 0;
}

constexpr std::uint64_t bit(int cap) { return std::uint64_t{1} << cap; }

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("dropping privileges: " + what + ": " + std::strerror(errno));
}

struct account {
    uid_t uid;
    gid_t gid;
};

account look_up(const std::string& user) {
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    const int err = getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
    if (err != 0) {
        errno = err;
        fail("cannot look up user '" + user + "'");
    }
    if (found == nullptr) throw std::runtime_error("dropping privileges: no such user '" + user + "' (--user)");
    return {pw.pw_uid, pw.pw_gid};
}

void switch_user(const std::string& user) {
    const account a = look_up(user);
    // Keep the permitted set across setuid; the capset below trims it to CAP_NET_ADMIN.
    if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) != 0) fail("PR_SET_KEEPCAPS");
    // Order matters: groups and gid need CAP_SETGID, which setuid to non-root clears from
    // the effective set. glibc applies each change to every thread of the process.
    if (setgroups(0, nullptr) != 0) fail("setgroups (needs CAP_SETGID)");
    if (setresgid(a.gid, a.gid, a.gid) != 0) fail("setresgid " + std::to_string(a.gid) + " (needs CAP_SETGID)");
    if (setresuid(a.uid, a.uid, a.uid) != 0) fail("setresuid " + std::to_string(a.uid) + " (needs CAP_SETUID)");
    if (prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) != 0) fail("PR_SET_KEEPCAPS off");
}

}  // namespace

bool has_net_admin() noexcept {
    cap_sets c;
    return read_caps(c) && (c.effective & bit(CAP_NET_ADMIN)) != 0;
}

void drop_privileges(const std::string& user) {
    cap_sets before;
    if (!read_caps(before)) fail("capget");
    if ((before.permitted & bit(CAP_NET_ADMIN)) == 0)
        throw std::runtime_error("dropping privileges: CAP_NET_ADMIN is not permitted, yet the verdicts need it");

    // The bounding set caps what any later execve could regain; trimming it needs
    // CAP_SETPCAP, which a service started with only CAP_NET_ADMIN lacks (and then has
    // nothing else to bound anyway), so it is done only when we may.
    if ((before.effective & bit(CAP_SETPCAP)) != 0) {
        for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
            if (cap == CAP_NET_ADMIN) continue;
            if (prctl(PR_CAPBSET_DROP, static_cast<unsigned long>(cap), 0L, 0L, 0L) != 0 && errno != EINVAL)
                fail("PR_CAPBSET_DROP");
        }
    }
    if (!user.empty()) switch_user(user);
    // Ambient capabilities would survive an execve; none are wanted.
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0L, 0L, 0L) != 0 && errno != EINVAL)
        fail("clearing ambient capabilities");
    const cap_sets only_net_admin{bit(CAP_NET_ADMIN), bit(CAP_NET_ADMIN), 0};
    if (!write_caps(only_net_admin)) fail("capset to CAP_NET_ADMIN only");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0) fail("PR_SET_NO_NEW_PRIVS");
    spdlog::info("privileges dropped: CAP_NET_ADMIN only, no_new_privs, uid {} gid {}", getuid(), getgid());
}

privilege_state current_privileges() noexcept {
    privilege_state s;
    cap_sets c;
    if (read_caps(c)) {
        s.effective = c.effective;
        s.permitted = c.permitted;
    }
    s.no_new_privs = prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L) == 1;
    s.uid = getuid();
    s.gid = getgid();
    return s;
}

}  // namespace pbxgate
