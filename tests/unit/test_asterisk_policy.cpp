// [asterisk] import in the policy: imported ports replace the shipped defaults of the
// services Asterisk owns; site files win; zones and allow stay the policy's.
#include <catch2/catch.hpp>

#include <algorithm>

#include "asterisk_staging.hpp"
#include "pbxgate/compiled_policy.hpp"
#include "pbxgate/policy.hpp"
#include "reload/policy_diff.hpp"

using namespace pbxgate;
using pbxgate::test::config_dir;

namespace {

const std::string shipped = std::string(PBXGATE_SOURCE_DIR) + "/policies/freepbx.toml";

// A site file in `dir` extending the shipped policy, with an Asterisk dir "asterisk/" beside it.
std::string site(const config_dir& dir, const std::string& body, bool import = true) {
    dir.write("site.toml", "extends = \"" + shipped + "\"\n" + body + "\n[asterisk]\nconfig_dir = \"asterisk\"\nimport = " +
                               (import ? "true" : "false") + "\n");
    return dir / "site.toml";
}

const service_def& service(const policy& p, const std::string& name) {
    const auto it = std::find_if(p.services.begin(), p.services.end(), [&](const service_def& s) { return s.name == name; });
    REQUIRE(it != p.services.end());
    return *it;
}

policy load_ok(const std::string& path) {
    const load_result r = load_policy(path);
    for (const auto& e : r.errors) INFO(e.to_string());
    REQUIRE(r.ok());
    return *r.value;
}

}  // namespace

TEST_CASE("asterisk policy: imported ports replace the shipped defaults, allow lists stay") {
    config_dir dir;
    dir.write("asterisk/pjsip.conf", "[t]\ntype=transport\nprotocol=udp\nbind=0.0.0.0:5160\n");
    dir.write("asterisk/rtp.conf", "[general]\nrtpstart=10000\nrtpend=10099\n");
    const policy p = load_ok(site(dir, ""));
    const service_def& sip = service(p, "sip");
    CHECK(describe_ports(sip) == "5160/udp");
    CHECK(sip.allow == service(load_ok(shipped), "sip").allow);
    CHECK(sip.imported_from == "asterisk: pjsip.conf");
    REQUIRE(sip.imported.size() == 1);
    CHECK(sip.imported[0].source == (dir / "asterisk/pjsip.conf") + ":4");
    CHECK(describe_ports(service(p, "rtp")) == "10000-10100/udp");
    // Nothing listens: no iax.conf (chan_iax2 declines), no TLS transport, no http.conf.
    CHECK_FALSE(service(p, "iax").enabled);
    CHECK_FALSE(service(p, "sip-tls").enabled);
    CHECK_FALSE(service(p, "webrtc").enabled);
    // What /etc/asterisk does not hold keeps the TOML values.
    CHECK(describe_ports(service(p, "admin-https")) == "443/tcp");
    // The Asterisk files are part of what the engine watches.
    CHECK(std::find(p.files.begin(), p.files.end(), dir / "asterisk/pjsip.conf") != p.files.end());
    CHECK(p.warnings.empty());

    const auto cp = compiled_policy::compile(p);
    CHECK(cp->service_name(cp->service_for(17, 5160)) == "sip");
    CHECK(cp->service_for(17, 5060) == no_service_id);
}

TEST_CASE("asterisk policy: import off (as shipped) changes nothing") {
    config_dir dir;
    dir.write("asterisk/pjsip.conf", "[t]\ntype=transport\nbind=0.0.0.0:5160\n");
    const policy p = load_ok(site(dir, "", false));
    CHECK(describe_ports(service(p, "sip")) == "5060/udp");
    CHECK(service(p, "sip").imported_from.empty());
    CHECK_FALSE(load_ok(shipped).asterisk.import);
}

TEST_CASE("asterisk policy: a port set in the site file wins, with a warning when Asterisk disagrees") {
    config_dir dir;
    dir.write("asterisk/pjsip.conf", "[t]\ntype=transport\nbind=0.0.0.0:5160\n");
    const policy p = load_ok(site(dir, "[services.sip]\nports = [5070]\n"));
    CHECK(describe_ports(service(p, "sip")) == "5070/udp");
    REQUIRE(p.warnings.size() == 1);
    CHECK(p.warnings[0].where.file == dir / "site.toml");
    CHECK(p.warnings[0].where.line == 3);
    CHECK(p.warnings[0].message.find("Asterisk listens on 5160/udp (" + (dir / "asterisk/pjsip.conf") + ":3)") !=
          std::string::npos);
    // Agreeing: no warning.
    CHECK(load_ok(site(dir, "[services.sip]\nports = [5160]\n")).warnings.empty());
}

