#!/usr/bin/env python3
"""Sends N REGISTERs (new transaction each) from UDP 5070 to ADDR:5060 with a User-Agent,
with or without credentials; waits at most 0.3 s for each answer; prints
`answered K of N`. Bounded: N requests, N x 0.3 s."""
import socket
import sys

addr, ua, n, auth = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "auth"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.3)
s.bind(("0.0.0.0", 5070))
answered = 0
for i in range(n):
    cred = 'Authorization: Digest username="201"\r\n' if auth else ""
    m = ("REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.10:5070;branch=z9hG4bK%d\r\n"
         "From: <sip:201@%s>;tag=1\r\nTo: <sip:201@%s>\r\nCall-ID: c1\r\nCSeq: %d REGISTER\r\n"
         "User-Agent: %s\r\n%sContent-Length: 0\r\n\r\n") % (addr, i, addr, addr, i + 1, ua, cred)
    s.sendto(m.encode(), (addr, 5060))
    try:
        s.recvfrom(4096)
        answered += 1
    except socket.timeout:
        pass
print("answered %d of %d" % (answered, n))
