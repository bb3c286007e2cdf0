// The SIP protection stage: judges requests from a source, learns from the PBX's responses
// to it, and bans. Called by every worker on SIP-port packets only; no lock, no allocation,
// never throws (the admin side - ban_admin and persistence - runs on the control thread).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "pbxgate/policy.hpp"
#include "pbxgate/verdict.hpp"
#include "protect/ban_admin.hpp"
#include "protect/source_table.hpp"
#include "sip/sip_message.hpp"

namespace pbxgate::protect {

using guard_settings = sip_settings;

// One ban as it happened, for the log line: source, reason, evidence, duration.
struct ban_event {
    ip_prefix source;
    ban_reason why = ban_reason::none;
    std::uint32_t duration_s = 0;  // 0: until removed
    std::uint32_t count = 0;       // requests or failures counted
    std::uint32_t window_s = 0;
    std::uint16_t status = 0;      // the PBX's answer that counted last (auth_failures)
    bool monitor = false;          // "would ban": computed, not enforced
    std::array<char, 48> evidence{};  // the User-Agent or From that matched (scanner)
};

struct guard_outcome {
    verdict action = verdict::accept;
    reason why = reason::allowed;   // banned, scanner, request_rate, auth_failures; else allowed
    bool judged = false;            // the SIP stage decided (a drop, or the response that banned)
    bool retransmission = false;
    bool banned_now = false;        // `event` holds a new ban
    ban_event event;
};

// The User-Agent, From display name or From user that names a scanner of the policy's lists
// (case-insensitive substring; the allow list wins), or empty.
std::string_view scanner_match(const sip_settings& s, const sip::message_view& m) noexcept;

class sip_guard final : public ban_admin {
public:
    // Engine seconds now (monotonic on the engine; the replay passes capture time instead).
    using clock = std::function<seconds_t()>;
    static seconds_t monotonic_now() noexcept;

    sip_guard(std::size_t capacity, std::uint8_t ipv4_prefix, std::uint8_t ipv6_prefix,
              clock engine_now = &sip_guard::monotonic_now);

    // A request from `src` (zone `z`). Drops banned sources, scanners and floods.
    guard_outcome on_request(const sip_settings& s, const ip_address& src, zone z, const sip::message_view& m,
                             seconds_t now, bool monitor) noexcept;
    // A TCP connection attempt (SYN) to a TLS/WSS port: counted like a request.
    guard_outcome on_connection_attempt(const sip_settings& s, const ip_address& src, zone z, seconds_t now,
                                        bool monitor) noexcept;
    // A response of the PBX to `peer`: always accepted; may ban (auth_failures) or trust.
    guard_outcome on_response(const sip_settings& s, const ip_address& peer, zone z, const sip::message_view& m,
                              seconds_t now, bool monitor) noexcept;

    bool is_banned(const ip_address& src, seconds_t now, bool monitor) noexcept;
    bool is_registered(const ip_address& src, seconds_t now) noexcept;
    bool is_known(const ip_address& src, seconds_t now) noexcept;

    struct gauges { std::uint64_t banned = 0, registered = 0, known = 0, tracked = 0; };
    gauges count(seconds_t now) const noexcept;  // a scan of the table: metrics thread only
    std::uint64_t evictions() const noexcept { return table_.evictions(); }
    std::uint64_t untracked() const noexcept { return table_.untracked(); }
    std::uint8_t ipv4_prefix() const noexcept { return v4_len_; }
    std::uint8_t ipv6_prefix() const noexcept { return v6_len_; }

    // ban_admin (control thread).
    std::vector<ban_view> list_bans(std::int64_t now_unix) const override;
    std::string add_ban(const ip_prefix& source, std::int64_t duration_s, const std::string& reason,
                        std::int64_t now_unix) override;
    bool remove_ban(const ip_prefix& source) override;
    std::size_t flush_bans() override;
    std::string add_ban_from(const ip_prefix& source, std::int64_t duration_s, const std::string& reason,
                             const ban_origin& from, std::int64_t now_unix) override;
    std::optional<ban_view> find_ban(const ip_prefix& source, std::int64_t now_unix) const override;

    // Persistence: bans, registered and known sources, one per line, in unix time. Empty on
    // success, else an error; load drops expired entries and keeps the running ones.
    std::string save(const std::string& path, std::int64_t now_unix) const;
    std::string load(const std::string& path, std::int64_t now_unix);

private:
    std::uint64_t key(const ip_address& a) const noexcept { return source_key(a, v4_len_, v6_len_); }
    bool ban(source_slot& slot, ban_reason why, std::uint32_t duration_s, seconds_t now, bool monitor,
             guard_outcome& out) noexcept;
    bool trusted(const sip_settings& s, const source_slot* slot, const ip_address& src, seconds_t now) const noexcept;
    bool count_rate(const sip_settings& s, source_slot& slot, seconds_t now, bool monitor, guard_outcome& out) noexcept;
    // Every write of a ban's end goes through here (workers too: a CAS, no lock).
    void raise_ban_horizon(seconds_t until) noexcept;

    source_table table_;
    ban_view view_of(std::uint64_t k, const source_slot& s, seconds_t now, std::int64_t now_unix) const;

    // The admin's words for a manual ban (`pbxgate bans add --reason`), and a CrowdSec ban's
    // origin and scenario, shown by list_bans. Control thread only, like every ban_admin
    // call; not saved (a restart shows "manual"; CrowdSec keeps its own file).
    struct ban_note {
        std::string reason;
        ban_origin from;
    };
    std::map<std::uint64_t, ban_note> notes_;
    // The latest end of any ban ever set (never lowered). Past it no source can be banned and
    // list_bans() answers without its scan of the whole table, which the engine's kernel ban
    // sync would otherwise pay every second (megabytes of slots) while nobody is banned.
    std::atomic<seconds_t> ban_horizon_{0};
    std::uint8_t v4_len_;
    std::uint8_t v6_len_;
    clock now_;
};

}  // namespace pbxgate::protect
