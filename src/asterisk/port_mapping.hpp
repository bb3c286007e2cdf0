// What Asterisk listens on, worked out from its configuration directory the way each
// module reads its own file (res_pjsip transports, chan_sip, res_rtp_asterisk, udptl,
// chan_iax2, the HTTP server). Only local listening ports: a peer's `port=`, `contact=`,
// `stunaddr`, `external_*` name the far end and are never imported.
#pragma once

#include <string>
#include <vector>

#include "asterisk/config_reader.hpp"
#include "pbxgate/policy.hpp"

namespace pbxgate::asterisk {

struct imported_port {
    std::string service;   // sip, sip-tls, rtp, udptl, iax, webrtc, webrtc-tls
    proto_mask proto = proto_mask::udp;
    port_range ports;
    source_location where; // the line that decided the port (FILE:LINE)
    std::string why;       // "pjsip transport 0.0.0.0-udp", "rtp.conf rtpstart/rtpend (+1 for RTCP)"
};

struct import_result {
    // Every service the import speaks for, even when Asterisk opens nothing for it (then
    // it has no entry in `ports`: nothing listens, so nothing should be open).
    std::vector<std::string> services;
    std::vector<imported_port> ports;
    std::vector<std::string> files;     // every file read or worth watching (symlink targets too)
    std::vector<diagnostic> errors;     // a file Asterisk would refuse: import nothing
    std::vector<diagnostic> notes;      // what Asterisk warns about and works around
    bool ok() const noexcept { return errors.empty(); }
};

// The services import_ports() speaks for, in order.
const std::vector<std::string>& imported_service_names();

import_result import_ports(const std::string& config_dir, const config_fs& fs = real_config_fs(),
                           const reader_limits& limits = reader_limits{});

// "5060/udp", "10000-20001/udp"
std::string describe(const imported_port& p);
// "/etc/asterisk/pjsip.conf:14", or "/etc/asterisk/udptl.conf (default)" for a port no
// line set (Asterisk's own default).
std::string source_text(const source_location& where);

}  // namespace pbxgate::asterisk
