"""A configuration file as a package will install it, when the package's .deb is already in
the target's apt cache (apt-get keeps what it downloaded: after a rollback's purge, or an
`apt-get install --download-only`).

A step whose file comes with a package the plan installs is computed after the install; with
the package's own file at hand the preview can show the change it will get. The .deb is read
through the root (never a path outside it) and unpacked here: `ar` members, then the data
tarball (xz and gzip from the standard library; zstd, as Ubuntu builds its packages, through
the `zstd` program when it is installed). Anything unexpected means "not known": the step
stays deferred without a preview, as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from xenwizard.target.rootfs import RootError, RootFS

APT_CACHE = "var/cache/apt/archives"
MAX_DEB = 64 * 1024 * 1024  # xen-utils-common is about 1 MiB; far bigger is not a config package
MAX_FILE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ShippedFile:
    source: str  # the .deb, relative to the root
    text: str


def from_apt_cache(fs: RootFS, path: str, packages: tuple[str, ...]) -> ShippedFile | None:
    """`path` (root-relative) as the newest cached .deb of one of `packages` ships it."""
    names = fs.listdir(APT_CACHE)  # [] when there is no cache
    for package in packages:
        debs = [name for name in names if name.startswith(f"{package}_") and name.endswith(".deb")]
        for deb in sorted(debs, reverse=True):  # the newest version first, as a rule
            rel = f"{APT_CACHE}/{deb}"
            try:
                data = fs.read_bytes(rel, MAX_DEB)
            except RootError:
                continue
            text = _member(data, path) if data is not None else None
            if text is not None:
                return ShippedFile(rel, text)
    return None


def _member(deb: bytes, path: str) -> str | None:
    import io
    import tarfile  # loaded only when a package's .deb is at hand

    tarball = _data_tarball(deb)
    if tarball is None:
        return None
    name, payload = tarball
    try:
        unpacked = _unzstd(payload) if name.endswith(".zst") else payload
        if unpacked is None:
            return None
        with tarfile.open(fileobj=io.BytesIO(unpacked)) as tar:
            for wanted in (f"./{path}", path):
                try:
                    member = tar.getmember(wanted)
                except KeyError:
                    continue
                if not member.isfile() or member.size > MAX_FILE:
                    return None
                extracted = tar.extractfile(member)
                return extracted.read().decode() if extracted is not None else None
    except (tarfile.TarError, OSError, EOFError, UnicodeDecodeError, ValueError):
        return None
    return None


def _data_tarball(deb: bytes) -> tuple[str, bytes] | None:
    """The `data.tar.*` member of a .deb (an ar archive), by name and bytes."""
    if not deb.startswith(b"!<arch>\n"):
        return None
    offset = 8
    while offset + 60 <= len(deb):
        header = deb[offset : offset + 60]
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            return None
        start = offset + 60
        if name.startswith("data.tar"):
            return name, deb[start : start + size]
        offset = start + size + (size % 2)
    return None


def _unzstd(payload: bytes) -> bytes | None:
    import shutil
    import subprocess

    zstd = shutil.which("zstd")
    if zstd is None:
        return None
    done = subprocess.run([zstd, "-dc"], input=payload, capture_output=True, timeout=60)
    return done.stdout if done.returncode == 0 else None
