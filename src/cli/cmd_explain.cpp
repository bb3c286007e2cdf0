// pbxgate explain: what the policy does to one packet, and why. Builds the packet_view a
// parser would produce for such a packet and runs the real classifier on it.
#include <CLI/CLI.hpp>

#include <netinet/in.h>

#include <cstdio>
#include <optional>

#include "cli/commands.hpp"
#include "util/json_writer.hpp"
#include "cli/load_or_report.hpp"
#include "media/media_stage.hpp"

namespace pbxgate::cli {
namespace {

struct explain_options {
    std::string policy_path;
    std::string proto;
    std::string src;
    std::string dst;
    std::uint16_t dport = 0;
    std::uint16_t sport = 40000;
    int icmp_type = -1;
    bool from_loopback_interface = false;
    bool json = false;
    bool media = false;                      // list the running engine's pinholes instead
    std::string runtime_dir = "/run/pbxgate";
};

const service_def* find_service(const compiled_policy& cp, service_id id) {
    if (id == no_service_id) return nullptr;
    const std::string_view name = cp.service_name(id);
    for (const service_def& s : cp.source().services)
        if (s.enabled && s.name == name) return &s;
    return nullptr;
}

// "sip 5160/udp from /etc/asterisk/pjsip.transports.conf:14" when the port that matched
// was imported from the Asterisk configuration, else "".
std::string imported_source(const service_def* svc, const explain_options& o) {
    if (!svc || o.proto == "icmp") return "";
    const unsigned bit = static_cast<unsigned>(o.proto == "tcp" ? proto_mask::tcp : proto_mask::udp);
    for (const port_origin& origin : svc->imported) {
        if (!(static_cast<unsigned>(origin.proto) & bit)) continue;
        if (o.dport < origin.ports.first || o.dport > origin.ports.last) continue;
        std::string ports = std::to_string(origin.ports.first);
        if (origin.ports.last != origin.ports.first) ports += "-" + std::to_string(origin.ports.last);
        return svc->name + " " + ports + "/" + o.proto + " from " + origin.source;
    }
    return "";
}

// One sentence an admin can act on.
std::string because(const decision& d, const service_def* svc, const compiled_policy& cp,
                    const explain_options& o) {
    const std::string zone_name{to_string(d.from)};
    switch (d.why) {
        case reason::allowed:
            return "service " + svc->name + " (" + describe_ports(*svc) + ") allows " + zone_name;
        case reason::zone_not_allowed:
            return "service " + svc->name + " (" + describe_ports(*svc) + ") allows only " +
                   describe_zones(svc->allow) + ", not " + zone_name;
        case reason::no_service:
            return "no service claims " + o.proto + " port " + std::to_string(o.dport) + "; the " +
                   (d.from == zone::localhost ? "localhost_default" : "default_verdict") + " is " +
                   std::string(to_string(d.action));
        case reason::blocked:
            return "the source " + o.src + " is in the blocked zone, which always loses (with the rules of "
                   "`pbxgate rules` installed, the kernel drops it before the queue: set pbxgate-blocked)";
        case reason::icmp_allowed: return "the IP stack needs this ICMP type, or echo is allowed from " + zone_name;
        case reason::icmp_denied: return "this ICMP type is not needed by the IP stack or not allowed from " + zone_name;
        case reason::not_protected: return "router placement: the destination is not a protected address";
        case reason::fragment_follows: return "non-first fragment";
        case reason::unsupported_protocol: return "not TCP, UDP or ICMP";
        case reason::malformed: return "malformed packet";
        case reason::banned: return "the source is banned by SIP protection";
        case reason::scanner: return "a SIP request naming a known scanner";
        case reason::request_rate: return "too many SIP requests from an untrusted source";
        case reason::auth_failures: return "too many failed SIP authentications";
        case reason::pinhole: return "a media pinhole a call's SDP opened";
        case reason::media_signalling_peer: return "media from a peer holding a TLS/WSS signalling connection";
        case reason::no_pinhole: return "no media pinhole for this port and source";
    }
    (void)cp;
    return "";
}

int run_explain(const explain_options& o) {
    if (o.media) return run_explain_media(o.runtime_dir, o.json);
    if (o.policy_path.empty() || o.proto.empty() || o.src.empty()) {
        std::fprintf(stderr, "pbxgate explain: --policy, --proto and --src are required (or --media)\n");
        return exit_usage;
    }
    const auto cp = load_or_report(o.policy_path);
    if (!cp) return exit_failure;

    const auto src = parse_address(o.src);
    if (!src) {
        std::fprintf(stderr, "pbxgate explain: --src '%s' is not an IPv4 or IPv6 address\n", o.src.c_str());
        return exit_usage;
    }
    ip_address dst;
    if (!o.dst.empty()) {
        const auto parsed = parse_address(o.dst);
        if (!parsed) {
            std::fprintf(stderr, "pbxgate explain: --dst '%s' is not an IPv4 or IPv6 address\n", o.dst.c_str());
            return exit_usage;
        }
        dst = *parsed;
    } else if (!cp->engine().protected_addresses.empty() && cp->engine().place == placement::router) {
        dst = cp->engine().protected_addresses.front().address;  // the PBX the router guards
    } else {
        dst = *parse_address(src->family == ip_family::v4 ? "192.0.2.1" : "2001:db8::1");
    }
    if (dst.family != src->family) {
        std::fprintf(stderr, "pbxgate explain: --src and --dst must be the same address family\n");
        return exit_usage;
    }

    packet_view pkt;
    pkt.family = src->family;
    pkt.src = *src;
    pkt.dst = dst;
    if (o.proto == "icmp") {
        pkt.protocol = static_cast<std::uint8_t>(src->family == ip_family::v4 ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6});
        pkt.has_icmp = true;
        const int echo_request = src->family == ip_family::v4 ? 8 : 128;
        pkt.icmp_type = static_cast<std::uint8_t>(o.icmp_type >= 0 ? o.icmp_type : echo_request);
    } else {
        if (o.dport == 0) {
            std::fprintf(stderr, "pbxgate explain: --dport N (1-65535) is required for %s\n", o.proto.c_str());
            return exit_usage;
        }
        pkt.protocol = static_cast<std::uint8_t>(o.proto == "tcp" ? int{IPPROTO_TCP} : int{IPPROTO_UDP});
        pkt.has_ports = true;
        pkt.sport = o.sport;
        pkt.dport = o.dport;
    }
    packet_meta meta;
    meta.from_loopback_interface = o.from_loopback_interface;

