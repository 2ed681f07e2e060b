"""The credentials the contract declares (CREDENTIALS in contract.py), found at run time.

A credential is found as an environment variable of its name, or as a file of its name in the
folder CREDENTIALS_DIR names (the chart sets both from its `secrets` values: a Secret's keys as
variables or as a read-only mounted folder). The service is not ready, and a batch run fails,
while one is missing. Messages name what is missing and where it was looked for, never a value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

# An environment variable name, as a Secret's key and a file name can also be.
NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,62}$")
# Names the platform sets itself: a credential of such a name would be overwritten or ignored.
RESERVED_PREFIXES = ("BENTOML_", "CREDENTIALS_", "MODEL_", "PROMETHEUS_")
RESERVED_NAMES = frozenset({"BATCH_SCHEDULE", "LOG_LEVEL", "PUSHGATEWAY_URL", "GIT_COMMIT"})


def problems(declared: object) -> list[str]:
    """The rules a CREDENTIALS declaration breaks (empty when it is valid)."""
    if not isinstance(declared, tuple | list):
        return [f"CREDENTIALS = {declared!r} must be a tuple of names, like ('SERVICE_TOKEN',)"]
    found: list[str] = []
    seen: set[str] = set()
    for name in declared:
        if not isinstance(name, str) or not NAME.match(name):
            found.append(
                f"CREDENTIALS name {name!r} is not an environment variable name: use uppercase"
                " letters, digits and '_', starting with a letter (at most 63)"
            )
        elif name in RESERVED_NAMES or name.startswith(RESERVED_PREFIXES):
            found.append(
                f"CREDENTIALS name {name!r} is one the platform sets itself: choose another"
                f" (not {', '.join(sorted(RESERVED_NAMES))} or a name starting with"
                f" {', '.join(RESERVED_PREFIXES)})"
            )
        elif name in seen:
            found.append(f"CREDENTIALS name {name!r} is declared twice")
        seen.add(str(name))
    return found


def folder(environ: Mapping[str, str] | None = None) -> Path | None:
    """The folder of credential files (CREDENTIALS_DIR), if one is set."""
    value = (os.environ if environ is None else environ).get("CREDENTIALS_DIR", "").strip()
    return Path(value) if value else None


def _file(name: str, environ: Mapping[str, str] | None) -> Path | None:
    directory = folder(environ)
    return None if directory is None else directory / name


def missing(names: Sequence[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """The declared names found neither as a non-empty variable nor as a non-empty file."""
    env = os.environ if environ is None else environ
    absent = []
    for name in names:
        if env.get(name, ""):
            continue
        path = _file(name, environ)
        try:
            if path is not None and path.is_file() and path.stat().st_size > 0:
                continue
        except OSError:
            pass
        absent.append(name)
    return absent


def describe_missing(names: Sequence[str], environ: Mapping[str, str] | None = None) -> str:
    """Which credentials are missing and where they were looked for (names only)."""
    directory = folder(environ)
    where = "an environment variable" + (
        f" or a file in {directory}" if directory else " (CREDENTIALS_DIR is not set)"
    )
    listed = ", ".join(names)
    return (
        f"credential{'s' if len(names) > 1 else ''} {listed} missing: each must be {where}"
        " (the chart's `secrets` values give them to the pods)"
    )


def read(name: str, environ: Mapping[str, str] | None = None) -> str:
    """A declared credential's value, for the contract's code: the variable, else the file.

    Never log or return it in a response. KeyError names the credential when it is missing.
    """
    env = os.environ if environ is None else environ
    if value := env.get(name, ""):
        return value
    path = _file(name, environ)
    if path is not None and path.is_file():
        return path.read_text().rstrip("\n")
    raise KeyError(describe_missing([name], environ))
