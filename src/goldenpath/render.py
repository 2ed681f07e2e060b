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
    a release. src is a folder or a URL (`file:///…/x.git`, `https://…`), as users give it.
    """
    render_with_config(dst, answers, src=src, vcs_ref=vcs_ref)
    return dst


def render_with_config(
    dst: Path,
    answers: Mapping[str, Any] | None = None,
    *,
    src: Path | str = TEMPLATE_ROOT,
    vcs_ref: str | None = "HEAD",
) -> tuple[str, ...]:
    """As render(); returns the rendered release's team-owned path patterns (its copier.yml's
    `_skip_if_exists`, not yet rendered), read by copier from the release it rendered, wherever
    that came from."""
    worker = copier.run_copy(
        str(src),
        str(dst),
        data=dict(answers or {}),
        defaults=True,
        unsafe=True,
        vcs_ref=vcs_ref,
        quiet=True,
    )
    # Read from the configuration copier loaded for the render (its clone is gone by now).
    return tuple(worker.template.skip_if_exists)
