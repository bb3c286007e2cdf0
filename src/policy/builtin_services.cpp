#include "pbxgate/policy.hpp"

namespace pbxgate {

// The order of policies/freepbx.toml; site files name these services to override them.
const std::vector<std::string>& builtin_service_names() {
    static const std::vector<std::string> names{
        "ssh",        "admin-http",         "admin-https",  "openvpn",         "sip",
        "sip-tls",    "rtp",                "ucp-http",     "ucp-https",       "webrtc",
        "webrtc-tls", "node",               "node-tls",     "provisioning-http", "provisioning-https",
        "ftp",        "tftp",               "phone-apps-http", "phone-apps-https", "talk-node",
        "sangoma-phone", "zulu",            "local-reserved", "iax",           "udptl",
    };
    return names;
}

}  // namespace pbxgate
