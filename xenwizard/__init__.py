"""xenwizard: turn a Debian-family server into a Xen host with bridged guests and dnsmasq DHCP."""

__version__ = "0.1.0"
