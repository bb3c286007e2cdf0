#include <catch2/catch.hpp>

#include "test_policy_support.hpp"

using namespace pbxgate;
using namespace pbxgate::test;

namespace {

const std::string policies_dir = std::string(PBXGATE_SOURCE_DIR) + "/policies";

struct expected_service {
    const char* name;
    proto_mask proto;
    std::vector<port_range> ports;
    zone_set allow;
    bool offload;
};

const zone_set open_ = zones_of({zone::localhost, zone::trusted, zone::lan, zone::internet});
const zone_set lan_only = zones_of({zone::localhost, zone::trusted, zone::lan});
const zone_set local_only = zones_of({zone::localhost});

// docs/freepbx-ports.md, restated: the default port and exposure of every service.
const std::vector<expected_service> freepbx_defaults = {
    {"ssh", proto_mask::tcp, {{22, 22}}, lan_only, false},
    {"admin-http", proto_mask::tcp, {{80, 80}}, local_only, false},
    {"admin-https", proto_mask::tcp, {{443, 443}}, lan_only, false},
    {"openvpn", proto_mask::tcp_udp, {{1194, 1194}}, open_, false},
    {"sip", proto_mask::udp, {{5060, 5060}}, open_, false},
    {"sip-tls", proto_mask::tcp, {{5061, 5061}}, open_, false},
    {"rtp", proto_mask::udp, {{10000, 20000}}, open_, true},
    {"ucp-http", proto_mask::tcp, {{81, 81}}, local_only, false},
    {"ucp-https", proto_mask::tcp, {{4443, 4443}}, open_, false},
    {"webrtc", proto_mask::tcp, {{8088, 8088}}, lan_only, false},
    {"webrtc-tls", proto_mask::tcp, {{8089, 8089}}, open_, false},
    {"node", proto_mask::tcp, {{8001, 8001}}, lan_only, false},
    {"node-tls", proto_mask::tcp, {{8003, 8003}}, open_, false},
    {"provisioning-http", proto_mask::tcp, {{84, 84}}, lan_only, false},
    {"provisioning-https", proto_mask::tcp, {{1443, 1443}}, open_, false},
    {"ftp", proto_mask::tcp, {{21, 21}}, lan_only, false},
    {"tftp", proto_mask::tcp_udp, {{69, 69}}, lan_only, false},
    {"phone-apps-http", proto_mask::tcp, {{82, 82}}, lan_only, false},
    {"phone-apps-https", proto_mask::tcp, {{3443, 3443}}, open_, false},
    {"talk-node", proto_mask::tcp, {{8443, 8443}}, local_only, false},
    {"sangoma-phone", proto_mask::tcp, {{6443, 6443}}, open_, false},
    {"zulu", proto_mask::tcp, {{8002, 8002}}, open_, false},
    {"local-reserved", proto_mask::tcp_udp, {{6000, 6199}}, local_only, false},
    {"iax", proto_mask::udp, {{4569, 4569}}, lan_only, false},
    {"udptl", proto_mask::udp, {{4000, 4568}, {4570, 4999}}, open_, true},  // minus IAX's 4569
};

policy load_file_ok(const std::string& path) {
    const auto result = load_policy(path);
    INFO(error_lines(result));
    REQUIRE(result.ok());
    return *result.value;
}

}  // namespace

TEST_CASE("the shipped freepbx.toml defines every built-in service as the article says", "[policy][shipped]") {
    const auto p = load_file_ok(policies_dir + "/freepbx.toml");
    std::vector<std::string> names;
    for (const auto& s : p.services) names.push_back(s.name);
    CHECK(names == builtin_service_names());
    REQUIRE(freepbx_defaults.size() == builtin_service_names().size());
    for (const auto& e : freepbx_defaults) {
        INFO(e.name);
        const auto* s = find_service(p, e.name);
        REQUIRE(s);
        CHECK(s->enabled);
        CHECK(s->proto == e.proto);
        CHECK(s->ports == e.ports);
        CHECK(static_cast<unsigned>(s->allow) == static_cast<unsigned>(e.allow));
        CHECK(s->offload == e.offload);
        CHECK_FALSE(s->description.empty());
    }
    CHECK(p.zones.lan.size() == 5);
    CHECK(p.zones.trusted.empty());
    CHECK(p.zones.blocked.empty());
    CHECK(p.files == std::vector<std::string>{policies_dir + "/freepbx.toml"});
}

