"""One generated environment per distinct answer set per test run, shared by every test that needs
it, in every pytest-xdist worker.

An environment is a render of the template's working tree, committed, after `make setup train`
(goldenpath.localservice.trained_repo). It is keyed by the answers and by a digest of everything
copier renders (copier.yml, templates/ with the generated repo's lock, hooks/), built once under a
file lock by whichever worker asks first, and read by the others. Tests treat it as read-only:
they serve it, score with it, build images from it, run its `make test` and `make lint`; a test
that changes a repository's files renders its own.
"""

from __future__ import annotations

import dataclasses
import fcntl
import functools
import hashlib
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from devkit import ROOT, bytecode
from devkit.project import copy_project
from goldenpath.localservice import TrainedRepo, trained_repo
from goldenpath.proc import run

RENDERED = ("copier.yml", "templates", "hooks")


@functools.cache
def template_digest() -> str:
    """A digest of every file copier renders from, the generated repo's lock included."""
    digest = hashlib.sha256()
    for top in RENDERED:
        path = ROOT / top
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(file.relative_to(ROOT).as_posix().encode() + b"\0")
                digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.cache
def literal_defaults() -> dict[str, Any]:
    """copier.yml's defaults that are plain values (not Jinja reading other answers)."""
    questions = yaml.safe_load((ROOT / "copier.yml").read_text())
    return {
        name: spec["default"]
        for name, spec in questions.items()
        if isinstance(spec, dict) and "default" in spec and "{" not in str(spec["default"])
    }


def key(answers: dict[str, Any]) -> str:
    """The same key for the same render: an answer given as its default counts as not given."""
    defaults = literal_defaults()
    given = {k: v for k, v in answers.items() if k not in defaults or defaults[k] != v}
    text = json.dumps(given, sort_keys=True) + template_digest()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_suffix(".lock"), "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        yield


class Environments:
    """The run's environments, in root (a folder every worker of the run shares)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._seen: dict[str, TrainedRepo] = {}

    def trained(self, home: Path | None = None, **answers: Any) -> TrainedRepo:
        """The environment of these answers (defaults for the rest), trained; built on first use.

        With home, a BENTOML_HOME of the caller's own whose models are the environment's: BentoML
        empties the metrics folder in BENTOML_HOME when a server starts, so two servers must not
        share one."""
        trained = self._trained(answers)
        if home is None:
            return trained
        home.mkdir(parents=True, exist_ok=True)
        (home / "models").symlink_to(Path(trained.env["BENTOML_HOME"]) / "models")
        return dataclasses.replace(trained, env={**trained.env, "BENTOML_HOME": str(home)})

    def share_bytecode(self) -> None:
        """Once per run, before the first generated environment: the generated lock's libraries
        compiled into uv's cache, so no environment compiles them again (devkit/bytecode.py)."""
        folder = self.root / "bytecode"
        with _locked(folder):
            if (folder / "done").is_file():
                return
            shutil.rmtree(folder, ignore_errors=True)
            repo = copy_project(folder / "repo")
            run(["make", "setup"], cwd=repo, echo=False)
            linked = bytecode.share(repo)
            shutil.rmtree(repo)
            (folder / "done").write_text(f"{linked} compiled files linked into uv's cache\n")

    def _trained(self, answers: dict[str, Any]) -> TrainedRepo:
        name = key(answers)
        if name in self._seen:
            return self._seen[name]
        folder = self.root / name
        record = folder / "environment.json"
        with _locked(folder):
            if record.is_file():
                saved = json.loads(record.read_text())
                trained = TrainedRepo(Path(saved["repo"]), saved["env"], saved["model_tag"])
            else:
                shutil.rmtree(folder, ignore_errors=True)  # a build that failed half-way
                folder.mkdir(parents=True)
                trained = trained_repo(folder, **answers)
                saved = {"answers": answers, "repo": str(trained.repo), "env": trained.env}
                saved["model_tag"] = trained.model_tag
                record.write_text(json.dumps(saved, indent=2))
        self._seen[name] = trained
        return trained
