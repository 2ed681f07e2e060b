"""Whether Renovate's copier manager can follow a generated repo's template source (`_src_path`).

Renovate reads `.copier-answers.yml` and looks up the git tags of `_src_path`; its answers-file
schema takes only a URL (or, in newer Renovate, an scp-like `git@host:path`), so a filesystem path
yields no dependency at all and the repo silently never gets a template update
(renovatebot/renovate lib/modules/manager/copier/schema.ts and extract.ts). Copier's own shortcuts
(`gh:`, `gl:`) parse as URLs but git cannot fetch them. See docs/how-to/renovate.md.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

GIT_SCHEMES = ("https", "http", "ssh", "git", "file")
SCP_LIKE = re.compile(r"^[^@/]+@[^:/]+:.+$")
HOW_TO = "see docs/how-to/renovate.md"


def renovate_problem(src_path: str) -> str | None:
    """Why Renovate cannot follow this `_src_path`, or None when it can."""
    scheme = urlsplit(src_path.removeprefix("git+")).scheme
    if scheme in GIT_SCHEMES or SCP_LIKE.match(src_path):
        return None
    if scheme in ("gh", "gl"):
        host = "github.com" if scheme == "gh" else "gitlab.com"
        return (
            f"_src_path {src_path!r} is a copier shortcut, which Renovate cannot look up:"
            f" use the URL, https://{host}/{src_path[3:].removesuffix('.git')}.git ({HOW_TO})"
        )
    if scheme and len(scheme) > 1:
        return (
            f"_src_path {src_path!r} uses {scheme}://, which git cannot fetch:"
            f" use one of {', '.join(s + '://' for s in GIT_SCHEMES)} ({HOW_TO})"
        )
    return (
        f"_src_path {src_path!r} is a filesystem path, which Renovate cannot follow: copy from a"
        f" URL (https://..., ssh://..., or file:///absolute/path.git for a local clone) ({HOW_TO})"
    )
