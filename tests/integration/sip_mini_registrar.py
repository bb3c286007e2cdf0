#!/usr/bin/env python3
"""A stand-in registrar for tests/integration/sip_protection_e2e.sh: answers every REGISTER
on UDP 5060 - 401 without credentials, 403 with them (a wrong password) - so a brute force
earns one failure per attempt. Runs until killed."""
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5060))
while True:
    data, peer = s.recvfrom(4096)
    text = data.decode("latin-1")
    if not text[:1].isalpha():
        continue  # keepalives
    lines = text.split("\r\n")[1:]
    copied = "\r\n".join(l for l in lines if l.split(":")[0].lower() in ("via", "from", "to", "call-id", "cseq"))
    status = "403 Forbidden" if "Authorization:" in text else "401 Unauthorized"
    s.sendto(("SIP/2.0 %s\r\n%s\r\nContent-Length: 0\r\n\r\n" % (status, copied)).encode(), peer)
