// pbxgate check FILE: load, validate and compile a policy without touching the kernel
// (like `nft --check`). Exit 0 when valid, 1 with every error on stderr.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "blocklist/blocklist_loader.hpp"
#include "cli/commands.hpp"
#include "cli/load_or_report.hpp"

namespace pbxgate::cli {

void register_check_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("check", "validate a policy file (and every file it extends)");
    auto path = std::make_shared<std::string>();
    cmd->add_option("FILE", *path, "policy file (TOML)")->required();
    cmd->callback([path, &exit_code] {
        const auto compiled = load_or_report(*path);
        if (!compiled) {
            exit_code = exit_failure;
            return;
        }
        const policy& p = compiled->source();
        for (const diagnostic& w : p.warnings) {
            std::string line = w.to_string();
            // diagnostic::to_string() says "error:"; these are warnings.
            if (const auto at = line.find(": error: "); at != std::string::npos) line.replace(at, 9, ": warning: ");
            std::fprintf(stderr, "%s\n", line.c_str());
        }
        std::printf("%s: ok: %zu services, zones lan %zu / trusted %zu / blocked %zu prefixes, "
                    "placement %s, mode %s, fail %s, overflow %s\n",
                    path->c_str(), compiled->service_count(), p.zones.lan.size(), p.zones.trusted.size(),
                    p.zones.blocked.size(), p.engine.place == placement::host ? "host" : "router",
                    p.engine.mode == engine_mode::enforce ? "enforce" : "monitor",
                    p.engine.fail == fail_mode::open ? "open" : "closed",
                    p.engine.overflow == overflow_mode::accept ? "accept" : "drop");
        // Blocklist files apply line by line (a bad line skips itself, as in the engine):
        // their problems are warnings, with FILE:LINE, and do not fail the check.
        if (!p.blocklists.files.empty()) {
            blocklist::load_report rep;
            const auto lists = blocklist::load(p.blocklists, filesystem_reader(), nullptr, rep);
            for (const std::string& problem : rep.problems) {
                std::string line = problem;
                // "FILE:LINE: message" -> "FILE:LINE: warning: message"
                const auto at = line.find(": ");
                if (at != std::string::npos) line.insert(at + 2, "warning: ");
                std::fprintf(stderr, "%s\n", line.c_str());
            }
            for (const blocklist::file_status& f : rep.files)
                std::printf("%s: blocklist %s: %zu entries%s%s\n", path->c_str(), f.path.c_str(), f.entries,
                            f.readable ? "" : " (cannot read it)",
                            f.malformed ? (", " + std::to_string(f.malformed) + " malformed line(s) skipped").c_str() : "");
            std::printf("%s: blocklists: %zu entries from %zu file(s)\n", path->c_str(), lists->entry_count(),
                        rep.files.size());
        }
        exit_code = exit_ok;
    });
}

}  // namespace pbxgate::cli
