"""The answers file, `.copier-answers.yml`: the one place the CLI reads it.

copier writes it into every generated repository: the answers given, plus `_src_path` (where the
template comes from) and `_commit` (the template release the repository is on).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

ANSWERS_FILE = ".copier-answers.yml"


class AnswersError(ValueError):
    """The answers file is missing, not YAML, or not a mapping; the message says which."""


def read(repo: Path) -> dict[str, Any]:
    """The repository's answers, private keys (`_src_path`, `_commit`) included."""
    path = repo / ANSWERS_FILE
    if not path.is_file():
        raise AnswersError(f"no {ANSWERS_FILE}")
    return parse(path.read_text())


def parse(text: str) -> dict[str, Any]:
    """Answers from the answers file's text (as `git show REF:.copier-answers.yml` prints it)."""
    try:
        answers = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise AnswersError(f"{ANSWERS_FILE} is not valid YAML: {error}") from error
    if not isinstance(answers, dict):
        raise AnswersError(f"{ANSWERS_FILE} is not a mapping of answers")
    return answers


def missing(answers: Mapping[str, Any], keys: Iterable[str]) -> list[str]:
    """Problems for the keys answers lacks (or leaves empty), one per key."""
    return [f"{ANSWERS_FILE} has no {key}" for key in keys if not answers.get(key)]


def questions(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers to questions, without copier's private keys: what a render takes as data."""
    return {key: value for key, value in answers.items() if not str(key).startswith("_")}
