"""Answers files: TOML with the same keys as the CLI flags, read and written here only."""

from __future__ import annotations

import sys
from pathlib import Path

from xenwizard.answers.fields import ANSWER_KEYS
from xenwizard.errors import XenwizardError


class AnswersError(XenwizardError, ValueError):
    """The answers file is missing, unreadable or not the TOML we expect."""


def load_answers(path: str | Path) -> dict[str, object]:
    """Read an answers file; a one-line AnswersError names the file and the problem."""
    if sys.version_info >= (3, 11):  # imported here: only runs that read answers pay for it
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
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
