#include <catch2/catch.hpp>

#include "test_policy_support.hpp"

using namespace pbxgate;
using namespace pbxgate::test;

namespace {

const std::string base_text =
    "[zones]\n"
    "lan = [\"10.0.0.0/8\"]\n"
    "trusted = [\"198.51.100.7\"]\n"
    "[engine]\n"
    "log_level = \"debug\"\n"
    "queue_maxlen = 4096\n"
    "[services.sip]\n"                                      // 7
    "description = \"SIP signalling\"\n"
    "proto = \"udp\"\n"
    "ports = [5060]\n"
    "allow = [\"localhost\", \"trusted\", \"lan\", \"internet\"]\n"
    "[services.rtp]\n"
    "proto = \"udp\"\n"
    "ports = [\"10000-20000\"]\n"
    "allow = [\"localhost\", \"trusted\", \"lan\", \"internet\"]\n"
    "offload = true\n"
    "[services.iax]\n"
    "proto = \"udp\"\n"
    "ports = [4569]\n"
    "allow = [\"localhost\", \"lan\"]\n"
    "[engine.drop_log_per_reason]\n"  // last, so the line numbers above stay as the tests name them
    "zone_not_allowed = 5\n"
    "blocked = 1\n";

bool same_service(const service_def& a, const service_def& b) {
    return a.name == b.name && a.description == b.description && a.proto == b.proto && a.ports == b.ports &&
           a.allow == b.allow && a.enabled == b.enabled && a.offload == b.offload;
}

policy load_ok(const file_map& files, const std::string& top) {
    const auto result = load_from(files, top);
    INFO(error_lines(result));
    REQUIRE(result.ok());
    return *result.value;
}

}  // namespace

TEST_CASE("a site file overrides its base key by key", "[policy][merge]") {
    const auto base = load_ok({{"base.toml", base_text}}, "base.toml");
    const zone_set open = zones_of({zone::localhost, zone::trusted, zone::lan, zone::internet});

    struct row {
        const char* kind;
        std::string site;                  // appended after `extends = "base.toml"`
        const char* changed;               // the one service expected to differ (or "")
        std::function<void(const service_def&)> check_changed;
    };
    const row rows[] = {
        {"moving SIP changes only its ports", "[services.sip]\nports = [5160]\n", "sip",
         [&](const service_def& s) {
             CHECK(s.ports == std::vector<port_range>{{5160, 5160}});
             CHECK(s.proto == proto_mask::udp);
             CHECK(s.allow == open);
             CHECK(s.description == "SIP signalling");
             CHECK(s.where.file == "site.toml");
             CHECK(s.where.line == 2);
         }},
        {"an allow override replaces the inherited list", "[services.iax]\nallow = [\"trusted\"]\n", "iax",
         [](const service_def& s) {
             CHECK(s.allow == zones_of({zone::trusted}));
             CHECK(s.ports == std::vector<port_range>{{4569, 4569}});
         }},
        {"disabling keeps the service, marked disabled", "[services.rtp]\nenabled = false\n", "rtp",
         [](const service_def& s) {
             CHECK_FALSE(s.enabled);
             CHECK(s.offload);
         }},
        {"proto widened", "[services.iax]\nproto = \"tcp+udp\"\n", "iax",
         [](const service_def& s) { CHECK(s.proto == proto_mask::tcp_udp); }},
    };
    for (const auto& r : rows) {
        INFO(r.kind);
        const auto site = load_ok({{"base.toml", base_text}, {"site.toml", "extends = \"base.toml\"\n" + r.site}},
                                  "site.toml");
        CHECK(site.files == std::vector<std::string>{"site.toml", "base.toml"});
        REQUIRE(site.services.size() == base.services.size());
        for (std::size_t i = 0; i < base.services.size(); ++i) {
            INFO(base.services[i].name);
            REQUIRE(site.services[i].name == base.services[i].name);  // order kept
            if (site.services[i].name == r.changed) r.check_changed(site.services[i]);
            else CHECK(same_service(site.services[i], base.services[i]));
        }
        CHECK(site.zones.lan == base.zones.lan);
        CHECK(site.zones.trusted == base.zones.trusted);
        CHECK(site.zones.blocked == base.zones.blocked);
        CHECK(site.engine.log_level == "debug");
    }
}

TEST_CASE("new services are appended in file order", "[policy][merge]") {
    const auto p = load_ok({{"base.toml", base_text},
                            {"site.toml", "extends = \"base.toml\"\n"
                                          "[services.zz-pager]\nproto = \"tcp\"\nports = [7000]\n"
                                          "[services.aa-fax]\nproto = \"udp\"\nports = [\"3000-3999\"]\nallow = [\"lan\"]\n"}},
                           "site.toml");
    std::vector<std::string> names;
    for (const auto& s : p.services) names.push_back(s.name);
    CHECK(names == std::vector<std::string>{"sip", "rtp", "iax", "zz-pager", "aa-fax"});
    CHECK(find_service(p, "zz-pager")->allow == 0);  // allow is optional: nobody
    CHECK(find_service(p, "aa-fax")->ports == std::vector<port_range>{{3000, 3999}});
}

