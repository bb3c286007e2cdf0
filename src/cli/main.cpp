// pbxgate: a thin CLI over the core library. Each subcommand lives in its own file.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
    using namespace pbxgate::cli;
    CLI::App app{"pbxgate: an NFQUEUE verdict engine enforcing the FreePBX port policy"};
    app.require_subcommand(1);
    app.set_version_flag("--version", PBXGATE_VERSION);
    int exit_code = exit_ok;
    register_check_command(app, exit_code);
    register_explain_command(app, exit_code);
    register_replay_command(app, exit_code);
    register_run_command(app, exit_code);
    register_reload_command(app, exit_code);
    register_stats_command(app, exit_code);
    register_bans_command(app, exit_code);
    register_import_asterisk_command(app, exit_code);
    register_rules_command(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::RuntimeError& e) {
        return e.get_exit_code();  // a subcommand failed and already said why
    } catch (const CLI::ParseError& e) {
        // Wrong flags are a usage error (exit 2), whatever code CLI11 picks internally.
        std::fprintf(stderr, "pbxgate: %s\nRun 'pbxgate --help' (or 'pbxgate COMMAND --help') for usage.\n",
                     e.what());
        return exit_usage;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pbxgate: error: %s\n", e.what());
        return exit_failure;
    }
    return exit_code;
}
