// Link-layer headers in front of IP in capture files: where the IP packet starts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace pbxgate::capture {

// Link types read_capture accepts, as pcap_datalink() reports them.
bool link_type_supported(int dlt) noexcept;

// Offset of the IPv4/IPv6 header in `frame` (`caplen` captured bytes), or nullopt when
// the frame carries something else (ARP, STP, LLC, ...) or is too short for its link
// header. Bounds-checked; reads nothing past `caplen`.
std::optional<std::size_t> ip_offset(int dlt, const std::uint8_t* frame, std::size_t caplen) noexcept;

}  // namespace pbxgate::capture