TEST_CASE("asterisk policy: a service on two protocols on different ports") {
    config_dir dir;
    dir.write("asterisk/pjsip.conf", "[u]\ntype=transport\nbind=0.0.0.0\n[t]\ntype=transport\nprotocol=tcp\nbind=0.0.0.0:5062\n");
    dir.write("asterisk/rtp.conf", "[general]\nrtpstart=10000\nrtpend=20000\n");  // not over 5060-5062
    const policy p = load_ok(site(dir, ""));
    CHECK(describe_ports(service(p, "sip")) == "5060/udp, 5062/tcp");
    const auto cp = compiled_policy::compile(p);
    CHECK(cp->service_name(cp->service_for(17, 5060)) == "sip");
    CHECK(cp->service_name(cp->service_for(6, 5062)) == "sip");
    CHECK(cp->service_for(17, 5062) == no_service_id);
    CHECK(cp->service_for(6, 5060) == no_service_id);
    // The same ports on both: one tcp+udp group.
    dir.write("asterisk/pjsip.conf", "[u]\ntype=transport\nbind=0.0.0.0\n[t]\ntype=transport\nprotocol=tcp\nbind=[::]\n");
    CHECK(describe_ports(service(load_ok(site(dir, "")), "sip")) == "5060/tcp+udp");
}

TEST_CASE("asterisk policy: imported ranges leave other services' ports to them") {
    config_dir dir;
    // No rtp.conf: Asterisk's 5000-31000 (+1) spans sip 5060 and local-reserved 6000-6199.
    dir.write("asterisk/pjsip.conf", "[u]\ntype=transport\nbind=0.0.0.0\n");
    dir.write("asterisk/iax.conf", "[general]\n");  // 4569 inside udptl's 4000-4999
    const policy p = load_ok(site(dir, ""));
    CHECK(describe_ports(service(p, "rtp")) == "5000-5059,5061-5999,6200-31001/udp");
    CHECK(describe_ports(service(p, "udptl")) == "4000-4568,4570-4999/udp");
    CHECK(describe_ports(service(p, "iax")) == "4569/udp");
}

TEST_CASE("asterisk policy: a configuration Asterisk would refuse refuses the policy, with FILE:LINE:COL") {
    config_dir dir;
    dir.write("asterisk/pjsip.conf", "[t]\ntype=transport\n  bind 0.0.0.0\n#include missing.conf\n");
    const load_result r = load_policy(site(dir, ""));
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].to_string() == (dir / "asterisk/pjsip.conf") + ":4:1: error: asterisk configuration: the file '" +
                                         (dir / "asterisk/missing.conf") + "' was listed as a #include but it does not exist");
}

TEST_CASE("asterisk policy: [asterisk] keys are checked") {
    config_dir dir;
    dir.write("a.toml", "extends = \"" + shipped + "\"\n[asterisk]\nimport = \"yes\"\ndir = \"/etc\"\n");
    const load_result r = load_policy(dir / "a.toml");
    REQUIRE(r.errors.size() == 2);
    dir.write("b.toml", "extends = \"" + shipped + "\"\n[asterisk]\nimport = true\nconfig_dir = \"nowhere\"\n");
    const load_result missing = load_policy(dir / "b.toml");
    REQUIRE(missing.errors.size() == 1);
    CHECK(missing.errors[0].where.line == 3);
    CHECK(missing.errors[0].message.find("is not a directory") != std::string::npos);
}

TEST_CASE("asterisk policy: the reload diff names the Asterisk file") {
    config_dir dir;
    dir.write("asterisk/pjsip.transports.conf", "[0.0.0.0-udp]\ntype=transport\nprotocol=udp\nbind=0.0.0.0:5060\n");
    dir.write("asterisk/pjsip.conf", "#include pjsip.transports.conf\n");
    dir.write("asterisk/http.conf", "[general]\nenabled=yes\nbindaddr=0.0.0.0\n");
    const policy before = load_ok(site(dir, ""));
    dir.write("asterisk/pjsip.transports.conf", "[0.0.0.0-udp]\ntype=transport\nprotocol=udp\nbind=0.0.0.0:5160\n");
    dir.write("asterisk/http.conf", "[general]\nenabled=no\nbindaddr=0.0.0.0\n");
    const policy after = load_ok(site(dir, ""));
    const std::string diff = describe_policy_change(before, after);
    CHECK(diff.find("sip moved 5060/udp -> 5160/udp (asterisk: pjsip.transports.conf)") != std::string::npos);
    CHECK(diff.find("-webrtc (asterisk: nothing listens)") != std::string::npos);
}
