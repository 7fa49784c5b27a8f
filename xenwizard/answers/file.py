"""Answers files: TOML with the same keys as the CLI flags, read and written here only."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from xenwizard.answers.fields import ANSWER_KEYS
from xenwizard.errors import XenwizardError

MAX_ANSWERS = 1024 * 1024  # a full answers file is under 2 KiB


class AnswersError(XenwizardError, ValueError):
    """The answers file is missing, unreadable or not the TOML we expect."""


def _read_bounded(path: str | Path) -> bytes:
    """The file's bytes if it is a regular file of at most MAX_ANSWERS bytes (opened without
    blocking: a FIFO cannot hang the read, a device or a huge file is refused unread)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(st.st_mode):
            raise AnswersError(f"answers file {path}: not a regular file; expected a TOML file")
        data = os.read(fd, MAX_ANSWERS + 1)
        if st.st_size > MAX_ANSWERS or len(data) > MAX_ANSWERS:
            raise AnswersError(
                f"answers file {path}: bigger than {MAX_ANSWERS} bytes; expected a short TOML file"
            )
        return data
    finally:
        os.close(fd)


def load_answers(path: str | Path) -> dict[str, object]:
    """Read an answers file; a one-line AnswersError names the file and the problem."""
    if sys.version_info >= (3, 11):  # imported here: only runs that read answers pay for it
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        data = tomllib.loads(_read_bounded(path).decode("utf-8"))
    except RecursionError:  # tomllib recurses per nested array or inline table
        raise AnswersError(
            f"answers file {path}: nested too deep; expected flat `key = value` lines"
        ) from None
    except FileNotFoundError:
        raise AnswersError(f"answers file {path}: no such file") from None
    except PermissionError:
        raise AnswersError(f"answers file {path}: not readable (permission denied)") from None
    except IsADirectoryError:
        raise AnswersError(f"answers file {path}: is a directory; expected a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise AnswersError(f"answers file {path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise AnswersError(f"answers file {path}: not UTF-8 text; expected a TOML file") from None
    nested = [key for key, value in data.items() if isinstance(value, dict)]
    if nested:
        raise AnswersError(
            f"answers file {path}: unexpected table [{nested[0]}]; expected top-level keys "
            f"{', '.join(ANSWER_KEYS)}"
        )
    return data


def dump_answers(answers: dict[str, object]) -> str:
    """TOML text for a flat answers dict, keys in `ANSWER_KEYS` order (unset answers left out).

    Only keys of the answers table are written, so the file replays through `build_config`.
    """
    import tomli_w  # imported here: only runs that write answers pay for it

    unknown = sorted(set(answers) - set(ANSWER_KEYS))
    if unknown:
        raise ValueError(f"not answers: {', '.join(unknown)}")
    ordered = {key: answers[key] for key in ANSWER_KEYS if answers.get(key) is not None}
    header = "# xenwizard answers: replay with `xenwizard apply --answers FILE`\n"
    return header + tomli_w.dumps(ordered)
