// Fuzz target: one control socket request line (JSON reader, command registry, the bans.*
// argument checks) against an in-memory ban table. Checks: every input gets exactly one
// answer, itself a JSON object with a boolean "ok", and the table never holds more bans
// than requests asked for.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "control/ban_commands.hpp"
#include "control/control_commands.hpp"
#include "fuzz_support.hpp"
#include "util/json_value.hpp"

using namespace pbxgate;

namespace {

class counting_table : public protect::ban_admin {
public:
    std::size_t bans = 0;
    std::vector<protect::ban_view> list_bans(std::int64_t) const override { return {}; }
    std::string add_ban(const ip_prefix&, std::int64_t duration_s, const std::string& reason, std::int64_t) override {
        FUZZ_CHECK(duration_s >= 0 && duration_s <= control::max_ban_seconds);
        FUZZ_CHECK(!reason.empty() && reason.size() <= control::max_reason_bytes);
        ++bans;
        return {};
    }
    bool remove_ban(const ip_prefix&) override { return bans > 0 && bans--; }
    std::size_t flush_bans() override { return std::exchange(bans, 0); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static counting_table table;
    static const control::command_registry registry = [] {
        control::command_registry r;
        control::register_ban_commands(r, [] { return &table; }, [] { return std::int64_t{1795844400}; });
        return r;
    }();
    const std::string answer = registry.answer(std::string_view(reinterpret_cast<const char*>(data), size));
    FUZZ_CHECK(answer.find('\n') == std::string::npos);
    const json_parse_result parsed = parse_json(answer);
    FUZZ_CHECK(parsed.value.has_value() && parsed.value->is_object());
    const json_value* ok = parsed.value->find("ok");
    FUZZ_CHECK(ok != nullptr && ok->is_bool());
    return 0;
}
