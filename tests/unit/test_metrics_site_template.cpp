// The site file template the package installs as /etc/pbxgate/pbxgate.toml loads against
// the shipped policy at its installed path, and every example in it is valid once
// uncommented (so an admin who uncomments one gets a working file, not an error).
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <sstream>

#include "pbxgate/policy.hpp"

using namespace pbxgate;

namespace {

std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

// The installed layout, mapped onto the source tree.
load_result load_template(const std::string& text) {
    const std::string shipped = slurp(PBXGATE_SOURCE_DIR "/policies/freepbx.toml");
    return load_policy("/etc/pbxgate/pbxgate.toml", [&](const std::string& path) -> std::optional<std::string> {
        if (path == "/etc/pbxgate/pbxgate.toml") return text;
        if (path == "/usr/share/pbxgate/policies/freepbx.toml") return shipped;
        return std::nullopt;
    });
}

std::string errors_of(const load_result& r) {
    std::string out;
    for (const auto& e : r.errors) out += e.to_string() + "\n";
    return out;
}

}  // namespace

TEST_CASE("site template: loads as shipped, in monitor mode, LAN = private ranges", "[metrics][packaging]") {
    const std::string text = slurp(PBXGATE_SOURCE_DIR "/packaging/pbxgate.toml");
    REQUIRE_FALSE(text.empty());
    const load_result r = load_template(text);
    INFO(errors_of(r));
    REQUIRE(r.ok());
    CHECK(r.value->engine.mode == engine_mode::monitor);
    CHECK(r.value->zones.lan.size() == 4);
    CHECK(r.value->engine.metrics == "127.0.0.1:9477");
}

TEST_CASE("site template: every commented example is valid once uncommented", "[metrics][packaging]") {
    std::string text = slurp(PBXGATE_SOURCE_DIR "/packaging/pbxgate.toml");
    // Uncomment "# key = ..." and "# [table]" lines (prose comments have no '=' or '[').
    text = std::regex_replace(text, std::regex(R"(^# ((\[[a-z.-]+\])|([a-z_]+ = .*))$)", std::regex::multiline), "$1");
    // The router example needs placement and protected together; both are uncommented.
    const load_result r = load_template(text);
    INFO(text);
    INFO(errors_of(r));
    REQUIRE(r.ok());
    CHECK(r.value->engine.place == placement::router);
    bool sip_moved = false, added = false;
    for (const auto& svc : r.value->services) {
        if (svc.name == "sip") sip_moved = svc.ports == std::vector<port_range>{{5160, 5160}};
        if (svc.name == "crm-connector") added = true;
    }
    CHECK(sip_moved);
    CHECK(added);
}