    const decision d = cp->classify(pkt, meta);
    const service_def* svc = find_service(*cp, d.service);
    std::string why = because(d, svc, *cp, o);
    // The policy alone cannot say whether a call negotiated this media: say what decides.
    const bool negotiated = media::applies(*cp, d);
    if (negotiated)
        why += "; media = \"negotiated\" from " + std::string(to_string(d.from)) +
               ": the engine accepts it only for a pinhole a call's SDP opened, else drops it (no_pinhole); "
               "`pbxgate explain --media` lists the pinholes of the running engine";
    const std::string source = imported_source(svc, o);

    if (o.json) {
        json_writer j;
        j.begin_object().key("verdict").value(to_string(d.action)).key("zone").value(to_string(d.from));
        j.key("service");
        if (svc) j.value(svc->name);
        else j.null();
        j.key("reason").value(to_string(d.why)).key("explanation").value(why);
        j.key("media").value(negotiated ? "negotiated" : "open");
        if (!source.empty()) j.key("source").value(source);
        j.end_object();
        std::printf("%s\n", j.str().c_str());
    } else {
        std::printf("verdict:  %s\nzone:     %s\nservice:  %s\nreason:   %s (%s)\n",
                    std::string(to_string(d.action)).c_str(), std::string(to_string(d.from)).c_str(),
                    svc ? (svc->name + " " + describe_ports(*svc)).c_str() : "none",
                    std::string(to_string(d.why)).c_str(), why.c_str());
        if (!source.empty()) std::printf("source:   %s\n", source.c_str());
    }
    return exit_ok;
}

}  // namespace

void register_explain_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("explain", "show what the policy does to one packet, and why");
    auto o = std::make_shared<explain_options>();
    cmd->add_option("--policy", o->policy_path, "policy file (TOML); required unless --media");
    cmd->add_option("--proto", o->proto, "udp, tcp or icmp; required unless --media")
        ->check(CLI::IsMember({"udp", "tcp", "icmp"}));
    cmd->add_option("--src", o->src, "source address (IPv4 or IPv6); required unless --media");
    cmd->add_flag("--media", o->media, "list the media pinholes of the running engine (control socket)");
    cmd->add_option("--runtime-dir", o->runtime_dir,
                    "with --media: the engine's --runtime-dir (its control socket is DIR/control.sock)");
    cmd->add_option("--dport", o->dport, "destination port (tcp, udp)")->check(CLI::Range(1, 65535));
    cmd->add_option("--dst", o->dst, "destination address (matters in router placement)");
    cmd->add_option("--sport", o->sport, "source port")->check(CLI::Range(1, 65535));
    cmd->add_option("--icmp-type", o->icmp_type, "ICMP/ICMPv6 type (default: echo request)")
        ->check(CLI::Range(0, 255));
    cmd->add_flag("--loopback-interface", o->from_loopback_interface, "the packet arrived on lo");
    cmd->add_flag("--json", o->json, "one JSON object: verdict, zone, service, reason");
    cmd->callback([o, &exit_code] { exit_code = run_explain(*o); });
}

}  // namespace pbxgate::cli
