// SIP messages with SDP bodies for the media tests: an offer from a phone on the internet,
// the PBX's answer, a BYE.
#pragma once

#include <string>

namespace pbxgate::test {

inline std::string sdp_body(const std::string& addr, unsigned port, const std::string& extra = "") {
    const bool v6 = addr.find(':') != std::string::npos;
    const std::string ip = v6 ? "IP6 " : "IP4 ";
    return "v=0\r\no=- 1 1 IN " + ip + addr + "\r\ns=-\r\nc=IN " + ip + addr + "\r\nt=0 0\r\nm=audio " +
           std::to_string(port) + " RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n" + extra;
}

inline std::string sip_with_body(const std::string& start_line, const std::string& call_id, const std::string& cseq,
                                 const std::string& body) {
    return start_line + "\r\nVia: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK1\r\nFrom: <sip:100@x>;tag=a\r\n"
                        "To: <sip:200@y>\r\nCall-ID: " +
           call_id + "\r\nCSeq: " + cseq + "\r\nContent-Type: application/sdp\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

inline std::string invite_with_sdp(const std::string& call_id, const std::string& addr, unsigned port) {
    return sip_with_body("INVITE sip:200@192.0.2.1 SIP/2.0", call_id, "1 INVITE", sdp_body(addr, port));
}

inline std::string ok_with_sdp(const std::string& call_id, const std::string& addr, unsigned port) {
    return sip_with_body("SIP/2.0 200 OK", call_id, "1 INVITE", sdp_body(addr, port));
}

inline std::string bye(const std::string& call_id) {
    return "BYE sip:200@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK2\r\nFrom: "
           "<sip:100@x>;tag=a\r\nTo: <sip:200@y>;tag=b\r\nCall-ID: " +
           call_id + "\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";
}

}  // namespace pbxgate::test
