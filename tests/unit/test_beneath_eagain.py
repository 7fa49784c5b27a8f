"""openat2 answers EAGAIN when a rename anywhere on the system races a ".." step of a
RESOLVE_IN_ROOT lookup (openat2(2): "the caller may choose to retry"). Real systems have such
links (Debian's etc/os-release -> ../usr/lib/os-release) and renames (dpkg unpacking), so a read
through the root retries instead of failing with "Resource temporarily unavailable"."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

from xenwizard.target import beneath
from xenwizard.target.rootfs import RootFS

OPENS = 20000  # the old code failed about 1 in 200 of these with a rename loop beside it


def test_reads_through_a_dotdot_link_survive_renames_elsewhere(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "usr/lib").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "usr/lib/os-release").write_text("ID=debian\n")
    (root / "etc/os-release").symlink_to("../usr/lib/os-release")
    churn = tmp_path / "elsewhere"
    churn.mkdir()
    (churn / "a").touch()
    stop = threading.Event()

    def rename_loop() -> None:
        while not stop.is_set():
            os.rename(churn / "a", churn / "b")
            os.rename(churn / "b", churn / "a")

    renamer = threading.Thread(target=rename_loop, daemon=True)
    renamer.start()
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    failed = 0
    try:
        for _ in range(OPENS):
            try:
                fd = beneath.open_in_root(root_fd, "etc/os-release", os.O_RDONLY)
            except OSError as exc:
                assert exc.errno == errno.EAGAIN, exc
                failed += 1
            else:
                assert fd is not None
                os.close(fd)
        text = RootFS(root).read_text("etc/os-release")
    finally:
        stop.set()
        renamer.join()
        os.close(root_fd)
    assert failed == 0, f"{failed} of {OPENS} opens failed with EAGAIN"
    assert text == "ID=debian\n"
