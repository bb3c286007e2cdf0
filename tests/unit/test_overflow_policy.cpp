// [engine] overflow: what the kernel does with a full queue while the engine runs, apart
// from `fail` (an absent engine). Default drop; only accept asks for NFQA_CFG_F_FAIL_OPEN.
#include <catch2/catch.hpp>

#include <string>

#include "pbxgate/policy.hpp"
#include "pbxgate/rules.hpp"
#include "test_policy_support.hpp"

using namespace pbxgate;

namespace {

const std::string services = "[services.sip]\nproto = \"udp\"\nports = [5060]\nallow = [\"lan\", \"internet\"]\n";

load_result load(const std::string& engine_table) {
    return test::load_from({{"p.toml", services + engine_table}}, "p.toml");
}

}  // namespace

TEST_CASE("overflow: drop by default, whatever fail says, accept only when asked", "[policy][overflow]") {
    struct row {
        const char* engine;
        fail_mode fail;
        overflow_mode overflow;
    };
    const row rows[] = {
        {"", fail_mode::open, overflow_mode::drop},
        {"[engine]\nfail = \"open\"\n", fail_mode::open, overflow_mode::drop},
        {"[engine]\nfail = \"closed\"\n", fail_mode::closed, overflow_mode::drop},
        {"[engine]\noverflow = \"accept\"\n", fail_mode::open, overflow_mode::accept},
        {"[engine]\nfail = \"closed\"\noverflow = \"accept\"\n", fail_mode::closed, overflow_mode::accept},
        {"[engine]\noverflow = \"drop\"\n", fail_mode::open, overflow_mode::drop},
    };
    for (const auto& r : rows) {
        INFO(r.engine);
        const auto loaded = load(r.engine);
        REQUIRE(loaded.ok());
        CHECK(loaded.value->engine.fail == r.fail);
        CHECK(loaded.value->engine.overflow == r.overflow);
        // The input queue rule's bypass follows fail only: the engine-absent case. (The SIP
        // answers' OUTPUT rule always bypasses: the engine only observes them.)
        rules_options opt;
        const auto out = generate_rules(*loaded.value, opt);
        REQUIRE(out.ok());
        const auto input_rule = out.text.find("-A PBXGATE-INPUT -j NFQUEUE");
        REQUIRE(input_rule != std::string::npos);
        const std::string line = out.text.substr(input_rule, out.text.find('\n', input_rule) - input_rule);
        CHECK((line.find("--queue-bypass") != std::string::npos) == (r.fail == fail_mode::open));
    }
}

TEST_CASE("overflow: bad values are errors with their position", "[policy][overflow]") {
    struct row {
        const char* engine;
        const char* message;
    };
    const row rows[] = {
        {"[engine]\noverflow = \"open\"\n", "engine.overflow"},
        {"[engine]\noverflow = true\n", "engine.overflow"},
        {"[engine]\noverfow = \"drop\"\n", "did you mean 'overflow'"},
    };
    for (const auto& r : rows) {
        INFO(r.engine);
        const auto loaded = load(r.engine);
        REQUIRE_FALSE(loaded.ok());
        const std::string errors = test::error_lines(loaded);
        INFO(errors);
        CHECK(errors.find(r.message) != std::string::npos);
        CHECK(errors.find("p.toml:6:") == 0);
    }
}
