// Each subcommand lives in its own file and registers itself on the app.
#pragma once

namespace CLI {
class App;
}

// pbxgate rules: print the steering rules (iptables-restore text or an nft script).
void register_rules_command(CLI::App& app);
