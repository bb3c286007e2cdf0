// The policy as written: services, zones and engine settings, after `extends` is merged
// and everything is validated. Loading never throws on bad input: it returns every
// error found, each with FILE:LINE:COL, the way nftables reports error records.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pbxgate/address.hpp"
#include "pbxgate/verdict.hpp"

namespace pbxgate {

struct source_location {
    std::string file;
    std::uint32_t line = 0;    // 1-based; 0 when unknown (e.g. a missing file)
    std::uint32_t column = 0;  // 1-based
};

struct diagnostic {
    source_location where;
    std::string message;
    // "FILE:LINE:COL: error: MESSAGE" (or "FILE: error: MESSAGE" without a position).
    std::string to_string() const;
};

enum class proto_mask : std::uint8_t { tcp = 1, udp = 2, tcp_udp = 3 };

struct port_range {
    std::uint16_t first = 0;
    std::uint16_t last = 0;  // inclusive; first <= last
    friend bool operator==(const port_range&, const port_range&) = default;
};

// Ports on one protocol.
struct port_set {
    proto_mask proto = proto_mask::udp;
    std::vector<port_range> ports;
    friend bool operator==(const port_set&, const port_set&) = default;
};

// Where an imported port came from: the Asterisk file and line that decided it.
struct port_origin {
    proto_mask proto = proto_mask::udp;
    port_range ports;
    std::string source;  // "/etc/asterisk/pjsip.transports.conf:14"
    std::string why;     // "pjsip transport 0.0.0.0-udp (udp, bind 0.0.0.0:5160)"
};

// `media` of a service: "open" judges its packets by port and zone only; "negotiated" also
// wants a media pinhole (src/media/pinhole_table.hpp) for packets from the zones listed in
// [media] zones.
enum class media_mode : std::uint8_t { open, negotiated };

struct service_def {
    std::string name;              // the [services.NAME] key
    std::string description;       // optional `description` key
    proto_mask proto = proto_mask::udp;
    std::vector<port_range> ports;
    zone_set allow = 0;            // zones allowed to reach the service
    bool enabled = true;           // `enabled = false` removes the service from the policy
    bool offload = false;          // flow offload: decided flows skip the queue
    media_mode media = media_mode::open;  // RTP/UDPTL: accept only negotiated media (pinholes)
    source_location where;         // where the [services.NAME] table (last override) starts
    // More ports on other protocols than `proto`: an imported SIP service may listen on
    // UDP 5060 and TCP 5062. Judged like `ports`.
    std::vector<port_set> more_ports;
    // Set when the ports were imported from the Asterisk configuration ([asterisk] import):
    // "asterisk: pjsip.conf, pjsip.transports.conf", and each port's own source.
    std::string imported_from;
    std::vector<port_origin> imported;
};

// [asterisk]: follow the PBX's own configuration for the ports of the services it owns.
struct asterisk_settings {
    std::string config_dir = "/etc/asterisk";  // relative: to the policy file that sets it
    bool import = false;
    std::vector<std::string> files;  // the Asterisk files the import read (also in policy::files)
};

// [blocklists]: address feeds kept in files of their own (one address or prefix a line),
// read and watched beside the policy. Their entries join the blocked zone for internet
// sources only (trusted, lan and localhost win); a change of a list alone is applied without
// recompiling the policy, and a bad line skips that line only (src/blocklist/).
struct blocklist_settings {
    std::vector<std::string> files;       // absolute, or relative to the policy file naming them
    std::uint32_t max_entries = 1000000;  // per file; entries beyond are refused and counted
    friend bool operator==(const blocklist_settings&, const blocklist_settings&) = default;
};

struct zone_defs {
    std::vector<ip_prefix> lan;
    std::vector<ip_prefix> trusted;
    std::vector<ip_prefix> blocked;
};

enum class engine_mode : std::uint8_t { enforce, monitor };
enum class placement : std::uint8_t { host, router };
enum class fail_mode : std::uint8_t { open, closed };
enum class overflow_mode : std::uint8_t { drop, accept };

// The [engine] table. Every key is optional; the defaults are what ships.
struct engine_settings {
    verdict default_verdict = verdict::drop;      // no service claims the port
    // The same for packets from the localhost zone. The host's own processes talk over
    // loopback on many ports no service lists (MySQL 3306, AMI 5038, Redis...): a
    // filter guarding the PBX from the network must not cut them.
    verdict localhost_default = verdict::accept;
    verdict non_first_fragment = verdict::accept; // see reason::fragment_follows
    zone_set icmp_echo = all_allowable_zones;     // zones whose ping (echo request) is answered
    engine_mode mode = engine_mode::enforce;
    placement place = placement::host;
    std::vector<ip_prefix> protected_addresses;   // router placement: what the engine guards
    fail_mode fail = fail_mode::open;             // no engine bound (rules: --queue-bypass)
    // Queue full (or its socket overrun) while the engine runs: drop, or accept unjudged
    // (NFQA_CFG_F_FAIL_OPEN). Accept lets a flood at any port open every port for as long as
    // it lasts; offloaded flows (RTP) skip the queue and keep flowing either way.
    overflow_mode overflow = overflow_mode::drop;
    std::uint32_t queue_maxlen = 16384;           // kernel queue length per queue
    // Bytes of each packet copied to us: a whole UDP SIP datagram (its SDP comes last).
    std::uint32_t copy_range = 2048;
    std::string log_level = "info";
    std::uint32_t drop_log_per_second = 20;       // rate limit of drop log lines
    // Tighter limits for some reasons (lines per second), within drop_log_per_second:
    // e.g. a scanner's zone_not_allowed flood must not crowd out every other drop line.
    std::vector<std::pair<reason, std::uint32_t>> drop_log_per_reason;
    std::string metrics = "127.0.0.1:9477";       // Prometheus endpoint ADDRESS:PORT; "" turns it off
    std::string log_format = "text";              // "text", or "json" (one object per line)
    // Flow offload (see src/offload/offload_marks.hpp): accepted packets of a flow
    // of an offload service judged before the kernel carries the rest of it.
    std::uint32_t offload_after = 1;
    std::uint32_t mark_mask = 0x00f00000;         // the packet/connection mark bits pbxgate may use
};

// A request-rate tier: more than `requests` SIP requests within `window_s` seconds bans
// the source for `ban_s` seconds.
struct sip_rate_tier {
    std::uint32_t requests = 0;
    std::uint32_t window_s = 0;
    std::uint32_t ban_s = 0;
    friend bool operator==(const sip_rate_tier&, const sip_rate_tier&) = default;
};

// The [sip] table: SIP-aware protection (scanners, authentication failures, request rate,
// trust learned from the PBX's answers). Every key is optional; the defaults are what ships.
struct sip_settings {
    bool enabled = true;
    std::vector<std::string> services{"sip"};                          // read as SIP (UDP, TCP)
    std::vector<std::string> encrypted_services{"sip-tls", "webrtc-tls"};  // TLS/WSS: count connections
    std::vector<std::string> scanners{
        "friendly-scanner", "sipvicious", "sipcli", "pplsip", "VaxSIPUserAgent", "VaxIPUserAgent",
        "sundayddr", "iWar", "sip-scan", "SIPScan", "smap", "friendly-request", "siparmyknife",
        "sivus", "Gulp", "UsaAirport", "SimpleSIP"};
    bool use_extra_scanners = false;                                   // the opt-in second list
    std::vector<std::string> extra_scanners{"sipsak", "PortSIP VoIP SDK", "Ozeki", "Cisco-SIPGateway",
                                            "eyeBeam"};
    std::vector<std::string> allow_agents;                             // wins over both lists
    std::uint32_t scanner_ban_s = 86400;
    std::uint32_t auth_failures = 5;
    std::uint32_t auth_window_s = 60;
    std::uint32_t auth_ban_s = 3600;
    std::uint32_t auth_repeat_factor = 4;
    std::uint32_t auth_ban_max_s = 7 * 86400;
    std::vector<sip_rate_tier> rate_tiers{{10, 60, 600}, {50, 10, 86400}, {100, 86400, 86400}};
    std::uint32_t registered_min_s = 300;
    std::uint32_t known_s = 86400;
    zone_set protect_zones = zone_bit(zone::internet);
    std::vector<ip_prefix> known_peers;
    std::uint32_t capacity = 262144;        // read at start; a reload keeps the running table
    std::uint8_t ipv4_prefix = 32;
    std::uint8_t ipv6_prefix = 64;

