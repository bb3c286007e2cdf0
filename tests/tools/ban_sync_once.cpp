// Test driver for tests/integration/prefilter_sets.sh: one ban_set_sync round against the
// real kernel sets (libipset), with a ban table given on the command line.
//   ban_sync_once [PREFIX SECONDS]...   (SECONDS 0: until removed; no argument: no bans)
// Prints the sync report; exit 0 when the sync had no error.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernelset/ipset_backend.hpp"
#include "protect/ban_admin.hpp"
#include "protect/ban_set_sync.hpp"

namespace {

class listed_bans final : public pbxgate::protect::ban_admin {
public:
    std::vector<pbxgate::protect::ban_view> bans;
    std::vector<pbxgate::protect::ban_view> list_bans(std::int64_t) const override { return bans; }
    std::string add_ban(const pbxgate::ip_prefix& source, std::int64_t duration_s, const std::string& reason,
                        std::int64_t now_unix) override {
        pbxgate::protect::ban_view b;
        b.source = source;
        b.reason = reason;
        b.since_unix = now_unix;
        b.expires_unix = duration_s ? now_unix + duration_s : 0;
        bans.push_back(b);
        return {};
    }
    bool remove_ban(const pbxgate::ip_prefix&) override { return false; }
    std::size_t flush_bans() override { return 0; }
};

}  // namespace

int main(int argc, char** argv) {
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    listed_bans bans;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string why;
        const auto p = pbxgate::parse_prefix(argv[i], &why);
        if (!p) {
            std::fprintf(stderr, "ban_sync_once: %s\n", why.c_str());
            return 2;
        }
        bans.add_ban(*p, std::atoll(argv[i + 1]), "manual", now);
    }
    pbxgate::kernelset::ipset_backend sets;
    pbxgate::protect::ban_set_sync sync(bans, sets);
    const auto r = sync.sync(now);
    std::printf("{\"added\": %zu, \"removed\": %zu, \"sets_absent\": %s, \"error\": \"%s\"}\n", r.added, r.removed,
                r.sets_absent ? "true" : "false", r.error.c_str());
    return r.error.empty() && !r.sets_absent ? 0 : 1;
}
