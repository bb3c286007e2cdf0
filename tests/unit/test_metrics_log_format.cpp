// Log formats: json lines are valid JSON objects whatever the message holds.
#include <catch2/catch.hpp>

#include <spdlog/details/log_msg.h>

#include "engine/log_setup.hpp"

using namespace pbxgate;

namespace {

std::string format_one(const std::string& format, spdlog::level::level_enum level, std::string_view text) {
    const auto f = make_log_formatter(format);
    spdlog::details::log_msg msg(spdlog::source_loc{}, "pbxgate", level, spdlog::string_view_t(text.data(), text.size()));
    spdlog::memory_buf_t buf;
    f->format(msg, buf);
    return std::string(buf.data(), buf.size());
}

}  // namespace

TEST_CASE("log format json: one escaped object per line", "[metrics][log]") {
    struct row {
        const char* message;
        const char* escaped;
    };
    const std::vector<row> rows = {
        {"reloaded policy: generation 2", "reloaded policy: generation 2"},
        {"site.toml:3:9: error: unknown zone 'galaxy' in \"allow\"",
         "site.toml:3:9: error: unknown zone 'galaxy' in \\\"allow\\\""},
        {"back\\slash\tand tab\nnewline", "back\\\\slash\\tand tab\\nnewline"},
        {"control \x01 byte", "control \\u0001 byte"},
    };
    for (const auto& r : rows) {
        INFO(r.message);
        const std::string line = format_one("json", spdlog::level::warn, r.message);
        CHECK(line.rfind("{\"time\":\"", 0) == 0);
        CHECK(line.find("\",\"level\":\"warning\",\"msg\":\"" + std::string(r.escaped) + "\"}\n") != std::string::npos);
        // Exactly one line.
        CHECK(line.find('\n') == line.size() - 1);
    }
}

TEST_CASE("log format text: level and message", "[metrics][log]") {
    const std::string line = format_one("text", spdlog::level::info, "hello");
    CHECK(line.find("[info] hello") != std::string::npos);
}
