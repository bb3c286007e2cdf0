// The media keys of the policy: `media` on a service, the [media] table, their errors
// (FILE:LINE:COL, unknown values and keys refused), and what the shipped policy says.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "pbxgate/compiled_policy.hpp"
#include "test_policy_support.hpp"

using namespace pbxgate;
using namespace pbxgate::test;

namespace {

const std::string svc = "[services.rtp]\nproto = \"udp\"\nports = [\"10000-20000\"]\nallow = [\"internet\", \"lan\"]\n";

}  // namespace

TEST_CASE("media policy: errors carry FILE:LINE:COL", "[policy][media]") {
    struct error_case {
        const char* name;
        std::string text;
        std::string want;
    };
    const std::vector<error_case> cases = {
        {"unknown media value", svc + "media = \"sometimes\"\n",
         "p.toml:5:9: error: `media` of [services.rtp] must be one of \"negotiated\", \"open\""},
        {"media of the wrong type", svc + "media = true\n", "p.toml:5:9: error: `media` of [services.rtp] must be"},
        {"unknown [media] key", "[media]\ngrace_period = 5\n", "p.toml:2:1: error: unknown key 'grace_period' in [media]"},
        {"unknown zone in [media] zones", "[media]\nzones = [\"outside\"]\n", "p.toml:2:"},
        {"idle out of range", "[media]\nidle = 1\n", "p.toml:2:8: error: media.idle is 1: it must be from 10 to 86400"},
        {"negotiated without SIP reading", svc + "media = \"negotiated\"\n[sip]\nenabled = false\n",
         "p.toml:1:1: error: [services.rtp] media = \"negotiated\" needs [sip] enabled = true"},
    };
    for (const error_case& c : cases) {
        INFO(c.name);
        const load_result r = load_from({{"p.toml", c.text}}, "p.toml");
        REQUIRE_FALSE(r.ok());
        INFO(error_lines(r));
        CHECK(error_lines(r).find(c.want) != std::string::npos);
    }
}

TEST_CASE("media policy: values, defaults, a site file's override, compiled zones", "[policy][media]") {
    const load_result r = load_from(
        {{"p.toml", svc + "media = \"negotiated\"\n[media]\nzones = [\"internet\", \"lan\"]\ncapacity = 2048\ngrace = 0\n"
                          "idle = 60\n"}},
        "p.toml");
    INFO(error_lines(r));
    REQUIRE(r.ok());
    const service_def* rtp = find_service(*r.value, "rtp");
    REQUIRE(rtp != nullptr);
    CHECK(rtp->media == media_mode::negotiated);
    CHECK(r.value->media.zones == zones_of({zone::internet, zone::lan}));
    CHECK(r.value->media.capacity == 2048);
    CHECK(r.value->media.grace_s == 0);
    CHECK(r.value->media.idle_s == 60);
    const auto cp = compiled_policy::compile(*r.value);
    const service_id id = cp->service_for(17, 10000);
    CHECK(cp->media_zones(id) == zones_of({zone::internet, zone::lan}));

    const load_result open = load_from({{"p.toml", svc}}, "p.toml");
    REQUIRE(open.ok());
    CHECK(find_service(*open.value, "rtp")->media == media_mode::open);
    CHECK(open.value->media.zones == zone_bit(zone::internet));
    CHECK(compiled_policy::compile(*open.value)->media_zones(1) == 0);
}

TEST_CASE("media policy: the shipped policy negotiates internet media for rtp and udptl", "[policy][media]") {
    const load_result r = load_policy(PBXGATE_SOURCE_DIR "/policies/freepbx.toml");
    REQUIRE(r.ok());
    for (const char* name : {"rtp", "udptl"}) {
        INFO(name);
        const service_def* s = find_service(*r.value, name);
        REQUIRE(s != nullptr);
        CHECK(s->media == media_mode::negotiated);
    }
    CHECK(find_service(*r.value, "sip")->media == media_mode::open);
    CHECK(r.value->media.zones == zone_bit(zone::internet));
    CHECK(r.value->engine.copy_range >= 1500);  // a whole UDP SIP datagram, SDP included
    const auto cp = compiled_policy::compile(*r.value);
    const service_id rtp = cp->service_for(17, 10000);
    CHECK((cp->media_zones(rtp) & zone_bit(zone::internet)) != 0);
    CHECK((cp->media_zones(rtp) & zone_bit(zone::lan)) == 0);
}
