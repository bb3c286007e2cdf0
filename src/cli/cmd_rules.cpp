// pbxgate rules: print the steering rules that send traffic to the engine's queue(s).
// scripts/pbxgate-rules applies and removes what this prints.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "pbxgate/policy.hpp"
#include "pbxgate/rules.hpp"

namespace {

struct rules_args {
    std::string policy_file;
    std::string place;  // host | router (IsMember has lowered the case)
    std::string queues = "0";
    std::uint32_t queue = 0;
    std::string fail;     // open | closed
    std::string backend = "iptables";
    bool cpu_fanout = false;
    std::string family = "both";
    bool sets = false;
};

constexpr const char* footer =
    "Several queues: --queue-balance (the default) picks the queue by a hash of the source and\n"
    "destination addresses, without ports: it fits many peers (phones), but one busy SIP trunk\n"
    "or SBC lands on one queue. --cpu-fanout picks the queue by the CPU that received the\n"
    "packet: it fits a few busy peers on a NIC that spreads receive work over CPUs (RSS/RPS).\n"
    "The iptables text is for iptables-restore/ip6tables-restore --noflush and leaves out the\n"
    "jump from INPUT/FORWARD; scripts/pbxgate-rules apply adds it once. Exit: 0 printed,\n"
    "1 the policy does not load, 2 bad options.";

[[noreturn]] void fail_with(int code, const std::string& message) {
    std::cerr << "pbxgate rules: error: " << message << '\n';
    throw CLI::RuntimeError(code);  // CLI11 exits with this code without printing more
}

void run(const rules_args& args, const CLI::App& cmd) {
    pbxgate::rules_options opt;
    if (cmd.count("--placement"))
        opt.place = args.place == "router" ? pbxgate::placement::router : pbxgate::placement::host;
    if (cmd.count("--fail")) opt.fail = args.fail == "closed" ? pbxgate::fail_mode::closed : pbxgate::fail_mode::open;
    if (cmd.count("--queue")) {
        opt.queues = {static_cast<std::uint16_t>(args.queue), static_cast<std::uint16_t>(args.queue)};
    } else {
        std::string error;
        const auto range = pbxgate::parse_queue_range(args.queues, &error);
        if (!range) fail_with(2, error);
        opt.queues = *range;
    }
    opt.backend = args.backend == "nft" ? pbxgate::rules_backend::nft : pbxgate::rules_backend::iptables;
    opt.cpu_fanout = args.cpu_fanout;
    opt.family = args.family == "ipv4"   ? pbxgate::rules_family::ipv4
                 : args.family == "ipv6" ? pbxgate::rules_family::ipv6
                                         : pbxgate::rules_family::both;

    const auto loaded = pbxgate::load_policy(args.policy_file);
    if (!loaded.ok()) {
        for (const auto& d : loaded.errors) std::cerr << d.to_string() << '\n';
        if (loaded.errors.empty()) std::cerr << args.policy_file << ": error: the policy did not load\n";
        throw CLI::RuntimeError(1);
    }
    if (args.sets) {
        if (opt.backend == pbxgate::rules_backend::nft)
            fail_with(2, "--sets is for the iptables backend: the nft script declares its own sets");
        std::cout << pbxgate::ipset_restore_text(*loaded.value, opt.family) << std::flush;
        return;
    }
    const auto out = pbxgate::generate_rules(*loaded.value, opt);
    if (!out.ok()) fail_with(2, out.error);
    std::cout << out.text << std::flush;
}

}  // namespace

namespace pbxgate::cli {

void register_rules_command(CLI::App& app) {
    auto args = std::make_shared<rules_args>();
    CLI::App* cmd = app.add_subcommand("rules", "print the steering rules that send traffic to the engine's queue(s)");
    cmd->footer(footer);
    cmd->add_option("--policy", args->policy_file, "policy file (TOML)")->required()->check(CLI::ExistingFile);
    cmd->add_option("--placement", args->place, "host (INPUT) or router (FORWARD, protected addresses only); default: from the policy's [engine] table")
        ->transform(CLI::IsMember({"host", "router"}, CLI::ignore_case));
    auto* queues = cmd->add_option("--queues", args->queues, "queue range FIRST-LAST (default 0-0)")
                       ->check(CLI::Validator(
                           [](std::string& text) {
                               std::string error;
                               return pbxgate::parse_queue_range(text, &error) ? std::string() : error;
                           },
                           "FIRST-LAST"));
    cmd->add_option("--queue", args->queue, "a single queue number")->check(CLI::Range(0, 65535))->excludes(queues);
    cmd->add_option("--fail", args->fail, "open: packets pass while no engine is bound to the queue; closed: they are dropped. default: from the policy's [engine] table")
        ->transform(CLI::IsMember({"open", "closed"}, CLI::ignore_case));
    cmd->add_option("--backend", args->backend, "iptables (iptables-restore text, default) or nft (needs CONFIG_NFT_QUEUE)")
        ->transform(CLI::IsMember({"iptables", "nft"}, CLI::ignore_case));
    cmd->add_flag("--cpu-fanout", args->cpu_fanout, "with several queues, pick the queue by receiving CPU instead of an address hash (see below)");
    cmd->add_option("--family", args->family, "ipv4, ipv6 or both (default)")
        ->transform(CLI::IsMember({"ipv4", "ipv6", "both"}, CLI::ignore_case));
    cmd->add_flag("--sets", args->sets, "print the kernel pre-filter sets (blocked zone, bans) for `ipset -exist restore` instead of the rules; the iptables rules need them");
    cmd->callback([args, cmd] { run(*args, *cmd); });
}

}  // namespace pbxgate::cli
