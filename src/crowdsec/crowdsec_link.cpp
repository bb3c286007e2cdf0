#include "crowdsec/crowdsec_link.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

namespace pbxgate::crowdsec {
namespace {

client_config config_of(const crowdsec_settings& s, uid_t uid, bool strict) {
    client_config c;
    c.api_url = s.api_url;
    c.poll = std::chrono::seconds(s.poll_seconds);
    if (!s.bouncer_key_file.empty()) {
        secret_read key = read_bouncer_key(s.bouncer_key_file, uid, strict);
        if (!key.text) throw std::runtime_error("crowdsec.bouncer_key_file: " + key.error);
        c.bouncer_key = std::move(*key.text);
    }
    if (!s.machine_credentials_file.empty()) {
        secret_read file = read_secret_file(s.machine_credentials_file, uid, strict);
        if (!file.text) throw std::runtime_error("crowdsec.machine_credentials_file: " + file.error);
        credentials_result m = parse_machine_credentials(*file.text);
        if (!m.value)
            throw std::runtime_error("crowdsec.machine_credentials_file: " + s.machine_credentials_file + ": " + m.error);
        if (m.value->url.empty() && c.api_url.empty())
            throw std::runtime_error("crowdsec: " + s.machine_credentials_file + " has no url and [crowdsec] no api_url");
        if (c.api_url.empty()) c.api_url = m.value->url;
        c.machine = std::move(*m.value);
    }
    return c;
}

// A startup answer can hold thousands of decisions: the first few are logged one by one,
// the rest as a count.
constexpr std::size_t max_logged_events = 20;

void log_events(const std::vector<book_event>& events) {
    std::size_t n = 0;
    for (const book_event& e : events) {
        if (++n > max_logged_events) break;
        if (e.banned)
            spdlog::warn("ban {} reason crowdsec (origin {}, scenario \"{}\") for {} s", to_string(e.source),
                         e.origin.empty() ? "-" : e.origin, e.scenario, e.duration_s);
        else
            spdlog::info("unban {} reason crowdsec (origin {}, scenario \"{}\"): decision deleted or expired",
                         to_string(e.source), e.origin.empty() ? "-" : e.origin, e.scenario);
    }
    if (events.size() > max_logged_events)
        spdlog::info("crowdsec: {} more ban changes not logged one by one", events.size() - max_logged_events);
}

}  // namespace

bridge::bridge(const crowdsec_settings& settings, const sip_settings& sip, uid_t engine_uid, bool strict_modes,
           std::unique_ptr<http_transport> transport)
    : client_(std::make_unique<client>(config_of(settings, engine_uid, strict_modes), std::move(transport))),
      book_(sip.ipv4_prefix, sip.ipv6_prefix, sip.capacity) {}

bridge::~bridge() {
    if (client_) client_->stop();
}

void bridge::start(const std::string& state_dir, protect::ban_admin& bans, const decision_book::zone_lookup& zone_of,
                 std::int64_t now_unix) {
    if (!state_dir.empty()) {
        state_path_ = state_dir + "/crowdsec-decisions";
        std::string errors;
        stream_delta saved;
        saved.added = book_.load(state_path_, now_unix, errors);
        if (!errors.empty()) spdlog::warn("crowdsec state {}: {}", state_path_, errors);
        if (!saved.added.empty()) {
            book_.apply(saved, false, bans, zone_of, now_unix);
            spdlog::info("crowdsec: {} decision(s) restored from {}", book_.active(now_unix), state_path_);
        }
    }
    active_ = book_.active(now_unix);
    client_->start();
}

void bridge::tick(protect::ban_admin& bans, const decision_book::zone_lookup& zone_of, std::int64_t now_unix) {
    bool changed = false;
    for (const pull& p : client_->take_pulls()) {
        log_events(book_.apply(p.delta, p.full, bans, zone_of, now_unix));
        changed = changed || p.full || !p.delta.added.empty() || !p.delta.deleted.empty();
    }
    active_ = book_.active(now_unix);
    const book_counts& c = book_.counts();
    evictions_ = c.evictions;
    too_broad_ = c.too_broad;
    protected_ = c.protected_zone;
    // The decisions survive a crash or a restart while the API is away.
    if (changed) save(now_unix);
}

void bridge::share_ban(const ip_prefix& source, std::string_view reason, std::int64_t duration_s, std::string message,
                   std::int64_t now_unix) {
    const auto scenario = scenario_for(reason);
    if (!scenario) return;  // manual and crowdsec bans are not shared
    client_->push_alert(own_ban{source, std::string(*scenario), std::move(message), duration_s, now_unix});
}

void bridge::reloaded(std::uint32_t poll_seconds, protect::ban_admin& bans, const decision_book::zone_lookup& zone_of) {
    client_->set_poll(std::chrono::seconds(poll_seconds));
    log_events(book_.recheck_zones(bans, zone_of));
}

void bridge::save(std::int64_t now_unix) {
    if (state_path_.empty()) return;
    if (const std::string err = book_.save(state_path_, now_unix); !err.empty()) spdlog::error("crowdsec state: {}", err);
}

void bridge::stop(std::int64_t now_unix) {
    if (stopped_) return;
    stopped_ = true;
    client_->stop();
    save(now_unix);
}

crowdsec_metrics bridge::metrics(std::int64_t now_unix) const {
    const client_status s = client_->status();
    crowdsec_metrics m;
    m.present = true;
    m.up = s.up;
    m.last_pull_age_seconds = s.last_pull_unix > 0 ? static_cast<double>(now_unix - s.last_pull_unix) : -1.0;
    m.decisions = active_;
    m.alerts_pushed = s.alerts_pushed;
    m.errors = s.errors;
    m.evictions = evictions_;
    m.skipped = s.skipped + too_broad_;
    m.protected_zone = protected_;
    return m;
}

}  // namespace pbxgate::crowdsec
