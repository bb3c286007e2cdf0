#include "reload/crowdsec_keys.hpp"

namespace pbxgate {

std::vector<std::string> keep_restart_only_crowdsec_keys(crowdsec_settings& next, const crowdsec_settings& running) {
    std::vector<std::string> lines;
    if (next.enabled != running.enabled) {
        lines.push_back(std::string("[crowdsec] ") + (next.enabled ? "added" : "removed") + ": needs a restart; keeping " +
                        (running.enabled ? "the running client" : "no client"));
        const std::uint32_t poll = next.poll_seconds;
        next = running;
        next.poll_seconds = poll;
        return lines;
    }
    auto keep = [&](std::string crowdsec_settings::*key, const char* name) {
        if (next.*key == running.*key) return;
        lines.push_back(std::string("crowdsec.") + name + " changed: needs a restart; keeping \"" + running.*key + "\"");
        next.*key = running.*key;
    };
    keep(&crowdsec_settings::api_url, "api_url");
    keep(&crowdsec_settings::bouncer_key_file, "bouncer_key_file");
    keep(&crowdsec_settings::machine_credentials_file, "machine_credentials_file");
    return lines;
}

}  // namespace pbxgate
