// pbxgate stats: what the running engine counts, as tables, read from its metrics
// endpoint (the same numbers Prometheus scrapes). Exit 0, 1 when no engine answers or the
// endpoint is off, 2 on wrong flags.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>

#include "cli/commands.hpp"
#include "cli/stats/exposition_reader.hpp"
#include "cli/stats/http_get.hpp"
#include "cli/stats/stats_table.hpp"
#include "pbxgate/policy.hpp"

namespace pbxgate::cli {
namespace {

constexpr const char* installed_site_file = "/etc/pbxgate/pbxgate.toml";

struct stats_cli {
    std::string metrics;  // ADDRESS:PORT
    std::string policy;   // where to find engine.metrics when --metrics is not given
    bool raw = false;
};

// --metrics, else the policy's engine.metrics, else the installed site file's, else the default.
std::optional<std::string> endpoint_address(const stats_cli& c) {
    if (!c.metrics.empty()) return c.metrics;
    const std::string path = !c.policy.empty() ? c.policy : (::access(installed_site_file, R_OK) == 0 ? installed_site_file : "");
    if (path.empty()) return engine_settings{}.metrics;
    const load_result r = load_policy(path);
    if (!r.ok()) {
        for (const diagnostic& d : r.errors) std::fprintf(stderr, "%s\n", d.to_string().c_str());
        std::fprintf(stderr, "pbxgate stats: cannot read engine.metrics from %s; give --metrics ADDRESS:PORT\n",
                     path.c_str());
        return std::nullopt;
    }
    if (r.value->engine.metrics.empty()) {
        std::fprintf(stderr, "pbxgate stats: %s turns the metrics endpoint off (engine.metrics = \"\")\n", path.c_str());
        return std::nullopt;
    }
    return r.value->engine.metrics;
}

int stats(const stats_cli& c) {
    const auto address = endpoint_address(c);
    if (!address) return exit_failure;
    std::string why;
    const auto at = parse_listen_address(*address, &why);
    if (!at) {
        std::fprintf(stderr, "pbxgate stats: --metrics %s\n", why.c_str());
        return exit_usage;
    }
    // An engine listening on every address is reached on the loopback.
    listen_address target = *at;
    if (target.host == "0.0.0.0") target.host = "127.0.0.1";
    if (target.host == "::") target.host = "::1";
    const http_get_result r = http_get(target, "/metrics");
    if (r.status != 200) {
        std::fprintf(stderr, "pbxgate stats: %s (is `pbxgate run` up, with engine.metrics = \"%s\"?)\n",
                     r.status ? ("HTTP status " + std::to_string(r.status)).c_str() : r.error.c_str(), address->c_str());
        return exit_failure;
    }
    if (c.raw) {
        std::fwrite(r.body.data(), 1, r.body.size(), stdout);
        return exit_ok;
    }
    std::string bad;
    const auto samples = read_exposition(r.body, &bad);
    if (!samples) {
        std::fprintf(stderr, "pbxgate stats: unreadable metrics line: %s\n", bad.c_str());
        return exit_failure;
    }
    const std::string table = format_stats_table(*samples);
    std::fwrite(table.data(), 1, table.size(), stdout);
    return exit_ok;
}

}  // namespace

void register_stats_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("stats", "print the running engine's counters (from its metrics endpoint)");
    auto c = std::make_shared<stats_cli>();
    cmd->add_option("--metrics", c->metrics,
                    "the engine's metrics ADDRESS:PORT (default: engine.metrics of --policy, else of "
                    "/etc/pbxgate/pbxgate.toml, else 127.0.0.1:9477)");
    cmd->add_option("--policy", c->policy, "policy file whose engine.metrics names the endpoint");
    cmd->add_flag("--raw", c->raw, "print the Prometheus text as served");
    cmd->callback([c, &exit_code] { exit_code = stats(*c); });
}

}  // namespace pbxgate::cli
