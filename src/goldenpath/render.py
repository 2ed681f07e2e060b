"""Rendering the template with copier, as users and tests do."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import copier

from . import TEMPLATE_ROOT


def render(
    dst: Path,
    answers: Mapping[str, Any] | None = None,
    *,
    src: Path | str = TEMPLATE_ROOT,
    vcs_ref: str = "HEAD",
) -> Path:
    """Render the template into dst with the given answers (defaults for the rest).

    vcs_ref "HEAD" renders the working tree, uncommitted changes included; give a tag to render
    a release.
    """
    copier.run_copy(
        str(src),
        str(dst),
        data=dict(answers or {}),
        defaults=True,
        unsafe=True,
        vcs_ref=vcs_ref,
        quiet=True,
    )
    return dst
