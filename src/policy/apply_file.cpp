#include "policy/apply_file.hpp"

#include <algorithm>
#include <filesystem>

#include "net/listen_address.hpp"
#include "policy/toml_values.hpp"

namespace pbxgate::policy_detail {

namespace {

constexpr std::size_t max_service_name = 32;

// toml++ tables iterate in key order; services keep the order they are written in.
std::vector<std::pair<const toml::key*, const toml::node*>> in_file_order(const toml::table& table) {
    std::vector<std::pair<const toml::key*, const toml::node*>> entries;
    for (auto&& [key, value] : table) entries.emplace_back(&key, &value);
    std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        const auto& pa = a.second->source().begin;
        const auto& pb = b.second->source().begin;
        return std::tie(pa.line, pa.column) < std::tie(pb.line, pb.column);
    });
    return entries;
}

const toml::table* as_table_or_report(const toml::node& node, const std::string& what, const std::string& file,
                                      diagnostics& diag) {
    if (const auto* t = node.as_table()) return t;
    diag.error(location_of(file, node.source()), what + " must be a table, not " + std::string(type_phrase(node)));
    return nullptr;
}

void apply_zones(const toml::table& zones, const std::string& file, policy_draft& draft, diagnostics& diag) {
    check_known_keys(zones, {"lan", "trusted", "blocked"}, "[zones]", file, diag);
    const std::pair<const char*, std::vector<ip_prefix>*> lists[] = {
        {"lan", &draft.zones.lan}, {"trusted", &draft.zones.trusted}, {"blocked", &draft.zones.blocked}};
    for (const auto& [name, target] : lists) {
        const auto* node = zones.get(name);
        if (!node) continue;
        const value_context ctx{file, diag, "zones." + std::string(name)};
        if (auto prefixes = read_prefix_list(*node, ctx)) *target = std::move(*prefixes);
    }
}

void apply_service(const std::string& name, const toml::table& table, const std::string& file, unsigned file_rank,
                   policy_draft& draft, diagnostics& diag) {
    const std::string table_name = "[services." + name + "]";
    check_known_keys(table, {"proto", "ports", "allow", "enabled", "description", "offload", "media"}, table_name, file, diag);

    auto existing = std::find_if(draft.services.begin(), draft.services.end(),
                                 [&](const service_draft& s) { return s.def.name == name; });
    if (existing == draft.services.end()) {
        draft.services.emplace_back();
        existing = std::prev(draft.services.end());
        existing->def.name = name;
    }
    service_draft& s = *existing;
    s.def.where = location_of(file, table.source());

    auto ctx = [&](const char* key) { return value_context{file, diag, "`" + std::string(key) + "` of " + table_name}; };
    if (const auto* node = table.get("proto")) {
        const auto proto = read_proto(*node, ctx("proto"));
        s.proto_broken = !proto;
        if (proto) s.def.proto = *proto, s.has_proto = true;
    }
    if (const auto* node = table.get("ports")) {
        auto ports = read_port_list(*node, ctx("ports"));
        s.ports_broken = !ports;
        if (ports) {
            s.def.ports = std::move(*ports);
            s.has_ports = true;
            s.ports_at = location_of(file, node->source());
            s.ports_order = {file_rank, node->source().begin.line, node->source().begin.column};
        }
    }
    if (const auto* node = table.get("allow"))
        if (const auto allow = read_zone_list(*node, ctx("allow"))) s.def.allow = *allow;
    if (const auto* node = table.get("enabled"))
        if (const auto enabled = read_bool(*node, ctx("enabled"))) s.def.enabled = *enabled;
    if (const auto* node = table.get("offload"))
        if (const auto offload = read_bool(*node, ctx("offload"))) s.def.offload = *offload;
    if (const auto* node = table.get("media"))
        if (const auto v = read_choice(*node, {"negotiated", "open"}, ctx("media")))
            s.def.media = *v == "negotiated" ? media_mode::negotiated : media_mode::open;
    if (const auto* node = table.get("description"))
        if (auto description = read_string(*node, ctx("description"))) s.def.description = std::move(*description);
}

