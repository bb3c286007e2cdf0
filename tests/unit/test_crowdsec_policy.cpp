// The [crowdsec] policy table: values, FILE:LINE:COL errors, what it lacks, and which keys a
// reload applies (poll_seconds) or keeps until a restart (the rest).
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "reload/crowdsec_keys.hpp"
#include "reload/policy_slot.hpp"
#include "reload/reloader.hpp"
#include "test_policy_support.hpp"

using namespace pbxgate;
using namespace pbxgate::test;

namespace {

const std::string top = "/etc/pbxgate/site.toml";
const std::string probe = "[services.probe]\nproto = \"udp\"\nports = [40000]\nallow = [\"lan\"]\n";

// A table goes after the probe service, a top-level key before it.
load_result load_text(const std::string& text) {
    return load_from({{top, text.starts_with("[") || text.empty() ? probe + text : text + probe}}, top);
}

}  // namespace

TEST_CASE("crowdsec policy: off without the table; values and defaults with it", "[policy][crowdsec]") {
    const load_result none = load_text("");
    REQUIRE(none.ok());
    CHECK_FALSE(none.value->crowdsec.enabled);

    const load_result r = load_text(
        "[crowdsec]\napi_url = \"http://192.0.2.1:8080\"\nbouncer_key_file = \"keys/bouncer.key\"\n"
        "machine_credentials_file = \"/etc/pbxgate/crowdsec-machine.yaml\"\n");
    INFO(error_lines(r));
    REQUIRE(r.ok());
    const crowdsec_settings& c = r.value->crowdsec;
    CHECK(c.enabled);
    CHECK(c.api_url == "http://192.0.2.1:8080/");
    CHECK(c.bouncer_key_file == "/etc/pbxgate/keys/bouncer.key");  // relative to the policy file
    CHECK(c.machine_credentials_file == "/etc/pbxgate/crowdsec-machine.yaml");
    CHECK(c.poll_seconds == 10);

    // A machine only: the URL may come from its credentials file.
    const load_result m = load_text("[crowdsec]\nmachine_credentials_file = \"/etc/pbxgate/m.yaml\"\npoll_seconds = 2\n");
    INFO(error_lines(m));
    REQUIRE(m.ok());
    CHECK(m.value->crowdsec.poll_seconds == 2);
}

TEST_CASE("crowdsec policy: each mistake is one located error", "[policy][crowdsec]") {
    struct row {
        const char* text;
        const char* prefix;  // FILE:LINE:COL (the probe service takes lines 1-4)
        const char* part;
    };
    const row rows[] = {
        {"[crowdsec]\napi_url = \"http://192.0.2.1/\"\nbouncer_key = \"k\"\n", "/etc/pbxgate/site.toml:7:1: error: ",
         "unknown key 'bouncer_key' in [crowdsec]; known keys: api_url, bouncer_key_file"},
        {"[crowdsec]\napi_url = \"192.0.2.1:8080\"\nbouncer_key_file = \"/k\"\n", "/etc/pbxgate/site.toml:6:11: error: ",
         "crowdsec.api_url must start with http:// or https://"},
        {"[crowdsec]\napi_url = \"http://a/\"\nbouncer_key_file = \"/k\"\npoll_seconds = 0\n",
         "/etc/pbxgate/site.toml:8:16: error: ", "crowdsec.poll_seconds"},
        {"[crowdsec]\napi_url = \"http://a/\"\nbouncer_key_file = 5\n", "/etc/pbxgate/site.toml:7:20: error: ",
         "crowdsec.bouncer_key_file must be a string"},
        {"[crowdsec]\napi_url = \"http://a/\"\nbouncer_key_file = \"\"\n", "/etc/pbxgate/site.toml:7:20: error: ",
         "is empty"},
        {"[crowdsec]\napi_url = \"http://a/\"\n", "/etc/pbxgate/site.toml:5:1: error: ",
         "[crowdsec] needs bouncer_key_file"},
        {"[crowdsec]\nbouncer_key_file = \"/k\"\n", "/etc/pbxgate/site.toml:5:1: error: ",
         "bouncer_key_file needs api_url"},
        {"crowdsec = 1\n", "/etc/pbxgate/site.toml:1:12: error: ", "[crowdsec] must be a table"},
    };
    for (const row& t : rows) {
        INFO(t.text);
        const load_result r = load_text(t.text);
        REQUIRE(r.errors.size() == 1);
        const std::string e = r.errors[0].to_string();
        INFO(e);
        CHECK(e.rfind(t.prefix, 0) == 0);
        CHECK(e.find(t.part) != std::string::npos);
    }
}

TEST_CASE("crowdsec policy: a reload applies poll_seconds and keeps the rest until a restart", "[reload][crowdsec]") {
    const std::string base = "[crowdsec]\napi_url = \"http://192.0.2.1:8080/\"\nbouncer_key_file = \"/k\"\n";
    const load_result first = load_text(base);
    REQUIRE(first.ok());
    policy_slot slot(compiled_policy::compile(*first.value));
    const std::string next = probe +
                             "[crowdsec]\napi_url = \"http://192.0.2.2:8080/\"\nbouncer_key_file = \"/other\"\n"
                             "poll_seconds = 3\n";
    const reload_outcome out = reload_policy(top, slot, memory_reader({{top, next}}));
    REQUIRE(out.ok);
    const crowdsec_settings& now = slot.current()->policy->source().crowdsec;
    CHECK(now.poll_seconds == 3);
    CHECK(now.api_url == "http://192.0.2.1:8080/");
    CHECK(now.bouncer_key_file == "/k");
    const auto has = [&](const std::string& line) {
        return std::find(out.kept.begin(), out.kept.end(), line) != out.kept.end();
    };
    CHECK(has("crowdsec.api_url changed: needs a restart; keeping \"http://192.0.2.1:8080/\""));
    CHECK(has("crowdsec.bouncer_key_file changed: needs a restart; keeping \"/k\""));

    // Removing the table keeps the running client, and says so.
    crowdsec_settings gone;
    gone.poll_seconds = 5;
    const auto lines = keep_restart_only_crowdsec_keys(gone, now);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("[crowdsec] removed: needs a restart") != std::string::npos);
    CHECK(gone.enabled);
    CHECK(gone.poll_seconds == 5);
}
