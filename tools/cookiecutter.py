"""Write cookiecutter.json from copier.yml: `make cookiecutter` (`--check` in `make lint`).

copier.yml is the one source of the questions. The cookiecutter entry asks the same ones, in the
same order: a question with choices becomes cookiecutter's list (the default first), a default
becomes the same default (strings, as cookiecutter keeps them; a Jinja default reads the other
answers as `cookiecutter.<name>`, cast to the question's type), and each prompt is the first clause
of the question's help. Computed questions (`when: false`) are left to copier, which the
post-generation hook runs (hooks/post_gen_project.py) with copier.yml's own rules.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment

ROOT = Path(__file__).resolve().parents[1]
COPIER_YML = ROOT / "copier.yml"
COOKIECUTTER_JSON = ROOT / "cookiecutter.json"
CASTS = {"int": "int", "float": "float"}
# Cookiecutter-only settings: the hook renders the project with copier, so nothing is rendered here.
SETTINGS = {"_copy_without_render": ["*"]}


def questions(copier_yml: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """copier.yml's questions that a person answers, in order."""
    return {
        name: spec
        for name, spec in copier_yml.items()
        if not name.startswith("_") and isinstance(spec, dict) and spec.get("when") is not False
    }


def cookiecutter_jinja(text: str, asked: dict[str, dict[str, Any]]) -> str:
    """A copier Jinja default with every answer it reads named as cookiecutter names it."""
    tokens = list(Environment().lex(text))
    out = []
    for index, (_, kind, value) in enumerate(tokens):
        before = next((t for t in reversed(tokens[:index]) if t[1] != "whitespace"), None)
        if kind == "name" and value in asked and not (before and before[2] == "."):
            cast = CASTS.get(asked[value].get("type", "str"))
            value = f"cookiecutter.{value}" + (f" | {cast}" if cast else "")
        out.append(value)
    return "".join(out)


def choice_values(choices: list | dict) -> list[str]:
    return [str(v) for v in (choices.values() if isinstance(choices, dict) else choices)]


def prompt(help_text: str) -> str:
    """The first clause of a question's help: up to its first colon, or its first sentence."""
    first = " ".join(help_text.split())
    for stop in (": ", ". "):
        first = first.split(stop, 1)[0]
    return first.rstrip(".")


def generate(copier_yml: dict[str, Any]) -> dict[str, Any]:
    asked = questions(copier_yml)
    context: dict[str, Any] = {}
    for name, spec in asked.items():
        default = spec.get("default", "")
        default = cookiecutter_jinja(default, asked) if isinstance(default, str) else str(default)
        if "choices" in spec:
            values = choice_values(spec["choices"])
            if default not in values:
                raise SystemExit(f"copier.yml: {name}'s default {default!r} is not a choice")
            context[name] = [default, *(v for v in values if v != default)]
        else:
            context[name] = default
    context["__prompts__"] = {name: prompt(spec["help"]) for name, spec in asked.items()}
    return {**context, **SETTINGS}


def render() -> str:
    data = generate(yaml.safe_load(COPIER_YML.read_text()))
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if cookiecutter.json differs")
    text = render()
    if parser.parse_args().check:
        if COOKIECUTTER_JSON.read_text() != text:
            print(
                "cookiecutter.json is not what copier.yml says: run `make cookiecutter`",
                file=sys.stderr,
            )
            return 1
        print("cookiecutter.json follows copier.yml")
        return 0
    COOKIECUTTER_JSON.write_text(text)
    print(f"wrote {COOKIECUTTER_JSON}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
