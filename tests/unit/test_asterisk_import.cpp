// The port mapping over every folder of the Asterisk/FreePBX corpus
// (tests/data/asterisk-configs, whose README documents the rules with their place in the
// Asterisk source). Each expected port below was worked out by hand from those rules;
// the comment beside each case says how.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>

#include "asterisk/port_mapping.hpp"
#include "asterisk_staging.hpp"

using namespace pbxgate;
using namespace pbxgate::asterisk;
using pbxgate::test::config_dir;

namespace {

// "sip 5060/udp pjsip.conf:6": service, ports, and the file name and line that decided them.
std::vector<std::string> rendered(const import_result& r) {
    std::vector<std::string> out;
    for (const auto& p : r.ports)
        out.push_back(p.service + " " + describe(p) + " " +
                      std::filesystem::path(p.where.file).filename().string() + ":" + std::to_string(p.where.line));
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

struct corpus_case {
    const char* name;
    std::vector<std::pair<std::string, std::string>> links;  // name in the dir -> corpus file
    std::vector<std::string> empty_files;                      // FreePBX creates these empty
    std::vector<std::string> expected;
};

const std::vector<corpus_case>& corpus_cases() {
    static const std::vector<corpus_case> cases{
        // Upstream samples. pjsip.conf.sample has no active line: no transport. rtp.conf.sample
        // sets 10000/20000 at l.10-11: RTP 10000-20000, RTCP +1 -> 10000-20001. udptl.conf.sample
        // 4000/4999 (l.8-9). iax.conf.sample has no active bind key: 0.0.0.0:4569, decided by its
        // [general] (l.1..). http.conf.sample: enabled absent (no), so no server although
        // bindaddr is set. No sip.conf: chan_sip declines. ari/manager/wizard carry no port we map.
        {"asterisk samples",
         {{"pjsip.conf", "asterisk/pjsip.conf.sample"}, {"http.conf", "asterisk/http.conf.sample"},
          {"iax.conf", "asterisk/iax.conf.sample"}, {"rtp.conf", "asterisk/rtp.conf.sample"},
          {"udptl.conf", "asterisk/udptl.conf.sample"}, {"manager.conf", "asterisk/manager.conf.sample"},
          {"ari.conf", "asterisk/ari.conf.sample"}, {"pjsip_wizard.conf", "asterisk/pjsip_wizard.conf.sample"}},
         {},
         {"rtp 10000-20001/udp rtp.conf:10", "udptl 4000-4999/udp udptl.conf:8", "iax 4569/udp iax.conf:@general"}},
        // basic-pbx: [transport-udp-nat] protocol udp, bind 0.0.0.0 (l.6) without a port: 5060.
        // No rtp.conf: res_rtp_asterisk's own 5000-31000 (+1). No udptl.conf: 4000-4999.
        {"asterisk basic-pbx",
         {{"pjsip.conf", "asterisk/basic-pbx_pjsip.conf"}},
         {},
         {"sip 5060/udp pjsip.conf:6", "rtp 5000-31001/udp rtp.conf:0", "udptl 4000-4999/udp udptl.conf:0"}},
        // chan_sip sample: udpbindaddr=0.0.0.0 (l.191), no bindport: UDP 5060; tcpenable=no;
        // tlsenable commented out.
        {"asterisk-20 chan_sip sample",
         {{"sip.conf", "asterisk-20/sip.conf.sample"}},
         {},
         {"sip 5060/udp sip.conf:191", "rtp 5000-31001/udp rtp.conf:0", "udptl 4000-4999/udp udptl.conf:0"}},
        // Templates hold bind=127.0.0.1:5062 (l.8) and [::1]:5062 (l.12); the children set
        // udp and tcp: 5062/udp and 5062/tcp, each decided by the inherited bind line.
        {"testsuite echo (template bind)",
         {{"pjsip.conf", "asterisk-testsuite/echo_ast2_pjsip.conf"}},
         {},
         {"sip 5062/udp pjsip.conf:8", "sip 5062/tcp pjsip.conf:8", "rtp 5000-31001/udp rtp.conf:0",
          "udptl 4000-4999/udp udptl.conf:0"}},
        // [transport-udp6] bind [::]:5060 (l.14) and [transport-udp] 0.0.0.0:5060: one port;
        // the contact port 5061 is remote; PEER_A thrice with different types is fine.
        {"testsuite rtp_ptime",
         {{"pjsip.conf", "asterisk-testsuite/rtp_ptime_transcode_ast1_pjsip.conf"}},
         {},
         {"sip 5060/udp pjsip.conf:14", "rtp 5000-31001/udp rtp.conf:0", "udptl 4000-4999/udp udptl.conf:0"}},
        // chan_sip bindaddr = [::1]:5060 (l.2); peer port = 5061 is remote.
        {"testsuite udptl_v6 chan_sip",
         {{"sip.conf", "asterisk-testsuite/udptl_v6_ast1_sip.conf"}},
         {},
         {"sip 5060/udp sip.conf:2", "rtp 5000-31001/udp rtp.conf:0", "udptl 4000-4999/udp udptl.conf:0"}},
        // `binaddr` is a typo (ignored), bindport=4570 (l.3): default bind on 4570.
        {"testsuite iax ast2 (typo)",
         {{"iax.conf", "asterisk-testsuite/bridge_ast2_iax.conf"}},
         {},
         {"iax 4570/udp iax.conf:3", "rtp 5000-31001/udp rtp.conf:0", "udptl 4000-4999/udp udptl.conf:0"}},
        // bindaddr=127.0.0.1 (l.2) BEFORE bindport=4571: that socket gets the default 4569,
        // decided by [general] (l.1) where the port is still the default.
        {"testsuite iax ast3 (order)",
         {{"iax.conf", "asterisk-testsuite/bridge_ast3_iax.conf"}},
         {},
         {"iax 4569/udp iax.conf:1", "rtp 5000-31001/udp rtp.conf:0", "udptl 4000-4999/udp udptl.conf:0"}},
        // bindport=4570 (l.3) then bindaddr: 127.0.0.1:4570, the port from l.3.
        {"testsuite iax md5 (right order)",
         {{"iax.conf", "asterisk-testsuite/iax2_md5_ast1_iax.conf"}},
         {},
         {"iax 4570/udp iax.conf:3", "rtp 5000-31001/udp rtp.conf:0", "udptl 4000-4999/udp udptl.conf:0"}},
        // A FreePBX 12 host: the dump plus the core wrappers, symlinked as on the real host.
        // chan_sip: sip.conf [general] + sip_general_additional.conf bindport=5060 (l.28) ->
        // 5060/udp. PJSIP: [0.0.0.0-udp] bind=0.0.0.0:5061 (pjsip.transports.conf l.14).
        // RTP: rtp_additional.conf 10000/20000 (l.11) -> 10000-20001. http_additional.conf
        // enabled=no: no server. iax: no bind keys, default 4569 from iax.conf's [general].
        // udptl.conf: [general] only, 4000-4999 by default.
        {"freepbx12 host (dring_test + core wrappers)",
         {{"pjsip.conf", "freepbx12-dring_test/pjsip.conf"},
          {"pjsip.transports.conf", "freepbx12-dring_test/pjsip.transports.conf"},
          {"pjsip.transports_custom.conf", "freepbx12-dring_test/pjsip.transports_custom.conf"},
          {"rtp_additional.conf", "freepbx12-dring_test/rtp_additional.conf"},
          {"http_additional.conf", "freepbx12-dring_test/http_additional.conf"},
          {"iax_general_additional.conf", "freepbx12-dring_test/iax_general_additional.conf"},
          {"sip_general_additional.conf", "freepbx12-dring_test/sip_general_additional.conf"},
          {"manager.conf", "freepbx12-dring_test/manager.conf"},
          {"http.conf", "freepbx-core/http.conf"}, {"rtp.conf", "freepbx-core/rtp.conf"},
          {"sip.conf", "freepbx-core/sip.conf"}, {"iax.conf", "freepbx-core/iax.conf"},
          {"udptl.conf", "freepbx-core/udptl.conf"}},
         {"pjsip_custom.conf", "pjsip.endpoint.conf", "pjsip.aor.conf", "pjsip.auth.conf", "pjsip.registration.conf",
          "pjsip.identify.conf", "http_custom.conf", "rtp_custom.conf", "sip_general_custom.conf", "sip_nat.conf",
          "sip_registrations_custom.conf", "sip_registrations.conf", "sip_custom.conf", "sip_additional.conf",
          "sip_custom_post.conf", "iax_general_custom.conf", "iax_registrations_custom.conf", "iax_registrations.conf",
          "iax_custom.conf", "iax_additional.conf", "iax_custom_post.conf", "udptl_custom.conf"},
         {"sip 5060/udp sip_general_additional.conf:28", "sip 5061/udp pjsip.transports.conf:14",
          "rtp 10000-20001/udp rtp_additional.conf:11", "iax 4569/udp iax.conf:@general",
          "udptl 4000-4999/udp udptl.conf:0"}},
        // mlan: #tryinclude pjsip_transport.conf; [t_wan](!) bind 0.0.0.0:5060 (l.11) inherited
        // by udp and tcp; [tls](t_wan) re-declares bind 0.0.0.0:5061 (l.25). rtp.conf
        // 10000/10099 (l.5) -> 10000-10100.
        {"mlan docker",
         {{"pjsip.conf", "mlan-docker-asterisk/pjsip.conf"},
          {"pjsip_transport.conf", "mlan-docker-asterisk/pjsip_transport.conf"},
          {"rtp.conf", "mlan-docker-asterisk/rtp.conf"}, {"manager.conf", "mlan-docker-asterisk/manager.conf"}},
         {},
         {"sip 5060/udp pjsip_transport.conf:11", "sip 5060/tcp pjsip_transport.conf:11",
          "sip-tls 5061/tcp pjsip_transport.conf:25", "rtp 10000-10100/udp rtp.conf:5",
          "udptl 4000-4999/udp udptl.conf:0"}},
        // tech7fox: udp/tcp bind 0.0.0.0 (l.9/19) and [::] without port: 5060; tls
        // 0.0.0.0:5061 (l.29); wss binds nothing. http: enabled, bindaddr [::] (l.6) with
        // bindport 8088 (l.7); tlsenable, tlsbindaddr [::]:8089 (l.9). rtp 10000/20000 (l.4).
        {"tech7fox home assistant",
         {{"pjsip.conf", "tech7fox-asterisk-hass-addons/pjsip.conf"},
          {"http.conf", "tech7fox-asterisk-hass-addons/http.conf.gtpl"},
          {"rtp.conf", "tech7fox-asterisk-hass-addons/rtp.conf"}},
         {"pjsip_default.conf", "pjsip_custom.conf"},
         {"sip 5060/udp pjsip.conf:9", "sip 5060/tcp pjsip.conf:19", "sip-tls 5061/tcp pjsip.conf:29",
          "webrtc 8088/tcp http.conf:7", "webrtc-tls 8089/tcp http.conf:9", "rtp 10000-20001/udp rtp.conf:4",
          "udptl 4000-4999/udp udptl.conf:0"}},
        // theo: SIP on 5160 (l.12); the wss bind 8189 opens nothing; http bindport 8188 (l.9),
        // tlsbindaddr 0.0.0.0:8189 (l.11); rtp 20000/20100 (l.6) -> 20000-20101.
        {"theo voice agent",
         {{"pjsip.conf", "theo-ai-voice-agent/pjsip.conf"}, {"http.conf", "theo-ai-voice-agent/http.conf"},
          {"rtp.conf", "theo-ai-voice-agent/rtp.conf"}},
         {},
         {"sip 5160/udp pjsip.conf:12", "webrtc 8188/tcp http.conf:9", "webrtc-tls 8189/tcp http.conf:11",
          "rtp 20000-20101/udp rtp.conf:6", "udptl 4000-4999/udp udptl.conf:0"}},
    };
    return cases;
}

// "@general": the line of the file's first [general] header, looked up so the table does not
// hard-code a line of a 26 KB sample.
std::string expand(const std::string& expected, const config_dir& dir) {
    const auto at = expected.find("@general");
    if (at == std::string::npos) return expected;
    const auto colon = expected.rfind(' ', at);
    const std::string file = expected.substr(colon + 1, expected.find(':', colon) - colon - 1);
    const read_result r = read_config(dir.path(), file);
    std::uint32_t line = 0;
    if (r.ok())
        for (const auto& c : r.value->categories)
            if (c.name == "general") {
                line = c.where.line;
                break;
            }
    return expected.substr(0, at) + std::to_string(line);
}

}  // namespace

TEST_CASE("asterisk import: every corpus folder gives the ports Asterisk listens on") {
    for (const auto& c : corpus_cases()) {
        SECTION(c.name) {
            config_dir dir;
            for (const auto& [name, file] : c.links) dir.link(name, file);
            for (const auto& name : c.empty_files) dir.write(name, "");
            const import_result r = import_ports(dir.path());
            INFO(c.name);
            for (const auto& e : r.errors) INFO(e.to_string());
            REQUIRE(r.errors.empty());
            std::vector<std::string> expected;
            for (const auto& e : c.expected) expected.push_back(expand(e, dir));
            CHECK(rendered(r) == sorted(expected));
        }
    }
}

TEST_CASE("asterisk import: symlinked files are read through, and both ends are watched") {
    config_dir dir;
    dir.link("rtp.conf", "mlan-docker-asterisk/rtp.conf");
    const import_result r = import_ports(dir.path());
    REQUIRE(r.ok());
    const auto has = [&](const std::string& f) { return std::find(r.files.begin(), r.files.end(), f) != r.files.end(); };
    CHECK(has(dir / "rtp.conf"));
    CHECK(has(std::filesystem::canonical(test::asterisk_corpus + "/mlan-docker-asterisk/rtp.conf").string()));
    // Files that do not exist yet are watched too: creating pjsip.conf must be noticed.
    CHECK(has(dir / "pjsip.conf"));
}

TEST_CASE("asterisk import: the FreePBX wrappers alone miss their #include targets: an error, not a guess") {
    config_dir dir;
    dir.link("rtp.conf", "freepbx-core/rtp.conf");
    const import_result r = import_ports(dir.path());
    REQUIRE_FALSE(r.ok());
    // rtp.conf line 17 is `#include rtp_additional.conf` (after the banner).
    CHECK(r.errors[0].where.file == dir / "rtp.conf");
    CHECK(r.errors[0].where.line > 0);
    CHECK(r.errors[0].message.find("rtp_additional.conf") != std::string::npos);
}

TEST_CASE("asterisk import: the largest corpus folder imports fast") {
    config_dir dir;
    for (const auto& [name, file] : corpus_cases()[0].links) dir.link(name, file);
    const auto started = std::chrono::steady_clock::now();
    constexpr int rounds = 20;
    for (int i = 0; i < rounds; ++i) REQUIRE(import_ports(dir.path()).ok());
    const auto per_import = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::steady_clock::now() - started) / rounds;
    WARN("import of the asterisk/ samples (largest corpus folder, ~250 KB): " << per_import.count() << " us");
    CHECK(per_import < std::chrono::milliseconds(500));
}
