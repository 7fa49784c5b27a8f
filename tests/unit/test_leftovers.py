"""Leftovers after a rollback: accounts Debian never removes and /etc entries, named one by one."""

from __future__ import annotations

import os
from pathlib import Path

from xenwizard.engine import leftovers
from xenwizard.engine.journal import Journal
from xenwizard.target.rootfs import RootFS

PASSWD = (
    "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
)
GROUP = "root:x:0:\nnogroup:x:65534:\n"


def make_root(tmp_path: Path) -> RootFS:
    etc = tmp_path / "etc"
    (etc / "xen").mkdir(parents=True)
    (etc / "passwd").write_text(PASSWD)
    (etc / "group").write_text(GROUP)
    (etc / "shadow").write_text("root:*:19000:0:99999:7:::\n")
    (etc / "motd").write_text("hello\n")
    (etc / "gone").write_text("bye\n")
    os.symlink("motd", etc / "motd.link")
    return RootFS(tmp_path)


def test_nothing_changed_means_no_leftovers(tmp_path: Path) -> None:
    fs = make_root(tmp_path)
    assert leftovers.find(leftovers.snapshot(fs), fs) == []


def test_accounts_and_files_are_each_named(tmp_path: Path) -> None:
    fs = make_root(tmp_path)
    before = leftovers.snapshot(fs)
    etc = tmp_path / "etc"
    (etc / "passwd").write_text(
        PASSWD + "dnsmasq:x:999:65534:dnsmasq:/var/lib/misc:/usr/sbin/nologin\n"
    )
    (etc / "group").write_text(GROUP + "kvm:x:105:\n")
    (etc / "shadow").write_text("root:*:19000:0:99999:7:::\ndnsmasq:!:19000::::::\n")
    (etc / "hosts").write_text("127.0.0.1 localhost\n")
    (etc / "motd").write_text("changed\n")
    (etc / "gone").unlink()
    os.chmod(etc / "xen", 0o700)
    found = leftovers.find(before, fs)
    by_name = {(i.kind, i.name): str(i) for i in found}
    assert by_name[("user", "dnsmasq")].startswith("system user dnsmasq (uid 999)")
    assert "`deluser dnsmasq`" in by_name[("user", "dnsmasq")]
    assert "`delgroup kvm`" in by_name[("group", "kvm")]
    assert (
        by_name[("created", "etc/hosts")]
        == "/etc/hosts: created during the run, not removed by the purge"
    )
    assert "content" in by_name[("changed", "etc/motd")]
    assert "mode 0o755 -> 0o700" in by_name[("changed", "etc/xen")]
    assert ("removed", "etc/gone") in by_name
    assert not any(name in leftovers.ACCOUNT_FILES for _, name in by_name)  # explained by accounts


def test_saved_snapshot_is_private_and_loads_back(tmp_path: Path) -> None:
    fs = make_root(tmp_path / "root")
    journal = Journal.create(fs, "20260101T000000-aaaa", {"steps": []}, {})
    leftovers.save(fs, journal)
    assert os.stat(journal.dir / leftovers.SNAPSHOT).st_mode & 0o777 == 0o600
    assert leftovers.load(journal) == leftovers.snapshot(fs)
    other = Journal.create(fs, "20260101T000000-bbbb", {"steps": []}, {})
    assert leftovers.load(other) is None