void apply_services(const toml::table& services, const std::string& file, unsigned file_rank, policy_draft& draft,
                    diagnostics& diag) {
    for (const auto& [key, node] : in_file_order(services)) {
        const std::string name(key->str());
        if (!valid_service_name(name)) {
            diag.error(location_of(file, key->source()),
                       "service name '" + name + "' is invalid: use lowercase letters, digits and '-', at most " +
                           std::to_string(max_service_name) + " characters");
            continue;
        }
        if (const auto* table = as_table_or_report(*node, "[services." + name + "]", file, diag))
            apply_service(name, *table, file, file_rank, draft, diag);
    }
}

verdict to_verdict(const std::string& s) { return s == "accept" ? verdict::accept : verdict::drop; }

// drop_log_per_reason = { zone_not_allowed = 5, blocked = 0 }: each key sets (or, in a site
// file, overrides) one reason's limit; the other reasons keep theirs.
void apply_reason_limits(const toml::node& node, const value_context& ctx, engine_settings& e) {
    const auto* table = node.as_table();
    if (!table) {
        ctx.diag.error(ctx.at(node), ctx.what + " must be a table of reason = lines per second, not " +
                                         std::string(type_phrase(node)));
        return;
    }
    for (auto&& [key, value] : *table) {
        std::optional<reason> which;
        std::string names;
        for (unsigned r = 0; r < reason_count; ++r) {
            const std::string_view n = to_string(static_cast<reason>(r));
            if (n == key.str()) which = static_cast<reason>(r);
            names += (names.empty() ? "" : ", ") + std::string(n);
        }
        if (!which) {
            ctx.diag.error(location_of(ctx.file, key.source()),
                           ctx.what + ": unknown reason '" + std::string(key.str()) + "' (reasons: " + names + ")");
            continue;
        }
        const value_context item{ctx.file, ctx.diag, ctx.what + "." + std::string(key.str())};
        const auto limit = read_uint(value, 0, 1000000, item);
        if (!limit) continue;
        auto it = std::find_if(e.drop_log_per_reason.begin(), e.drop_log_per_reason.end(),
                               [&](const auto& p) { return p.first == *which; });
        if (it != e.drop_log_per_reason.end()) it->second = *limit;
        else e.drop_log_per_reason.emplace_back(*which, *limit);
    }
    // In reason order, whatever order the files wrote them in.
    std::sort(e.drop_log_per_reason.begin(), e.drop_log_per_reason.end());
}

// Keys that existed once: an error that says what replaced them, not "unknown key". Returns
// the table without them, for the unknown-key check (a copy keeps the keys' positions, not
// the values': values are read from the original).
toml::table without_removed_keys(const toml::table& engine, const std::string& file, diagnostics& diag) {
    toml::table rest = engine;
    if (const toml::node* node = engine.get("offload_drops")) {
        diag.error(location_of(file, node->source()),
                   "engine.offload_drops was removed: it could not drop new flows. Blocked sources are now "
                   "dropped before the queue by the kernel pre-filter sets pbxgate-blocked4/6 that "
                   "`pbxgate rules --sets` creates from [zones] blocked; delete this key");
        rest.erase("offload_drops");
    }
    return rest;
}