TEST_CASE("zone lists and engine keys set by a site replace the inherited ones", "[policy][merge]") {
    const auto p = load_ok({{"base.toml", base_text},
                            {"site.toml", "extends = \"base.toml\"\n[zones]\nlan = [\"192.0.2.0/24\", \"2001:db8:1::/48\"]\n"
                                          "[engine]\nqueue_maxlen = 100\nplacement = \"router\"\n"
                                          "protected = [\"192.0.2.10\"]\nmetrics = \"[::1]:9100\"\n"
                                          "log_format = \"json\"\n"
                                          "[engine.drop_log_per_reason]\nblocked = 0\nmalformed = 2\n"}},
                           "site.toml");
    REQUIRE(p.zones.lan.size() == 2);
    CHECK(to_string(p.zones.lan[0]) == "192.0.2.0/24");
    CHECK(to_string(p.zones.lan[1]) == "2001:db8:1::/48");
    REQUIRE(p.zones.trusted.size() == 1);  // untouched: inherited
    CHECK(to_string(p.zones.trusted[0]) == "198.51.100.7/32");
    CHECK(p.engine.queue_maxlen == 100);
    CHECK(p.engine.log_level == "debug");  // inherited
    CHECK(p.engine.place == placement::router);
    REQUIRE(p.engine.protected_addresses.size() == 1);
    CHECK(p.engine.default_verdict == verdict::drop);  // default
    CHECK(p.engine.metrics == "[::1]:9100");
    CHECK(p.engine.log_format == "json");
    // Per-reason limits merge key by key: blocked overridden, malformed added, the rest inherited.
    const std::vector<std::pair<reason, std::uint32_t>> limits{
        {reason::blocked, 0}, {reason::zone_not_allowed, 5}, {reason::malformed, 2}};
    CHECK(p.engine.drop_log_per_reason == limits);
}

TEST_CASE("a chain of three files merges in order, paths relative to each file", "[policy][merge]") {
    const file_map files{
        {"etc/site.toml", "extends = \"layers/mid.toml\"\n[services.sip]\nports = [5160]\n"},
        {"etc/layers/mid.toml", "extends = \"../../share/base.toml\"\n[services.sip]\nports = [5070]\nallow = [\"lan\"]\n"
                                "[engine]\nmode = \"monitor\"\n"},
        {"share/base.toml", base_text},
    };
    const auto p = load_ok(files, "etc/site.toml");
    CHECK(p.files == std::vector<std::string>{"etc/site.toml", "etc/layers/mid.toml", "share/base.toml"});
    const auto* sip = find_service(p, "sip");
    REQUIRE(sip);
    CHECK(sip->ports == std::vector<port_range>{{5160, 5160}});  // top wins
    CHECK(sip->allow == zones_of({zone::lan}));                  // from the middle
    CHECK(sip->proto == proto_mask::udp);                         // from the base
    CHECK(p.engine.mode == engine_mode::monitor);
}

TEST_CASE("a site file resolves a clash by moving or disabling a service", "[policy][merge]") {
    const std::string clash = base_text + "[services.pbx-app]\nproto = \"udp\"\nports = [4569]\n";
    const auto broken = load_from({{"base.toml", clash}}, "base.toml");
    REQUIRE(broken.errors.size() == 1);
    CHECK(broken.errors[0].message.find("overlap service 'iax'") != std::string::npos);

    struct row { const char* kind; const char* site; };
    const row rows[] = {
        {"moving one", "[services.pbx-app]\nports = [4570]\n"},
        {"disabling one", "[services.iax]\nenabled = false\n"},
    };
    for (const auto& r : rows) {
        INFO(r.kind);
        load_ok({{"base.toml", clash}, {"site.toml", std::string("extends = \"base.toml\"\n") + r.site}}, "site.toml");
    }
}

TEST_CASE("an overlap introduced by a site file is reported in the site file", "[policy][merge]") {
    const auto result = load_from(
        {{"base.toml", base_text}, {"site.toml", "extends = \"base.toml\"\n[services.sip]\nports = [4569]\n"}},
        "site.toml");
    INFO(error_lines(result));
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].to_string() ==
          "site.toml:3:9: error: ports of service 'sip' overlap service 'iax' (ports at base.toml:19:9) on 4569/udp: "
          "a port belongs to one service; move or disable one of them");
}
