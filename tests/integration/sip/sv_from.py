#!/usr/bin/env python3
"""Runs a SIPVicious tool from one source address: sv_from.py ADDR TOOL [ARGS...].

SIPVicious 0.3.3 (Debian 12) accepts -b/--bindingip but svwar and svcrack never pass it to
the socket: they bind 0.0.0.0 and the kernel picks the interface's first address. The rig
gives each actor its own address, so this wrapper makes every UDP/TCP socket the tool binds
use ADDR (port unchanged), then runs the installed tool's own entry point, unmodified.
"""
import os
import runpy
import socket
import sys

addr, tool = sys.argv[1], sys.argv[2]
_bind = socket.socket.bind


def bind_from(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
        address = (addr,) + tuple(address[1:])
    return _bind(sock, address)


socket.socket.bind = bind_from
sys.argv = [tool] + sys.argv[3:]
sys.path.insert(0, "/usr/share/sipvicious")
runpy.run_path(os.path.join("/usr/bin", tool), run_name="__main__")