void apply_engine(const toml::table& engine, const std::string& file, policy_draft& draft, diagnostics& diag) {
    check_known_keys(without_removed_keys(engine, file, diag),
                     {"default_verdict", "localhost_default", "non_first_fragment", "icmp_echo", "mode", "placement",
                      "protected", "fail", "queue_maxlen", "copy_range", "log_level", "drop_log_per_second",
                      "metrics", "log_format", "drop_log_per_reason", "offload_after", "mark_mask", "overflow"},
                     "[engine]", file, diag);
    engine_settings& e = draft.engine;
    for (auto&& [key, node] : engine) {
        const std::string_view name = key.str();
        const value_context ctx{file, diag, "engine." + std::string(name)};
        if (name == "default_verdict" || name == "localhost_default" || name == "non_first_fragment") {
            const auto v = read_choice(node, {"accept", "drop"}, ctx);
            if (!v) continue;
            (name == "default_verdict" ? e.default_verdict
             : name == "localhost_default" ? e.localhost_default
                                           : e.non_first_fragment) = to_verdict(*v);
        } else if (name == "icmp_echo") {
            if (const auto zones = read_zone_list(node, ctx)) e.icmp_echo = *zones;
        } else if (name == "mode") {
            if (const auto v = read_choice(node, {"enforce", "monitor"}, ctx))
                e.mode = *v == "monitor" ? engine_mode::monitor : engine_mode::enforce;
        } else if (name == "placement") {
            if (const auto v = read_choice(node, {"host", "router"}, ctx)) {
                e.place = *v == "router" ? placement::router : placement::host;
                draft.placement_at = location_of(file, key.source());
            }
        } else if (name == "protected") {
            auto prefixes = read_prefix_list(node, ctx);
            draft.protected_broken = !prefixes;
            if (prefixes) e.protected_addresses = std::move(*prefixes);
        } else if (name == "fail") {
            if (const auto v = read_choice(node, {"open", "closed"}, ctx))
                e.fail = *v == "closed" ? fail_mode::closed : fail_mode::open;
        } else if (name == "queue_maxlen") {
            if (const auto v = read_uint(node, 1, 1048576, ctx)) e.queue_maxlen = *v;
        } else if (name == "copy_range") {
            if (const auto v = read_uint(node, 128, 65535, ctx)) e.copy_range = *v;
        } else if (name == "log_level") {
            if (auto v = read_choice(node, {"trace", "debug", "info", "warn", "error", "critical", "off"}, ctx))
                e.log_level = std::move(*v);
        } else if (name == "drop_log_per_second") {
            if (const auto v = read_uint(node, 0, 1000000, ctx)) e.drop_log_per_second = *v;
        } else if (name == "metrics") {
            auto v = read_string(node, ctx);
            std::string why;
            if (v && !v->empty() && !parse_listen_address(*v, &why))
                diag.error(ctx.at(node), "engine.metrics: " + why + ", or \"\" to turn the endpoint off");
            else if (v)
                e.metrics = std::move(*v);
        } else if (name == "drop_log_per_reason") {
            apply_reason_limits(node, ctx, e);
        } else if (name == "log_format") {
            if (auto v = read_choice(node, {"text", "json"}, ctx)) e.log_format = std::move(*v);
        } else if (name == "offload_after") {
            if (const auto v = read_uint(node, 1, 1000000, ctx)) e.offload_after = *v;
        } else if (name == "offload_drops") {
            continue;  // reported by without_removed_keys
        } else if (name == "overflow") {
            if (const auto v = read_choice(node, {"drop", "accept"}, ctx))
                e.overflow = *v == "accept" ? overflow_mode::accept : overflow_mode::drop;
        } else if (name == "mark_mask") {
            if (const auto v = read_mark_mask(node, ctx)) e.mark_mask = *v;
        }
    }
}