TEST_CASE("the shipped [engine] table leaves every key at its default", "[policy][shipped]") {
    const auto p = load_file_ok(policies_dir + "/freepbx.toml");
    const engine_settings defaults;
    CHECK(p.engine.default_verdict == defaults.default_verdict);
    CHECK(p.engine.localhost_default == defaults.localhost_default);
    CHECK(p.engine.non_first_fragment == defaults.non_first_fragment);
    CHECK(p.engine.icmp_echo == defaults.icmp_echo);
    CHECK(p.engine.mode == defaults.mode);
    CHECK(p.engine.place == defaults.place);
    CHECK(p.engine.protected_addresses.empty());
    CHECK(p.engine.fail == defaults.fail);
    CHECK(p.engine.queue_maxlen == defaults.queue_maxlen);
    CHECK(p.engine.copy_range == defaults.copy_range);
    CHECK(p.engine.log_level == defaults.log_level);
    CHECK(p.engine.drop_log_per_second == defaults.drop_log_per_second);
    CHECK(p.engine.metrics == defaults.metrics);
    CHECK(p.engine.log_format == defaults.log_format);
}

TEST_CASE("the example site.toml moves SIP to 5160 and sets its zones", "[policy][shipped]") {
    const auto base = load_file_ok(policies_dir + "/freepbx.toml");
    const auto site = load_file_ok(policies_dir + "/examples/site.toml");
    CHECK(site.files == std::vector<std::string>{policies_dir + "/examples/site.toml", policies_dir + "/freepbx.toml"});
    REQUIRE(site.services.size() == base.services.size());
    for (std::size_t i = 0; i < base.services.size(); ++i) {
        const auto& s = site.services[i];
        INFO(s.name);
        CHECK(s.name == base.services[i].name);
        const auto expected_ports =
            s.name == "sip" ? std::vector<port_range>{{5160, 5160}} : base.services[i].ports;
        CHECK(s.ports == expected_ports);
        CHECK(s.proto == base.services[i].proto);
        CHECK(s.allow == base.services[i].allow);
    }
    struct zone_row { const char* zone_name; const std::vector<ip_prefix>* got; std::vector<std::string> want; };
    const zone_row rows[] = {
        {"lan", &site.zones.lan, {"192.0.2.0/24", "2001:db8:1::/48"}},
        {"trusted", &site.zones.trusted, {"198.51.100.10/32"}},
        {"blocked", &site.zones.blocked, {"203.0.113.0/24"}},
    };
    for (const auto& r : rows) {
        INFO(r.zone_name);
        std::vector<std::string> got;
        for (const auto& prefix : *r.got) got.push_back(to_string(prefix));
        CHECK(got == r.want);
    }
}

TEST_CASE("the filesystem reader refuses missing files and directories", "[policy]") {
    const auto read = filesystem_reader();
    CHECK_FALSE(read(policies_dir + "/no-such-file.toml").has_value());
    CHECK_FALSE(read(policies_dir).has_value());
    const auto text = read(policies_dir + "/freepbx.toml");
    REQUIRE(text);
    CHECK(text->find("[services.sip]") != std::string::npos);
}

TEST_CASE("policy files on disk: errors name the path as given, relative or not", "[policy][shipped]") {
    const std::string data = std::string(PBXGATE_SOURCE_DIR) + "/tests/data/policies";
    const auto result = load_policy(data + "/broken-site.toml");
    INFO(error_lines(result));
    const std::string file = data + "/broken-site.toml:";
    struct row { std::string prefix; std::string part; };
    const row expected[] = {
        {file + "5:8: error: ", "bad prefix in zones.lan: '192.168.1.1/24' has host bits set; the network is 192.168.1.0/24"},
        {file + "9:1: error: ", "unknown key 'alow' in [services.sip] (did you mean 'allow'?)"},
        {file + "13:9: error: ", "overlap service 'iax' (ports at " + policies_dir + "/freepbx.toml:"},
        {file + "13:9: error: ", "overlap service 'udptl' (ports at " + policies_dir + "/freepbx.toml:"},
        {file + "16:10: error: ", "port range \"20000-10000\" in `ports` of [services.rtp] is inverted: write \"10000-20000\""},
    };
    REQUIRE(result.errors.size() == std::size(expected));
    for (std::size_t i = 0; i < std::size(expected); ++i) {
        const auto line = result.errors[i].to_string();
        CHECK(line.rfind(expected[i].prefix, 0) == 0);
        CHECK(line.find(expected[i].part) != std::string::npos);
    }
    CHECK(result.errors[3].message.find(") on 4500-4568, 4570-4600/udp") != std::string::npos);

    const auto good = load_policy(data + "/good-site.toml");
    INFO(error_lines(good));
    REQUIRE(good.ok());
    CHECK(good.value->files.size() == 3);
    CHECK(good.value->files.back() == policies_dir + "/freepbx.toml");
    CHECK_FALSE(find_service(*good.value, "iax")->enabled);
    CHECK(find_service(*good.value, "sip")->ports == std::vector<port_range>{{5160, 5160}});
    CHECK(good.value->services.back().name == "vendor-prov");
}
