#include "crowdsec/alert_json.hpp"

#include <ctime>

#include "util/json_writer.hpp"

namespace pbxgate::crowdsec {

std::optional<std::string_view> scenario_for(std::string_view r) noexcept {
    if (r == "scanner") return "pbxgate/sip-scanner";
    if (r == "auth_failures") return "pbxgate/sip-bruteforce";
    if (r == "request_rate") return "pbxgate/sip-flood";
    return std::nullopt;
}

std::string rfc3339(std::int64_t unix_seconds) {
    const std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string alerts_body(const std::vector<own_ban>& bans) {
    // A ban "until removed" goes out as a year: CrowdSec decisions always have a duration.
    constexpr std::int64_t forever_s = 365LL * 86400;
    json_writer w;
    w.begin_array();
    for (const own_ban& b : bans) {
        const bool host = b.source.length == (b.source.address.family == ip_family::v4 ? 32 : 128);
        const std::string value = host ? to_string(b.source.address) : to_string(b.source);
        const char* scope = host ? "Ip" : "Range";
        const std::string at = rfc3339(b.at_unix);
        const std::string duration = std::to_string(b.duration_s > 0 ? b.duration_s : forever_s) + "s";
        w.begin_object();
        w.key("scenario").value(b.scenario);
        w.key("scenario_hash").value("");
        w.key("scenario_version").value("");
        w.key("message").value(b.message);
        w.key("events_count").value(std::uint64_t{1});
        w.key("start_at").value(at);
        w.key("stop_at").value(at);
        w.key("capacity").value(std::uint64_t{0});
        w.key("leakspeed").value("0");
        w.key("simulated").value(false);
        w.key("remediation").value(true);
        w.key("events").begin_array().begin_object();
        w.key("timestamp").value(at);
        w.key("meta").begin_array().begin_object().key("key").value("source").key("value").value("pbxgate").end_object().end_array();
        w.end_object().end_array();
        w.key("source").begin_object();
        w.key("scope").value(scope);
        w.key("value").value(value);
        if (host) w.key("ip").value(value);
        else w.key("range").value(value);
        w.end_object();
        w.key("decisions").begin_array().begin_object();
        w.key("origin").value("crowdsec");
        w.key("type").value("ban");
        w.key("scope").value(scope);
        w.key("value").value(value);
        w.key("duration").value(duration);
        w.key("scenario").value(b.scenario);
        w.key("simulated").value(false);
        w.end_object().end_array();
        w.end_object();
    }
    w.end_array();
    return w.str();
}

std::string login_body(const std::string& login, const std::string& password) {
    json_writer w;
    w.begin_object();
    w.key("machine_id").value(login);
    w.key("password").value(password);
    w.key("scenarios").begin_array().value("pbxgate/sip-scanner").value("pbxgate/sip-bruteforce").value("pbxgate/sip-flood").end_array();
    w.end_object();
    return w.str();
}

}  // namespace pbxgate::crowdsec
