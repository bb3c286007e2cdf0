#include "crowdsec/decision_stream.hpp"

#include <cmath>

#include "util/json_value.hpp"

namespace pbxgate::crowdsec {
namespace {

// Field texts are short in CrowdSec (an address, a scenario name); longer ones are refused.
constexpr std::size_t max_field_bytes = 256;

bool ascii_nocase_equal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

const std::string* text_field(const json_value& d, std::string_view key) {
    const json_value* v = d.find(key);
    if (v == nullptr || !v->is_string() || v->as_string().size() > max_field_bytes) return nullptr;
    return &v->as_string();
}

enum class outcome { kept, other_type, other_scope, malformed };

outcome read_decision(const json_value& d, decision& out) {
    if (!d.is_object()) return outcome::malformed;
    const std::string* type = text_field(d, "type");
    const std::string* scope = text_field(d, "scope");
    const std::string* value = text_field(d, "value");
    if (type == nullptr || scope == nullptr || value == nullptr) return outcome::malformed;
    if (!ascii_nocase_equal(*type, "ban")) return outcome::other_type;
    const bool ip = ascii_nocase_equal(*scope, "ip");
    if (!ip && !ascii_nocase_equal(*scope, "range")) return outcome::other_scope;
    std::optional<ip_prefix> target;
    if (ip) {
        if (const auto a = parse_address(*value)) {
            const ip_address u = a->unmapped();
            target = ip_prefix{u, static_cast<std::uint8_t>(u.family == ip_family::v4 ? 32 : 128)};
        }
    } else if (value->find('/') != std::string::npos) {
        target = parse_prefix(*value);
    }
    if (!target) return outcome::malformed;
    out.target = *target;
    out.id = 0;
    if (const json_value* id = d.find("id"); id != nullptr && !id->is_null()) {
        const auto n = id->as_integer();
        if (!id->is_number() || !n) return outcome::malformed;
        out.id = *n;
    }
    const std::string* origin = text_field(d, "origin");
    const std::string* scenario = text_field(d, "scenario");
    out.origin = origin ? *origin : std::string();
    out.scenario = scenario ? *scenario : std::string();
    const std::string* duration = text_field(d, "duration");
    const auto secs = duration ? parse_go_duration(*duration) : std::nullopt;
    if (!secs) return outcome::malformed;
    out.duration_s = *secs;
    return outcome::kept;
}

void read_list(const json_value* list, std::vector<decision>& out, skipped_counts& skipped, std::size_t max) {
    if (list == nullptr || list->is_null()) return;
    if (!list->is_array()) {
        ++skipped.malformed;
        return;
    }
    for (const json_value& item : list->items()) {
        decision d;
        switch (read_decision(item, d)) {
        case outcome::kept:
            if (out.size() < max) out.push_back(std::move(d));
            else ++skipped.over_limit;
            break;
        case outcome::other_type: ++skipped.other_type; break;
        case outcome::other_scope: ++skipped.other_scope; break;
        case outcome::malformed: ++skipped.malformed; break;
        }
    }
}

}  // namespace

std::optional<std::int64_t> parse_go_duration(std::string_view text) noexcept {
    if (text.empty() || text.size() > 64) return std::nullopt;
    bool negative = false;
    if (text[0] == '-' || text[0] == '+') {
        negative = text[0] == '-';
        text.remove_prefix(1);
    }
    if (text == "0") return 0;
    if (text.empty()) return std::nullopt;
    double total = 0;  // seconds
    while (!text.empty()) {
        std::size_t i = 0;
        double whole = 0;
        bool digits = false;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            whole = whole * 10 + (text[i] - '0');
            ++i;
            digits = true;
        }
        if (i < text.size() && text[i] == '.') {
            ++i;
            double scale = 0.1;
            while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
                whole += (text[i] - '0') * scale;
                scale /= 10;
                ++i;
                digits = true;
            }
        }
        if (!digits) return std::nullopt;
        text.remove_prefix(i);
        double unit = 0;
        if (text.rfind("ns", 0) == 0) unit = 1e-9, text.remove_prefix(2);
        else if (text.rfind("us", 0) == 0) unit = 1e-6, text.remove_prefix(2);
        else if (text.rfind("\xc2\xb5s", 0) == 0) unit = 1e-6, text.remove_prefix(3);
        else if (text.rfind("ms", 0) == 0) unit = 1e-3, text.remove_prefix(2);
        else if (text.rfind("h", 0) == 0) unit = 3600, text.remove_prefix(1);
        else if (text.rfind("m", 0) == 0) unit = 60, text.remove_prefix(1);
        else if (text.rfind("s", 0) == 0) unit = 1, text.remove_prefix(1);
        else return std::nullopt;
        total += whole * unit;
    }
    // Go's durations stop at about 292 years; anything longer is not one.
    if (!std::isfinite(total) || total > 9.3e9) return std::nullopt;
    const auto secs = static_cast<std::int64_t>(std::ceil(total));
    return negative ? -secs : secs;
}

stream_parse_result parse_decision_stream(std::string_view body, std::size_t max_decisions) {
    stream_parse_result r;
    json_parse_result parsed = parse_json(body);
    if (!parsed.value) {
        r.error = "not JSON: " + parsed.error;
        return r;
    }
    const json_value& root = *parsed.value;
    if (!root.is_object()) {
        r.error = "not a decision stream: the answer is no JSON object";
        return r;
    }
    if (root.find("new") == nullptr && root.find("deleted") == nullptr) {
        r.error = "not a decision stream: neither \"new\" nor \"deleted\"";
        return r;
    }
    stream_delta d;
    read_list(root.find("deleted"), d.deleted, d.skipped, max_decisions);
    read_list(root.find("new"), d.added, d.skipped, max_decisions);
    r.delta = std::move(d);
    return r;
}

}  // namespace pbxgate::crowdsec
