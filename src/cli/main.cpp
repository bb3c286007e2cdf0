// pbxgate: a thin CLI over the core library. Each subcommand lives in its own file.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
    CLI::App app{"pbxgate: NFQUEUE verdict engine for FreePBX/Asterisk"};
    app.require_subcommand(1);
    app.add_subcommand("version", "print the version")->callback([] { std::puts(PBXGATE_VERSION); });
    register_rules_command(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::RuntimeError& e) {
        return e.get_exit_code();  // a subcommand failed and already said why
    } catch (const CLI::ParseError& e) {
        // Usage errors (unknown flag, bad value, missing option) exit 2, as Unix tools do.
        return app.exit(e) == 0 ? 0 : 2;
    }
    return 0;
}
