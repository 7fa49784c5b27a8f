"""The demo's stand-in for apt-get and update-grub, on the sample copy only.

Nothing is downloaded or run. `apt-get install` marks the packages installed in the copy's
dpkg status and lays down the few files of theirs that later steps edit or need (xl.conf, the
Xen GRUB script); update-grub then adds Xen's menu entry, as the real one does once the Xen
package's `20_linux_xen` is there. So the demo's apply writes every step its preview shows,
the GRUB and boot-guard steps included, and a rollback takes all of it away again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from xenwizard.edits import grubcfg
from xenwizard.engine.runner import LineCallback
from xenwizard.target.rootfs import RootFS

XEN_GRUB_SCRIPT = "etc/grub.d/20_linux_xen"
XEN_SECTION = f"### BEGIN /{XEN_GRUB_SCRIPT} ###\n"
XEN_SECTION_END = f"### END /{XEN_GRUB_SCRIPT} ###\n"

# Xen's xl.conf as xen-utils-common ships it, cut to the lines around what xenwizard edits.
XL_CONF = """\
## Global XL config file ##

# whether dom0 gives memory back to start a guest (demo copy)
#autoballoon="auto"

# default bridge device to use with vif-bridge hotplug scripts
#vif.default.bridge="xenbr0"
"""

# package the plan names -> files of it (or of what it pulls in) that later steps need
SHIPPED: Mapping[str, Mapping[str, str]] = {
    "xen-system-amd64": {
        "etc/xen/xl.conf": XL_CONF,
        XEN_GRUB_SCRIPT: "#! /bin/sh\n# (xenwizard demo) Xen's GRUB menu entries\n",
    },
    "xen-tools": {  # the hook dirs a release's NAME.d links to
        "usr/share/xen-tools/artful.d/01-disable-daemons": "#!/bin/sh\n# (xenwizard demo)\n",
        "usr/share/xen-tools/debian.d/01-disable-daemons": "#!/bin/sh\n# (xenwizard demo)\n",
    },
}


def stanza(name: str) -> str:
    return (
        f"Package: {name}\nStatus: install ok installed\nPriority: optional\n"
        f"Architecture: amd64\nVersion: 0-demo\nDescription: {name} (simulated by the demo)\n"
    )


class SimulatedRunner:
    """Prints what would run and reports success; apt-get and update-grub are played on the
    copy (see the module's docstring), every other command only printed."""

    def __init__(self, fs: RootFS | None = None, xen_title: str = "") -> None:
        self.fs = fs
        self.xen_title = xen_title
        self.created: dict[str, list[str]] = {}  # package -> the files its install laid down

    def run(
        self,
        argv: Sequence[str],
        on_line: LineCallback,
        env: Mapping[str, str] | None = None,
        network: bool = False,
    ) -> int:
        on_line(f"(simulated, not run) {' '.join(argv)}")
        if self.fs is None or not argv or "--download-only" in argv:
            return 0
        names = [a for a in argv[2:] if not a.startswith("-")]
        if argv[:2] == ["apt-get", "install"]:
            self.install(names)
        elif argv[:2] in (["apt-get", "purge"], ["apt-get", "remove"]):
            self.remove(names)
        elif argv[0] == "update-grub":
            self.update_grub()
        return 0

    def install(self, names: list[str]) -> None:
        assert self.fs is not None
        root = self.fs.root
        status = root / "var/lib/dpkg/status"
        text = status.read_text() if status.is_file() else ""
        for name in names:
            created = self.created.setdefault(name, [])
            for rel, content in SHIPPED.get(name, {}).items():
                path = root / rel
                if path.exists() or path.is_symlink():
                    continue  # the admin's file, kept as dpkg keeps a conffile
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content)
                created.append(rel)
            text = text.rstrip("\n") + ("\n\n" if text.strip() else "") + stanza(name)
        status.parent.mkdir(parents=True, exist_ok=True)
        status.write_text(text)
        self.update_grub()  # as the Xen package's postinst does

    def remove(self, names: list[str]) -> None:
        assert self.fs is not None
        root = self.fs.root
        status = root / "var/lib/dpkg/status"
        text = status.read_text() if status.is_file() else ""
        for name in names:
            for rel in self.created.pop(name, []):
                path = root / rel
                path.unlink(missing_ok=True)
                while path.parent != root and not any(path.parent.iterdir()):
                    path = path.parent
                    path.rmdir()
            text = text.replace(stanza(name), "").replace("\n\n\n", "\n\n")
        status.write_text(text.rstrip("\n") + "\n" if text.strip() else "")
        self.update_grub()  # as the Xen package's postrm does

    def update_grub(self) -> None:
        """Xen's menu entry in grub.cfg exactly while its GRUB script is there."""
        assert self.fs is not None
        cfg = self.fs.root / grubcfg.GRUB_CFG
        if not cfg.is_file():
            return
        text = cfg.read_text()
        head, _, rest = text.partition(XEN_SECTION)
        tail = rest.partition(XEN_SECTION_END)[2] if rest else ""
        if (self.fs.root / XEN_GRUB_SCRIPT).exists() and self.xen_title:
            entry = (
                f"{XEN_SECTION}menuentry '{self.xen_title}' --class xen {{\n"
                "\tmultiboot2\t/boot/xen.gz placeholder\n\tmodule2\t/boot/vmlinuz\n}\n"
                f"{XEN_SECTION_END}"
            )
            text = head + entry + tail
        else:
            text = head + tail
        cfg.write_text(text)
