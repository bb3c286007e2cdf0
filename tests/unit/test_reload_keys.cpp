// Reload and the [engine] keys: keys a running engine cannot apply keep their running
// values, one line each; every other key is applied; the summary names every changed key.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "reload/engine_keys.hpp"
#include "reload/policy_diff.hpp"
#include "reload/policy_slot.hpp"
#include "reload/reloader.hpp"
#include "test_policy_support.hpp"

using namespace pbxgate;
using pbxgate::test::memory_reader;

namespace {

const std::string top = "/etc/pbxgate/site.toml";
const std::string probe = "[services.probe]\nproto = \"udp\"\nports = [40000]\nallow = [\"lan\"]\n";

std::unique_ptr<const compiled_policy> compile_text(const std::string& text) {
    const load_result r = load_policy(top, memory_reader({{top, text}}));
    INFO(pbxgate::test::error_lines(r));
    REQUIRE(r.ok());
    return compiled_policy::compile(*r.value);
}

const engine_key& key_named(std::string_view name) {
    for (const engine_key& k : engine_keys())
        if (k.name == name) return k;
    FAIL("no engine key " << name);
    return engine_keys().front();
}

// Counts an aggregate's fields (brace initialisation with ever more "anything" values).
struct any_value {
    template <typename T>
    operator T() const;  // never defined: used in unevaluated contexts only
};
template <typename T, typename... Fields>
constexpr std::size_t field_count() {
    if constexpr (requires { T{Fields{}..., any_value{}}; }) return field_count<T, Fields..., any_value>();
    else return sizeof...(Fields);
}

}  // namespace

TEST_CASE("every [engine] setting has a row in the reload key table", "[reload][keys]") {
    // A new engine_settings field without a row would be neither diffed nor kept at reload.
    CHECK(field_count<engine_settings>() == engine_keys().size());
    // Each row names a key the loader knows.
    for (const engine_key& k : engine_keys()) {
        INFO(k.name);
        const load_result r = load_policy(top, memory_reader({{top, "[engine]\n" + std::string(k.name) + " = 1\n"}}));
        for (const diagnostic& d : r.errors) CHECK(d.message.find("unknown key") == std::string::npos);
    }
}

TEST_CASE("a reload applies what it can and keeps each restart-only key, saying so", "[reload][keys]") {
    struct row {
        const char* key;
        const char* changed;  // the [engine] lines of the new file
        const char* kept;     // the running value, as the line shows it
    };
    // Defaults before; each row changes one key (placement needs its `protected` list).
    const std::vector<row> rows = {
        {"mark_mask", "mark_mask = \"0x0f000000\"", "0x00f00000"},
        {"placement", "placement = \"router\"\nprotected = [\"192.0.2.1/32\"]", "host"},
        {"protected", "protected = [\"192.0.2.1/32\"]", "[]"},
        {"fail", "fail = \"closed\"", "open"},
        {"queue_maxlen", "queue_maxlen = 4096", "16384"},
        {"copy_range", "copy_range = 256", "2048"},
        {"metrics", "metrics = \"127.0.0.1:9999\"", "\"127.0.0.1:9477\""},
        {"overflow", "overflow = \"accept\"", "drop"},
    };
    for (const row& r : rows) {
        INFO(r.key);
        policy_slot slot(compile_text(probe));
        const engine_settings running = slot.current()->policy->engine();
        // The same file also raises drop_log_per_second, which a running engine applies.
        const std::string next = probe + "[engine]\ndrop_log_per_second = 50\n" + r.changed + "\n";
        const reload_outcome out = reload_policy(top, slot, memory_reader({{top, next}}));
        REQUIRE(out.ok);
        const engine_settings& now = slot.current()->policy->engine();
        CHECK(slot.generation() == 2);
        CHECK(now.drop_log_per_second == 50);
        // Not even half applied: every restart-only key still has its running value.
        for (const engine_key& k : engine_keys())
            if (k.needs_restart) CHECK(k.same(now, running));
        const std::string line = std::string(r.key) + " changed: needs a restart; keeping " + r.kept;
        CHECK(std::find(out.kept.begin(), out.kept.end(), line) != out.kept.end());
        CHECK(out.summary.find("drop_log_per_second 20 -> 50") != std::string::npos);
        CHECK(out.summary.find(std::string(r.key) + " ") != std::string::npos);
        CHECK(out.summary.find("(needs a restart)") != std::string::npos);
    }
}

