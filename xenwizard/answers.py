"""Answers files: TOML with the same keys as the CLI flags, read and written here only."""

from __future__ import annotations

import sys
from pathlib import Path

from xenwizard.config import ANSWER_KEYS


class AnswersError(ValueError):
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


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def dump_answers(answers: dict[str, object]) -> str:
    """TOML text for a flat answers dict (validated values only: strings, bools, ints)."""
    lines = ["# xenwizard answers: replay with `xenwizard apply --answers FILE`"]
    lines += [
        f"{key} = {_toml_value(value)}" for key, value in answers.items() if value is not None
    ]
    return "\n".join(lines) + "\n"