std::optional<std::vector<std::string>> read_string_list(const toml::node& node, const value_context& ctx) {
    const auto* arr = node.as_array();
    if (!arr) {
        ctx.diag.error(ctx.at(node), ctx.what + " must be an array of strings, not " + std::string(type_phrase(node)));
        return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (const toml::node& item : *arr) {
        auto v = read_string(item, ctx);
        if (!v) {
            ok = false;
            continue;
        }
        if (v->empty()) {
            ctx.diag.error(ctx.at(item), ctx.what + ": an empty string would match everything");
            ok = false;
            continue;
        }
        out.push_back(std::move(*v));
    }
    if (!ok) return std::nullopt;
    return out;
}

// rate_tiers = [ { requests = 10, window = 60, ban = 600 }, ... ] (at most three tiers).
std::optional<std::vector<sip_rate_tier>> read_rate_tiers(const toml::node& node, const value_context& ctx) {
    const auto* arr = node.as_array();
    if (!arr || arr->empty() || arr->size() > 3) {
        ctx.diag.error(ctx.at(node), ctx.what + " must be an array of one to three tables "
                                                "{ requests = N, window = SECONDS, ban = SECONDS }");
        return std::nullopt;
    }
    std::vector<sip_rate_tier> out;
    bool ok = true;
    for (const toml::node& item : *arr) {
        const auto* t = item.as_table();
        if (!t) {
            ctx.diag.error(ctx.at(item), ctx.what + ": each tier must be a table, not " + std::string(type_phrase(item)));
            ok = false;
            continue;
        }
        if (!check_known_keys(*t, {"requests", "window", "ban"}, "a tier of sip.rate_tiers", ctx.file, ctx.diag)) {
            ok = false;
            continue;
        }
        sip_rate_tier tier;
        const std::pair<const char*, std::uint32_t*> keys[] = {
            {"requests", &tier.requests}, {"window", &tier.window_s}, {"ban", &tier.ban_s}};
        for (const auto& [k, target] : keys) {
            const auto* v = t->get(k);
            if (!v) {
                ctx.diag.error(ctx.at(item), ctx.what + ": a tier needs `" + std::string(k) + "`");
                ok = false;
                continue;
            }
            const value_context c{ctx.file, ctx.diag, ctx.what + "." + k};
            if (const auto n = read_uint(*v, 1, 31536000, c)) *target = *n;
            else ok = false;
        }
        out.push_back(tier);
    }
    if (!ok) return std::nullopt;
    return out;
}

void apply_sip(const toml::table& sip, const std::string& file, policy_draft& draft, diagnostics& diag) {
    check_known_keys(sip,
                     {"enabled", "services", "encrypted_services", "scanners", "use_extra_scanners", "extra_scanners",
                      "allow_agents", "scanner_ban", "auth_failures", "auth_window", "auth_ban", "auth_repeat_factor",
                      "auth_ban_max", "rate_tiers", "registered_min", "known_for", "protect_zones", "known_peers",
                      "capacity", "ipv4_prefix", "ipv6_prefix"},
                     "[sip]", file, diag);
    sip_settings& s = draft.sip;
    constexpr std::uint32_t year = 31536000;
    for (auto&& [key, node] : sip) {
        const std::string_view name = key.str();
        const value_context ctx{file, diag, "sip." + std::string(name)};
        if (name == "enabled" || name == "use_extra_scanners") {
            if (const auto v = read_bool(node, ctx)) (name == "enabled" ? s.enabled : s.use_extra_scanners) = *v;
        } else if (name == "services" || name == "encrypted_services") {
            auto v = read_string_list(node, ctx);
            if (!v) continue;
            for (const std::string& n : *v) draft.sip_service_refs.emplace_back(n, ctx.at(node));
            (name == "services" ? s.services : s.encrypted_services) = std::move(*v);
        } else if (name == "scanners" || name == "extra_scanners" || name == "allow_agents") {
            auto v = read_string_list(node, ctx);
            if (!v) continue;
            (name == "scanners" ? s.scanners : name == "extra_scanners" ? s.extra_scanners : s.allow_agents) =
                std::move(*v);
        } else if (name == "scanner_ban" || name == "auth_ban" || name == "auth_ban_max" || name == "auth_window" ||
                   name == "registered_min" || name == "known_for") {
            const auto v = read_uint(node, 1, year, ctx);
            if (!v) continue;
            (name == "scanner_ban"      ? s.scanner_ban_s
             : name == "auth_ban"       ? s.auth_ban_s
             : name == "auth_ban_max"   ? s.auth_ban_max_s
             : name == "auth_window"    ? s.auth_window_s
             : name == "registered_min" ? s.registered_min_s
                                        : s.known_s) = *v;
        } else if (name == "auth_failures") {
            if (const auto v = read_uint(node, 1, 1000, ctx)) s.auth_failures = *v;
        } else if (name == "auth_repeat_factor") {
            if (const auto v = read_uint(node, 1, 100, ctx)) s.auth_repeat_factor = *v;
        } else if (name == "rate_tiers") {
            if (auto v = read_rate_tiers(node, ctx)) s.rate_tiers = std::move(*v);
        } else if (name == "protect_zones") {
            if (const auto v = read_zone_list(node, ctx)) s.protect_zones = *v;
        } else if (name == "known_peers") {
            if (auto v = read_prefix_list(node, ctx)) s.known_peers = std::move(*v);
        } else if (name == "capacity") {
            if (const auto v = read_uint(node, 1024, 16777216, ctx)) s.capacity = *v;
        } else if (name == "ipv4_prefix") {
            if (const auto v = read_uint(node, 16, 32, ctx)) s.ipv4_prefix = static_cast<std::uint8_t>(*v);
        } else if (name == "ipv6_prefix") {
            if (const auto v = read_uint(node, 32, 64, ctx)) s.ipv6_prefix = static_cast<std::uint8_t>(*v);
        }
    }
}

// [asterisk]: config_dir (relative to this file's directory) and import.
void apply_asterisk(const toml::table& table, const std::string& file, policy_draft& draft, diagnostics& diag) {
    check_known_keys(table, {"config_dir", "import"}, "[asterisk]", file, diag);
    if (const auto* node = table.get("config_dir")) {
        const value_context ctx{file, diag, "asterisk.config_dir"};
        if (auto dir = read_string(*node, ctx)) {
            if (dir->empty()) {
                diag.error(ctx.at(*node), "asterisk.config_dir is empty: name Asterisk's configuration directory");
            } else {
                const std::filesystem::path p(*dir);
                draft.asterisk.config_dir =
                    p.is_absolute() ? *dir : (std::filesystem::path(file).parent_path() / p).lexically_normal().string();
            }
        }
    }
    if (const auto* node = table.get("import")) {
        const value_context ctx{file, diag, "asterisk.import"};
        if (const auto on = read_bool(*node, ctx)) {
            draft.asterisk.import = *on;
            draft.asterisk_import_at = ctx.at(*node);
        }
    }
}

// [media]: the zones `media = "negotiated"` applies to and the pinhole table's limits.
void apply_media(const toml::table& table, const std::string& file, policy_draft& draft, diagnostics& diag) {
    check_known_keys(table, {"zones", "capacity", "grace", "idle"}, "[media]", file, diag);
    media_settings& m = draft.media;
    for (auto&& [key, node] : table) {
        const std::string_view name = key.str();
        const value_context ctx{file, diag, "media." + std::string(name)};
        if (name == "zones") {
            if (const auto v = read_zone_list(node, ctx)) m.zones = *v;
        } else if (name == "capacity") {
            if (const auto v = read_uint(node, 1024, 4194304, ctx)) m.capacity = *v;
        } else if (name == "grace") {
            if (const auto v = read_uint(node, 0, 3600, ctx)) m.grace_s = *v;
        } else if (name == "idle") {
            if (const auto v = read_uint(node, 10, 86400, ctx)) m.idle_s = *v;
        }
    }
}

}  // namespace

