#include "policy/toml_values.hpp"

#include <algorithm>
#include <bit>
#include <charconv>

namespace pbxgate::policy_detail {

namespace {

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string join(std::initializer_list<std::string_view> items, std::string_view sep) {
    std::string out;
    for (const auto item : items) {
        if (!out.empty()) out += sep;
        out += item;
    }
    return out;
}

// Edit distance, for "did you mean" on misspelt keys; the inputs are short keys.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0u : 1u)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

constexpr std::string_view allowable_zones_text = "internet, lan, trusted, localhost";

// Parses "N" exactly: digits only, no sign, no spaces.
std::optional<unsigned long> parse_decimal(std::string_view text) {
    unsigned long value = 0;
    if (text.empty() || text.size() > 9) return std::nullopt;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
    return value;
}

}  // namespace

source_location location_of(const std::string& file, const toml::source_region& region) {
    return source_location{file, region.begin.line, region.begin.column};
}

std::string_view type_phrase(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::table: return "a table";
        case toml::node_type::array: return "an array";
        case toml::node_type::string: return "a string";
        case toml::node_type::integer: return "an integer";
        case toml::node_type::floating_point: return "a float";
        case toml::node_type::boolean: return "a boolean";
        case toml::node_type::date: return "a date";
        case toml::node_type::time: return "a time";
        case toml::node_type::date_time: return "a date-time";
        case toml::node_type::none: break;
    }
    return "nothing";
}

bool check_known_keys(const toml::table& table, std::initializer_list<std::string_view> known,
                      std::string_view table_name, const std::string& file, diagnostics& diag) {
    bool all_known = true;
    for (auto&& [key, value] : table) {
        const std::string_view name = key.str();
        if (std::find(known.begin(), known.end(), name) != known.end()) continue;
        all_known = false;
        std::string message = "unknown key " + quoted(name) + " in " + std::string(table_name);
        std::string_view closest;
        std::size_t best = 3;  // suggest only close misspellings
        for (const auto candidate : known) {
            const auto d = edit_distance(name, candidate);
            if (d < best) best = d, closest = candidate;
        }
        if (!closest.empty()) message += " (did you mean " + quoted(closest) + "?)";
        message += "; known keys: " + join(known, ", ");
        diag.error(location_of(file, key.source()), std::move(message));
    }
    return all_known;
}

std::optional<std::string> read_string(const toml::node& node, const value_context& ctx) {
    if (const auto* s = node.as_string()) return s->get();
    ctx.diag.error(ctx.at(node), ctx.what + " must be a string, not " + std::string(type_phrase(node)));
    return std::nullopt;
}

std::optional<bool> read_bool(const toml::node& node, const value_context& ctx) {
    if (const auto* b = node.as_boolean()) return b->get();
    ctx.diag.error(ctx.at(node), ctx.what + " must be true or false, not " + std::string(type_phrase(node)));
    return std::nullopt;
}

std::optional<std::uint32_t> read_uint(const toml::node& node, std::uint32_t min, std::uint32_t max,
                                       const value_context& ctx) {
    const std::string range = std::to_string(min) + " to " + std::to_string(max);
    const auto* i = node.as_integer();
    if (!i) {
        ctx.diag.error(ctx.at(node), ctx.what + " must be an integer from " + range + ", not " +
                                         std::string(type_phrase(node)));
        return std::nullopt;
    }
    const std::int64_t v = i->get();
    if (v < min || v > max) {
        ctx.diag.error(ctx.at(node), ctx.what + " is " + std::to_string(v) + ": it must be from " + range);
        return std::nullopt;
    }
    return static_cast<std::uint32_t>(v);
}

std::optional<std::uint32_t> read_mark_mask(const toml::node& node, const value_context& ctx) {
    std::optional<std::uint64_t> value;
    if (const auto* i = node.as_integer()) {
        if (i->get() >= 0) value = static_cast<std::uint64_t>(i->get());
    } else if (const auto* s = node.as_string()) {
        const std::string& text = s->get();
        const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
        std::uint64_t v = 0;
        const char* first = text.data() + (hex ? 2 : 0);
        const char* last = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(first, last, v, hex ? 16 : 10);
        if (ec == std::errc{} && ptr == last && first != last) value = v;
    }
    if (!value || *value > 0xffffffffu) {
        ctx.diag.error(ctx.at(node), ctx.what + " must be a 32-bit mask such as \"0x00f00000\"");
        return std::nullopt;
    }
    const auto mask = static_cast<std::uint32_t>(*value);
    if (std::popcount(mask) < 2) {
        ctx.diag.error(ctx.at(node), ctx.what + " needs at least two bits (one mark value for offloaded accepts, "
                                                "one for offloaded drops)");
        return std::nullopt;
    }
    return mask;
}

std::optional<std::string> read_choice(const toml::node& node, std::initializer_list<std::string_view> choices,
                                       const value_context& ctx) {
    const auto* s = node.as_string();
    if (s && std::find(choices.begin(), choices.end(), std::string_view(s->get())) != choices.end())
        return s->get();
    std::string choices_text;
    for (const auto c : choices) choices_text += (choices_text.empty() ? "\"" : ", \"") + std::string(c) + "\"";
    const std::string got = s ? "\"" + s->get() + "\"" : std::string(type_phrase(node));
    ctx.diag.error(ctx.at(node), ctx.what + " must be one of " + choices_text + ", not " + got);
    return std::nullopt;
}