    // Which case-folded leading byte pairs can start a signature of each list: built once
    // when the policy is read (index_scanner_lists), so a request's User-Agent is only
    // compared where a signature could start. A filter whose list changed size since is
    // ignored and the pairs are recomputed per request (still correct, slower).
    struct pair_filter {
        // Indexed by the folded first byte: bit (second byte & 63) set when a signature
        // starts with that pair.
        std::array<std::uint64_t, 256> pairs{};
        bool short_needle = false;  // a one-byte signature: every position must be tried
        bool built = false;
        std::size_t count = 0;      // the list's size when built
    };
    pair_filter scanners_filter, extra_scanners_filter, allow_agents_filter;
};

// The [crowdsec] table: bans shared with a CrowdSec local API. Off when the table is absent.
// Paths are absolute (a relative one is taken from the policy file's directory).
struct crowdsec_settings {
    bool enabled = false;                  // the table is present
    std::string api_url;                   // http://HOST:PORT/ of the local API
    std::string bouncer_key_file;          // `cscli bouncers add NAME -o raw`: pull decisions
    std::string machine_credentials_file;  // `cscli machines add NAME --auto -f FILE`: push alerts
    std::uint32_t poll_seconds = 10;
    friend bool operator==(const crowdsec_settings&, const crowdsec_settings&) = default;
};

// The [media] table: where `media = "negotiated"` applies, and the pinhole table's limits.
struct media_settings {
    zone_set zones = zone_bit(zone::internet);  // zones whose media needs a pinhole
    std::uint32_t capacity = 40000;   // pinholes (2 to 4 a call); read at start
    std::uint32_t grace_s = 5;        // after BYE / CANCEL / a final error
    std::uint32_t idle_s = 180;       // no media for that long closes a pinhole
};
// Builds the pair filters of the three lists (after they are set).
void index_scanner_lists(sip_settings& s) noexcept;

struct policy {
    std::vector<service_def> services;   // enabled and disabled, in a stable order
    zone_defs zones;
    engine_settings engine;
    sip_settings sip;
    crowdsec_settings crowdsec;
    media_settings media;
    std::vector<std::string> files;      // every file read (the top file first, then what it extends,
                                         // then the Asterisk files the import read)
    asterisk_settings asterisk;
    blocklist_settings blocklists;  // not in `files`: a list change reloads the lists only
    // Not errors, but worth a line from `pbxgate check`: a site file's port that disagrees
    // with what Asterisk listens on.
    std::vector<diagnostic> warnings;
};

struct load_result {
    std::optional<policy> value;          // set only when there are no errors
    std::vector<diagnostic> errors;
    bool ok() const noexcept { return value.has_value() && errors.empty(); }
};

// Reads a file's text, or nullopt when it cannot (missing, unreadable). Injected so the
// loader can be fuzzed and unit-tested in memory.
using file_reader = std::function<std::optional<std::string>(const std::string& path)>;
file_reader filesystem_reader();

// Load, merge (`extends`, relative to the extending file), and validate.
load_result load_policy(const std::string& path, const file_reader& read = filesystem_reader());

// "5060/udp", "10000-20000/udp", "69/tcp+udp", "5060/udp, 5062/tcp" (with more_ports)
std::string describe_ports(const service_def& s);
// "localhost, trusted, lan" (most trusted first), or "no zone".
std::string describe_zones(zone_set zones);

// The built-in service names every shipped policy defines (a contract with site files).
const std::vector<std::string>& builtin_service_names();

}  // namespace pbxgate
