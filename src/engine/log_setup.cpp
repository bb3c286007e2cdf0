#include "engine/log_setup.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <string>

#include "util/json_writer.hpp"

namespace pbxgate {
namespace {

// %* : the message payload, escaped for a JSON string.
class json_escaped_payload final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        std::string escaped;
        append_json_escaped(escaped, std::string_view(msg.payload.data(), msg.payload.size()));
        dest.append(escaped.data(), escaped.data() + escaped.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<json_escaped_payload>(); }
};

std::shared_ptr<spdlog::logger> stderr_logger() {
    // Replace spdlog's default (stdout) logger once: stdout belongs to command output.
    static const std::shared_ptr<spdlog::logger> logger = [] {
        auto l = spdlog::stderr_color_mt("pbxgate");
        spdlog::set_default_logger(l);
        return l;
    }();
    return logger;
}

}  // namespace

std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& format) {
    if (format == "json") {
        auto f = std::make_unique<spdlog::pattern_formatter>();
        f->add_flag<json_escaped_payload>('*').set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":"%*"})");
        return f;
    }
    // journald stamps every line itself; the level prefix is what it cannot know.
    if (std::getenv("JOURNAL_STREAM") != nullptr) return std::make_unique<spdlog::pattern_formatter>("[%l] %v");
    return std::make_unique<spdlog::pattern_formatter>("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
}

void configure_logging(const std::string& format, const std::string& level) {
    stderr_logger()->set_formatter(make_log_formatter(format));
    spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace pbxgate