std::optional<std::vector<ip_prefix>> read_prefix_list(const toml::node& node, const value_context& ctx) {
    const auto* array = node.as_array();
    if (!array) {
        ctx.diag.error(ctx.at(node), ctx.what + " must be an array of CIDR strings (e.g. [\"192.0.2.0/24\"]), not " +
                                         std::string(type_phrase(node)));
        return std::nullopt;
    }
    std::vector<ip_prefix> prefixes;
    bool ok = true;
    for (const auto& element : *array) {
        const auto* s = element.as_string();
        if (!s) {
            ctx.diag.error(ctx.at(element), "each entry of " + ctx.what + " must be a CIDR string, not " +
                                                std::string(type_phrase(element)));
            ok = false;
            continue;
        }
        std::string why;
        if (const auto p = parse_prefix(s->get(), &why)) {
            prefixes.push_back(*p);
        } else {
            ctx.diag.error(ctx.at(element), "bad prefix in " + ctx.what + ": " + why);
            ok = false;
        }
    }
    if (!ok) return std::nullopt;
    return prefixes;
}

std::optional<zone_set> read_zone_list(const toml::node& node, const value_context& ctx) {
    const auto* array = node.as_array();
    if (!array) {
        ctx.diag.error(ctx.at(node), ctx.what + " must be an array of zone names (" +
                                         std::string(allowable_zones_text) + "), not " +
                                         std::string(type_phrase(node)));
        return std::nullopt;
    }
    zone_set zones = 0;
    bool ok = true;
    for (const auto& element : *array) {
        const auto* s = element.as_string();
        if (!s) {
            ctx.diag.error(ctx.at(element), "each entry of " + ctx.what + " must be a zone name string, not " +
                                                std::string(type_phrase(element)));
            ok = false;
            continue;
        }
        const auto z = zone_from_string(s->get());
        if (z == zone::blocked) {
            ctx.diag.error(ctx.at(element),
                           "'blocked' cannot be allowed in " + ctx.what +
                               ": it is a deny list (sources in zones.blocked are always dropped); allowable zones are " +
                               std::string(allowable_zones_text));
            ok = false;
        } else if (!z) {
            ctx.diag.error(ctx.at(element), "unknown zone " + quoted(s->get()) + " in " + ctx.what +
                                                "; allowable zones are " + std::string(allowable_zones_text));
            ok = false;
        } else {
            zones = static_cast<zone_set>(zones | zone_bit(*z));
        }
    }
    if (!ok) return std::nullopt;
    return zones;
}

std::optional<std::vector<port_range>> read_port_list(const toml::node& node, const value_context& ctx) {
    const auto* array = node.as_array();
    if (!array) {
        ctx.diag.error(ctx.at(node), ctx.what + " must be an array of ports and \"LO-HI\" ranges (e.g. [5060] or "
                                                "[\"10000-20000\"]), not " +
                                         std::string(type_phrase(node)));
        return std::nullopt;
    }
    std::vector<port_range> ports;
    bool ok = true;
    auto out_of_range = [&](const toml::node& at, const std::string& value) {
        ctx.diag.error(ctx.at(at), "port " + value + " in " + ctx.what + " is out of range: ports are 1 to 65535");
        ok = false;
    };
    for (const auto& element : *array) {
        if (const auto* i = element.as_integer()) {
            const std::int64_t v = i->get();
            if (v < 1 || v > 65535) out_of_range(element, std::to_string(v));
            else ports.push_back({static_cast<std::uint16_t>(v), static_cast<std::uint16_t>(v)});
            continue;
        }
        const auto* s = element.as_string();
        if (!s) {
            ctx.diag.error(ctx.at(element), "each entry of " + ctx.what +
                                                " must be a port number or a \"LO-HI\" string, not " +
                                                std::string(type_phrase(element)));
            ok = false;
            continue;
        }
        const std::string_view text = s->get();
        const auto dash = text.find('-');
        const auto first = parse_decimal(text.substr(0, dash));
        const auto last = dash == std::string_view::npos ? first : parse_decimal(text.substr(dash + 1));
        if (!first || !last) {
            ctx.diag.error(ctx.at(element), "malformed port range \"" + std::string(text) + "\" in " + ctx.what +
                                                ": write \"N\" or \"LO-HI\" (e.g. \"10000-20000\")");
            ok = false;
            continue;
        }
        if (*first < 1 || *first > 65535) {
            out_of_range(element, std::to_string(*first));
            continue;
        }
        if (*last < 1 || *last > 65535) {
            out_of_range(element, std::to_string(*last));
            continue;
        }
        if (*first > *last) {
            ctx.diag.error(ctx.at(element), "port range \"" + std::string(text) + "\" in " + ctx.what +
                                                " is inverted: write \"" + std::to_string(*last) + "-" +
                                                std::to_string(*first) + "\"");
            ok = false;
            continue;
        }
        ports.push_back({static_cast<std::uint16_t>(*first), static_cast<std::uint16_t>(*last)});
    }
    if (!ok) return std::nullopt;
    return ports;
}

std::optional<proto_mask> read_proto(const toml::node& node, const value_context& ctx) {
    const auto choice = read_choice(node, {"tcp", "udp", "tcp+udp"}, ctx);
    if (!choice) return std::nullopt;
    if (*choice == "tcp") return proto_mask::tcp;
    if (*choice == "udp") return proto_mask::udp;
    return proto_mask::tcp_udp;
}

std::string_view to_string(proto_mask p) noexcept {
    switch (p) {
        case proto_mask::tcp: return "tcp";
        case proto_mask::udp: return "udp";
        case proto_mask::tcp_udp: return "tcp+udp";
    }
    return "?";
}

}  // namespace pbxgate::policy_detail
