// One registration function per subcommand; main.cpp only wires them up.
// Each returns through `exit_code` what the process should exit with.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace pbxgate::cli {

// Exit codes shared by every subcommand.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;  // the command ran and the answer is "no" (invalid policy...)
inline constexpr int exit_usage = 2;    // wrong flags or arguments
inline constexpr int exit_no_engine = 3;  // `bans`, `explain --media`: no engine answers on the control socket

void register_check_command(CLI::App& app, int& exit_code);
void register_explain_command(CLI::App& app, int& exit_code);
void register_replay_command(CLI::App& app, int& exit_code);
void register_run_command(CLI::App& app, int& exit_code);
void register_reload_command(CLI::App& app, int& exit_code);
void register_stats_command(CLI::App& app, int& exit_code);
void register_bans_command(CLI::App& app, int& exit_code);
void register_import_asterisk_command(CLI::App& app, int& exit_code);
// Sets its exit code by throwing CLI::RuntimeError(code) after printing why.
void register_rules_command(CLI::App& app);

// explain --media (cli/explain_media.cpp): the running engine's pinholes.
int run_explain_media(const std::string& runtime_dir, bool json);

}  // namespace pbxgate::cli
