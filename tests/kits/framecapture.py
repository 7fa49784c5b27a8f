"""Capture every frame on one interface (an AF_PACKET socket, all protocols) until SIGTERM,
then write what was seen as JSON: {"frames": N, "sources": {MAC: count}}, each source MAC
counted once per frame in either direction. Run inside a namespace by the isolated-bridge
namespace test (the "LAN switch" side of the host's uplink); needs no program but Python.

Usage: python3 framecapture.py IFACE OUT.json   (OUT.json.ready appears once it listens)
"""

from __future__ import annotations

import json
import signal
import socket
import sys
from pathlib import Path

ETH_P_ALL = 0x0003  # linux/if_ether.h: every protocol


def main(iface: str, out: Path) -> None:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((iface, 0))
    sock.settimeout(0.2)
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
    Path(f"{out}.ready").write_text("listening\n")
    frames, sources = 0, {}
    while not stopping:
        try:
            frame = sock.recv(65535)
        except TimeoutError:
            continue
        if len(frame) < 14:
            continue
        frames += 1
        source = frame[6:12].hex(":")
        sources[source] = sources.get(source, 0) + 1
    out.write_text(json.dumps({"frames": frames, "sources": sources}))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
