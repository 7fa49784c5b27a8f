"""What leaves dom0's uplink NIC while a guest runs: a packet capture in the VM with python3's
AF_PACKET socket (the image has no tcpdump), one line per outgoing frame but SSH (the test's own
session): the source MAC, and for IPv4 the addresses, the protocol and a TCP/UDP port.

It answers what the isolated shape promises on a real host: no frame of the guests leaves the NIC
with a Xen MAC, and the guests' traffic leaves with the host's own address (NAT).
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.vm.xenvm.machine import Machine

OUT = "/root/uplink-capture.txt"
PID = "/root/uplink-capture.pid"
CAPTURE = r"""import socket, struct, sys
nic = sys.argv[1]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(3))
s.bind((nic, 0))
while True:
    frame, addr = s.recvfrom(65535)
    if addr[2] != socket.PACKET_OUTGOING or len(frame) < 14:
        continue
    line = frame[6:12].hex(":")
    if frame[12:14] == b"\x08\x00" and len(frame) >= 34:
        head = (frame[14] & 15) * 4
        proto = frame[23]
        line += f" {socket.inet_ntoa(frame[26:30])}>{socket.inet_ntoa(frame[30:34])} proto {proto}"
        if proto in (6, 17) and len(frame) >= 14 + head + 4:
            sport, dport = struct.unpack("!HH", frame[14 + head : 18 + head])
            if proto == 6 and 22 in (sport, dport):
                continue
            line += f" dport {dport}"
    print(line, flush=True)
"""


@dataclass(frozen=True)
class Frame:
    mac: str
    ipv4: str  # "SRC>DST proto N[ dport P]", or "" for other frames


def start(vm: Machine, nic: str, seconds: int, phase: str) -> None:
    """Capture `nic`'s outgoing frames for `seconds` in the background."""
    vm.ssh(
        f"cat > /root/uplink-capture.py <<'EOF'\n{CAPTURE}EOF\n"
        f"setsid nohup timeout {seconds} python3 /root/uplink-capture.py {nic} "
        f"< /dev/null > {OUT} 2>&1 & echo $! > {PID}",
        phase=phase,
    )


def stop(vm: Machine, phase: str) -> tuple[list[Frame], str]:
    """End the capture (by its pid: `pkill -f` would match the shell that runs it); the frames
    it saw, and its whole output for a failure report."""
    text = vm.ssh(f"kill $(cat {PID}); sleep 1; cat {OUT}", check=False, phase=phase).stdout
    frames = []
    for line in text.splitlines():
        mac, _, rest = line.partition(" ")
        if mac.count(":") == 5:
            frames.append(Frame(mac.lower(), rest))
    return frames, text
