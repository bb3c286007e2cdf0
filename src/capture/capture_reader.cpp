// read_capture: a pcap/pcapng file into memory, link headers removed (libpcap does the
// file formats; link_layer.cpp the link headers).
#include <pcap/pcap.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "capture/link_layer.hpp"
#include "pbxgate/capture.hpp"

namespace pbxgate {
namespace {

struct pcap_closer {
    void operator()(pcap_t* p) const noexcept { pcap_close(p); }
};
using pcap_handle = std::unique_ptr<pcap_t, pcap_closer>;

[[noreturn]] void fail(const std::string& path, const std::string& why) {
    throw std::runtime_error("cannot read capture " + path + ": " + why);
}

}  // namespace

capture_contents read_capture(const std::string& path) {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    // Nanosecond precision reads microsecond files too; the precision only matters for
    // timestamps, which we do not keep, but it is the call that opens every format.
    pcap_handle pcap{pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO,
                                                             errbuf)};
    if (!pcap) fail(path, errbuf);

    capture_contents out;
    out.link_type = pcap_datalink(pcap.get());
    if (!capture::link_type_supported(out.link_type)) {
        const char* name = pcap_datalink_val_to_name(out.link_type);
        fail(path, "unsupported link type " + std::to_string(out.link_type) +
                       (name ? std::string(" (") + name + ")" : std::string()));
    }

    pcap_pkthdr* header = nullptr;
    const u_char* frame = nullptr;
    for (;;) {
        const int rc = pcap_next_ex(pcap.get(), &header, &frame);
        if (rc == PCAP_ERROR_BREAK) break;  // end of file
        if (rc != 1) fail(path, pcap_geterr(pcap.get()));
        const auto index = static_cast<std::uint32_t>(out.frames++);
        const auto offset = capture::ip_offset(out.link_type, frame, header->caplen);
        if (!offset) {
            ++out.skipped;
            continue;
        }
        // A damaged record may claim fewer bytes on the wire than it holds; it was at
        // least as long as what was captured of it.
        const std::size_t frame_len = std::max<std::size_t>(header->len, header->caplen);
        captured_packet pkt;
        pkt.ip.assign(frame + *offset, frame + header->caplen);
        pkt.wire_len = static_cast<std::uint32_t>(frame_len - *offset);
        pkt.index = index;
        pkt.time_s = static_cast<std::int64_t>(header->ts.tv_sec);
        out.packets.push_back(std::move(pkt));
    }
    return out;
}

}  // namespace pbxgate