TEST_CASE("a changed mark_mask is not applied half-way", "[reload][keys]") {
    policy_slot slot(compile_text(probe + "[engine]\nmark_mask = \"0x00f00000\"\n"));
    const reload_outcome out =
        reload_policy(top, slot, memory_reader({{top, probe + "[engine]\nmark_mask = \"0x0000f000\"\n"}}));
    REQUIRE(out.ok);
    // The workers mark offloaded flows with the published policy's mask, and the revocation
    // after the reload clears the bits of that same mask: both must stay those the steering
    // rules were installed with.
    CHECK(slot.current()->policy->engine().mark_mask == 0x00f00000);
    CHECK(out.kept == std::vector<std::string>{"mark_mask changed: needs a restart; keeping 0x00f00000"});
    CHECK(out.summary == "mark_mask 0x00f00000 -> 0x0000f000 (needs a restart)");
    // Still refused at the next reload, while the file says otherwise.
    const reload_outcome again =
        reload_policy(top, slot, memory_reader({{top, probe + "[engine]\nmark_mask = \"0x0000f000\"\n"}}));
    CHECK(again.kept == out.kept);
    // Back to the running value: nothing to keep, nothing changed.
    const reload_outcome back = reload_policy(top, slot, memory_reader({{top, probe}}));
    CHECK(back.kept.empty());
    CHECK(back.summary == "no change");
}

TEST_CASE("the reload summary names every key that changed", "[reload][keys]") {
    struct row {
        const char* key;
        const char* changed;   // [engine] lines
        const char* expected;  // in the summary
    };
    const std::vector<row> rows = {
        {"default_verdict", "default_verdict = \"accept\"", "default_verdict drop -> accept"},
        {"localhost_default", "localhost_default = \"drop\"", "localhost_default accept -> drop"},
        {"non_first_fragment", "non_first_fragment = \"drop\"", "non_first_fragment accept -> drop"},
        {"icmp_echo", "icmp_echo = [\"lan\"]", "icmp_echo [localhost, trusted, lan, internet] -> [lan]"},
        {"mode", "mode = \"monitor\"", "mode enforce -> monitor"},
        {"placement", "placement = \"router\"\nprotected = [\"192.0.2.1/32\"]", "placement host -> router (needs a restart)"},
        {"protected", "protected = [\"192.0.2.1/32\"]", "protected [] -> [192.0.2.1/32] (needs a restart)"},
        {"fail", "fail = \"closed\"", "fail open -> closed (needs a restart)"},
        {"queue_maxlen", "queue_maxlen = 4096", "queue_maxlen 16384 -> 4096 (needs a restart)"},
        {"copy_range", "copy_range = 256", "copy_range 2048 -> 256 (needs a restart)"},
        {"log_level", "log_level = \"debug\"", "log_level \"info\" -> \"debug\""},
        {"drop_log_per_second", "drop_log_per_second = 5", "drop_log_per_second 20 -> 5"},
        {"drop_log_per_reason", "drop_log_per_reason = { zone_not_allowed = 5 }",
         "drop_log_per_reason {} -> {zone_not_allowed = 5}"},
        {"metrics", "metrics = \"\"", "metrics \"127.0.0.1:9477\" -> \"\" (needs a restart)"},
        {"log_format", "log_format = \"json\"", "log_format \"text\" -> \"json\""},
        {"offload_after", "offload_after = 3", "offload_after 1 -> 3"},
        {"overflow", "overflow = \"accept\"", "overflow drop -> accept (needs a restart)"},
        {"mark_mask", "mark_mask = \"0x0f000000\"", "mark_mask 0x00f00000 -> 0x0f000000 (needs a restart)"},
    };
    CHECK(rows.size() == engine_keys().size());
    const load_result before = load_policy(top, memory_reader({{top, probe}}));
    REQUIRE(before.ok());
    for (const row& r : rows) {
        INFO(r.key);
        const load_result after = load_policy(top, memory_reader({{top, probe + "[engine]\n" + r.changed + "\n"}}));
        INFO(pbxgate::test::error_lines(after));
        REQUIRE(after.ok());
        const std::string summary = describe_policy_change(*before.value, *after.value);
        INFO(summary);
        CHECK(summary.find(r.expected) != std::string::npos);
        CHECK_FALSE(key_named(r.key).same(before.value->engine, after.value->engine));
    }
    // Services: ports, zones, offload, description, added, removed.
    const std::string changed_services =
        "[services.probe]\nproto = \"udp\"\nports = [40001]\nallow = [\"lan\", \"internet\"]\noffload = true\n"
        "description = \"new words\"\n[services.extra]\nproto = \"tcp\"\nports = [41000]\nallow = [\"lan\"]\n";
    const load_result after = load_policy(top, memory_reader({{top, changed_services}}));
    REQUIRE(after.ok());
    const std::string summary = describe_policy_change(*before.value, *after.value);
    for (const char* part : {"probe moved 40000/udp -> 40001/udp", "probe allow lan -> lan, internet", "probe offload on",
                             "probe description changed", "+extra 41000/tcp"})
        CHECK(summary.find(part) != std::string::npos);
    CHECK(describe_policy_change(*after.value, *before.value).find("-extra") != std::string::npos);
}
