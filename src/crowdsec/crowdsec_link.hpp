// What the engine holds for [crowdsec]: the client thread, the decisions in force, their
// state file, and the numbers for the metrics. The engine calls it from its main loop
// (tick, own bans) and the metrics thread reads metrics(); nothing here touches a worker.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "crowdsec/crowdsec_client.hpp"
#include "crowdsec/decision_book.hpp"
#include "metrics/prometheus_text.hpp"
#include "pbxgate/policy.hpp"
#include "protect/ban_admin.hpp"

namespace pbxgate::crowdsec {

class bridge {
public:
    // Reads the secrets (as root, before the engine drops privileges). Throws with a message
    // an admin can act on (never quoting a secret) when a file is unsafe or unreadable.
    bridge(const crowdsec_settings& settings, const sip_settings& sip, uid_t engine_uid, bool strict_modes,
         std::unique_ptr<http_transport> transport);
    ~bridge();
    bridge(const bridge&) = delete;
    bridge& operator=(const bridge&) = delete;

    // Main thread: restores the saved decisions, then starts the client's thread.
    void start(const std::string& state_dir, protect::ban_admin& bans, const decision_book::zone_lookup& zone_of,
               std::int64_t now_unix);
    // Main thread, each loop round: applies what the client pulled.
    void tick(protect::ban_admin& bans, const decision_book::zone_lookup& zone_of, std::int64_t now_unix);
    // Main thread: one of the engine's own bans (reason scanner, auth_failures, request_rate).
    void share_ban(const ip_prefix& source, std::string_view reason, std::int64_t duration_s, std::string message,
                 std::int64_t now_unix);
    // Main thread, after a reload: the new poll period, and the zones checked again.
    void reloaded(std::uint32_t poll_seconds, protect::ban_admin& bans, const decision_book::zone_lookup& zone_of);
    // Stops the thread and saves the decisions in force.
    void stop(std::int64_t now_unix);
    void save(std::int64_t now_unix);

    crowdsec_metrics metrics(std::int64_t now_unix) const;  // any thread

private:
    std::string state_path_;
    std::unique_ptr<client> client_;
    decision_book book_;
    std::atomic<std::uint64_t> active_{0};
    std::atomic<std::uint64_t> evictions_{0};
    std::atomic<std::uint64_t> too_broad_{0};
    std::atomic<std::uint64_t> protected_{0};
    bool stopped_ = false;
};

}  // namespace pbxgate::crowdsec
