// The kernel set backend over libipset (in-process netlink: no `ipset` binary is spawned,
// so it works with only CAP_NET_ADMIN after the engine drops root). Not thread-safe: one
// owner, on the engine's main thread.
#pragma once

#include <memory>
#include <string>

#include "kernelset/kernel_set.hpp"

struct ipset;

namespace pbxgate::kernelset {

class ipset_backend final : public set_backend {
public:
    // Never throws for a missing kernel module: each call then fails with a clear message.
    ipset_backend();
    ~ipset_backend() override;
    ipset_backend(const ipset_backend&) = delete;
    ipset_backend& operator=(const ipset_backend&) = delete;

    outcome create(const set_spec& spec) override;
    outcome destroy(std::string_view name) override;
    outcome swap(std::string_view a, std::string_view b) override;
    outcome add(std::string_view set, const ip_prefix& member, std::uint32_t timeout_s) override;
    outcome remove(std::string_view set, const ip_prefix& member) override;
    outcome list(std::string_view set, std::vector<entry>& out) override;

    // Called back by libipset (C callbacks); not for other callers.
    void take_error(std::string message);
    void take_output(const char* text);

private:
    outcome run(const std::string& line);
    void open();
    ::ipset* handle_ = nullptr;
    std::string error_;
    std::string output_;
};

// One member line of `ipset save` output ("add NAME 192.0.2.0/24 timeout 9 packets 3
// bytes 180"): false for any other line.
bool parse_save_line(std::string_view line, entry& out);

}  // namespace pbxgate::kernelset
