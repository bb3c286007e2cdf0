#!/usr/bin/env python3
"""Writes the SIP reader's seed corpus, tests/fuzz/corpus/sip/ (committed; rerun after changes):
requests and responses as phones, registrars and scanners write them, compact forms, folded
and cut headers, keepalives and non-SIP payloads. Only documentation addresses; deterministic."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "sip")

REGISTER = (
    "REGISTER sip:pbx.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1;rport\r\n"
    "Contact: <sip:201@192.0.2.10:5060>;expires=3600\r\n"
    "To: \"Desk 201\" <sip:201@pbx.example.com>\r\n"
    "From: \"Desk 201\" <sip:201@pbx.example.com>;tag=4f2a9b1c\r\n"
    "Call-ID: 83d1c1ab@192.0.2.10\r\nCSeq: 2 REGISTER\r\nExpires: 3600\r\n"
    "User-Agent: Yealink SIP-T46S\r\n"
    "Authorization: Digest username=\"201\",realm=\"asterisk\",response=\"0a4f\"\r\n"
    "Content-Length: 0\r\n\r\n")

SEEDS = {
    "register_auth": REGISTER,
    "register_cut": REGISTER[:150],
    "options_scanner": (
        "OPTIONS sip:100@192.0.2.1 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 203.0.113.9:5060;branch=z9hG4bK-2518;rport\r\n"
        "Max-Forwards: 70\r\nTo: \"sipvicious\"<sip:100@1.1.1.1>\r\n"
        "From: \"sipvicious\"<sip:100@1.1.1.1>;tag=6331\r\n"
        "User-Agent: friendly-scanner\r\nCall-ID: 7337\r\nContact: sip:100@203.0.113.9:5060\r\n"
        "CSeq: 1 OPTIONS\r\nAccept: application/sdp\r\nContent-Length: 0\r\n\r\n"),
    "invite_compact": (
        "INVITE sip:00972@192.0.2.1 SIP/2.0\r\nv: SIP/2.0/UDP 203.0.113.9;branch=z9hG4bKx, SIP/2.0/TCP h\r\n"
        "f: <sip:1@h>;tag=a\r\nt: sip:2@h\r\ni: c1\r\nm: *\r\nl: 4\r\n"
        "Proxy-Authorization: Digest x\r\n\r\nv=0\n"),
    "response_401": (
        "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-1\r\n"
        "From: <sip:201@pbx>;tag=1\r\nTo: <sip:201@pbx>;tag=as1\r\nCall-ID: 83d1\r\nCSeq: 1 REGISTER\r\n"
        "WWW-Authenticate: Digest realm=\"asterisk\",nonce=\"1\"\r\nServer: FPBX\r\nContent-Length: 0\r\n\r\n"),
    "response_200_register": (
        "SIP/2.0 200 OK\r\nCSeq: 2 REGISTER\r\nContact: <sip:201@192.0.2.10>;expires=120\r\nExpires: 120\r\n\r\n"),
    "folded": "OPTIONS sip:x SIP/2.0\r\nSubject: a\r\n  folded\r\nFrom:\r\n\t<sip:a@b>\r\n\r\n",
    "quoted_display": "OPTIONS sip:x SIP/2.0\r\nFrom: \"a\\\"<b>\" <sip:u@h>;tag=9\r\n\r\n",
    "keepalive": "\r\n\r\n",
    "bad_header": "OPTIONS sip:x SIP/2.0\r\nbroken\r\n\r\n",
    "status_bad": "SIP/2.0 99 x\r\n\r\n",
    "http": "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "lf_only": "BYE sip:x SIP/2.0\nCSeq: 4294967299 BYE\nExpires: 99999999999999999999\n\n",
    "many_headers": "OPTIONS sip:x SIP/2.0\r\n" + "X: y\r\n" * 130 + "\r\n",
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, text in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(text.encode("latin-1"))


if __name__ == "__main__":
    main()
