// SIP messages shared by the unit tests and the benchmarks.
#pragma once

#include <string>

namespace pbxgate::test {

// A REGISTER with credentials as a desk phone sends it (about 600 bytes).
inline const std::string sip_register_with_auth =
    "REGISTER sip:pbx.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-524287-1---77f2e9c1b8a0;rport\r\n"
    "Max-Forwards: 70\r\n"
    "Contact: <sip:201@192.0.2.10:5060;rinstance=8c4bd5a1>;expires=3600\r\n"
    "To: \"Desk 201\" <sip:201@pbx.example.com>\r\n"
    "From: \"Desk 201\" <sip:201@pbx.example.com>;tag=4f2a9b1c\r\n"
    "Call-ID: 83d1c1ab7e0f4b2aa0e4e8a6b1f6c7d2@192.0.2.10\r\n"
    "CSeq: 2 REGISTER\r\n"
    "Expires: 3600\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, OPTIONS\r\n"
    "User-Agent: Yealink SIP-T46S 66.86.0.15\r\n"
    "Authorization: Digest username=\"201\",realm=\"asterisk\",nonce=\"1701302400/5c1b3e\","
    "uri=\"sip:pbx.example.com\",response=\"0a4f113b8e3c2d1f00aa9b8c7d6e5f40\"\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

}  // namespace pbxgate::test
