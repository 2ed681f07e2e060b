"""Which files a template release owns in a service repository.

A release is rendered once per process for each combination asked about of the answers that
decide which files exist besides the names (PATH_ANSWERS: the CI provider, the model registry),
under a stand-in service name; each repository's list is that render with its own names put in,
minus the release's team-owned files (`_skip_if_exists`). So `fleet status` and `fleet report`
render a release once, not once per repository. A render fails with whatever copier raises (an
unreachable source, a commit the template does not have).
docs/decisions/0015-fleet-report-one-render-per-release.md says why.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import jinja2

from .answers import ANSWERS_FILE

# The stand-in names: a valid service name (DNS-1123) and its package, found in no template path.
PROBE_SERVICE = "gp-probe-svc"
PROBE_PACKAGE = PROBE_SERVICE.replace("-", "_")
# The answers a template path's condition names (`{% if ci_provider == 'github' %}.github...`):
# a render is made per combination of them (tests/test_fleet_report.py keeps this list whole).
PATH_ANSWERS = ("ci_provider", "model_registry")


# The release's policies on a repository's own files (GP_REPO_*), when it ships them.
REPOSITORY_POLICIES = "policies/repository.py"


@cache
def rendered_release(src: str, vcs_ref: str | None, shaping: tuple) -> tuple:
    """(files, team-owned patterns, REPOSITORY_POLICIES' source or None) of the release at vcs_ref,
    rendered with PROBE_SERVICE and the path-shaping answers given ((name, value) pairs)."""
    from .render import render_with_config

    data = {"service_name": PROBE_SERVICE}
    data.update((name, value) for name, value in shaping if value is not None)
    with tempfile.TemporaryDirectory(prefix="goldenpath-release-") as scratch:
        out = Path(scratch) / "repo"
        patterns = render_with_config(out, data, src=src, vcs_ref=vcs_ref)
        files = frozenset(
            str(Path(folder, name).relative_to(out))
            for folder, dirs, names in os.walk(out)
            for name in names + [d for d in dirs if Path(folder, d).is_symlink()]
        )
        policies = out / REPOSITORY_POLICIES
        source = policies.read_text() if policies.is_file() else None
    return files - {ANSWERS_FILE}, patterns, source


def _shaping(answers: Mapping) -> tuple:
    """The (name, value) pairs of PATH_ANSWERS: the key of one render of a release."""
    return tuple((name, answers.get(name)) for name in PATH_ANSWERS)


def template_owned_files(src: Path | str, answers: Mapping, vcs_ref: str | None) -> set[str]:
    """The files the template at vcs_ref renders for these answers, minus the team-owned seeds."""
    service = str(answers.get("service_name", ""))
    names = {**answers, "service_name": service, "package_name": service.replace("-", "_")}
    files, patterns, _ = rendered_release(str(src), vcs_ref, _shaping(answers))
    mine = {
        path.replace(PROBE_PACKAGE, names["package_name"]).replace(PROBE_SERVICE, service)
        for path in files
    }
    return mine - {jinja2.Template(p).render(**names) for p in patterns}


def repository_policies_source(
    src: Path | str, answers: Mapping, vcs_ref: str | None
) -> str | None:
    """The source of the release's REPOSITORY_POLICIES (None: the release ships none), from the
    same cached render as template_owned_files."""
    return rendered_release(str(src), vcs_ref, _shaping(answers))[2]
