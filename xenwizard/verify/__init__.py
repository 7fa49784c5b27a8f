"""After the apply and the reboot: the host checks, the canary guest, the boot guard."""
