// Reading pcap and pcapng captures (libpcap) into memory for replay and tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pbxgate {

struct captured_packet {
    std::vector<std::uint8_t> ip;  // bytes from the IP header on (link header removed)
    std::uint32_t wire_len = 0;    // IP packet length on the wire (orig_len minus link header)
    std::uint32_t index = 0;       // 0-based position in the capture file, counting every frame
    std::int64_t time_s = 0;       // capture time, unix seconds (the replay's clock)
};

struct capture_contents {
    std::vector<captured_packet> packets;  // the IP packets, in capture order
    std::uint64_t frames = 0;              // every frame read
    std::uint64_t skipped = 0;             // frames that are not IPv4/IPv6 (ARP, STP, ...)
    int link_type = 0;                     // DLT_* of the file
};

// Link types read: Ethernet (with 802.1Q/802.1ad tags), Linux cooked v1 and v2, BSD
// loopback (NULL and LOOP), raw IP (DLT_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6); pcap,
// nanosecond pcap and pcapng. Throws std::runtime_error with the file name and libpcap's
// message when the file cannot be read or its link type is not one of these.
capture_contents read_capture(const std::string& path);

}  // namespace pbxgate
