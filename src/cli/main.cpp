// pbxgate: a thin CLI over the core library. Each subcommand lives in its own file.
#include <CLI/CLI.hpp>

#include <cstdio>

int main(int argc, char** argv) {
    CLI::App app{"pbxgate: NFQUEUE verdict engine for FreePBX/Asterisk"};
    app.require_subcommand(1);
    app.add_subcommand("version", "print the version")->callback([] { std::puts(PBXGATE_VERSION); });
    CLI11_PARSE(app, argc, argv);
    return 0;
}