bool valid_service_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > max_service_name) return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

void apply_policy_file(const toml::table& root, const std::string& file, unsigned file_rank, policy_draft& draft,
                       diagnostics& diag) {
    check_known_keys(root, {"extends", "zones", "services", "engine", "sip", "asterisk", "media"}, "the top level", file, diag);
    if (const auto* node = root.get("zones"))
        if (const auto* zones = as_table_or_report(*node, "[zones]", file, diag)) apply_zones(*zones, file, draft, diag);
    if (const auto* node = root.get("services"))
        if (const auto* services = as_table_or_report(*node, "[services]", file, diag))
            apply_services(*services, file, file_rank, draft, diag);
    if (const auto* node = root.get("engine"))
        if (const auto* engine = as_table_or_report(*node, "[engine]", file, diag))
            apply_engine(*engine, file, draft, diag);
    if (const auto* node = root.get("sip"))
        if (const auto* sip = as_table_or_report(*node, "[sip]", file, diag)) apply_sip(*sip, file, draft, diag);
    if (const auto* node = root.get("asterisk"))
        if (const auto* table = as_table_or_report(*node, "[asterisk]", file, diag))
            apply_asterisk(*table, file, draft, diag);
    if (const auto* node = root.get("media"))
        if (const auto* table = as_table_or_report(*node, "[media]", file, diag)) apply_media(*table, file, draft, diag);
}

}  // namespace pbxgate::policy_detail
