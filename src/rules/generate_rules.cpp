#include "pbxgate/rules.hpp"

namespace pbxgate {

std::string_view our_chain(placement p) noexcept {
    return p == placement::host ? input_chain : forward_chain;
}

std::string_view hook_chain(placement p) noexcept {
    return p == placement::host ? "INPUT" : "FORWARD";
}

rules_output generate_rules(const policy& pol, const rules_options& opt) {
    if (opt.backend == rules_backend::nft) return nft_script(pol, opt);
    if (opt.family == rules_family::ipv4) return iptables_restore_text(pol, opt, ip_family::v4);
    if (opt.family == rules_family::ipv6) return iptables_restore_text(pol, opt, ip_family::v6);
    auto v4 = iptables_restore_text(pol, opt, ip_family::v4);
    if (!v4.ok()) return v4;
    auto v6 = iptables_restore_text(pol, opt, ip_family::v6);
    if (!v6.ok()) return v6;
    // Two texts for two tools: each starts with a comment saying which one it is for.
    return {v4.text + "\n" + v6.text, {}};
}

}  // namespace pbxgate
