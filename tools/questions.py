"""Writes the questions table of README.md and docs/reference/questions.md from copier.yml.

    python -m tools.questions           rewrite the tables (`make questions`)
    python -m tools.questions --check   exit 1, naming the file, when a table has drifted

A table restating copier.yml is generated from it, so it cannot drift: each question with its help
(which states the rule), its choices, and the answer `copier copy --defaults` gives (read from the
committed golden render of the default answers).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ("README.md", "docs/reference/questions.md")
START, END = "<!-- questions:start (make questions) -->", "<!-- questions:end -->"
DEFAULTS = "tests/golden/default/.copier-answers.yml"


def cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def table(root: Path) -> str:
    config = yaml.safe_load((root / "copier.yml").read_text())
    answers = yaml.safe_load((root / DEFAULTS).read_text())
    rows = ["| question | what it asks, and the rule | default |", "|---|---|---|"]
    for name, question in config.items():
        if name.startswith("_") or not isinstance(question, dict):
            continue
        text = cell(question.get("help", ""))
        choices = question.get("choices")
        if choices:
            values = choices.values() if isinstance(choices, dict) else choices
            text += " Choices: " + ", ".join(f"`{v}`" for v in values) + "."
        computed = any(mark in str(question.get("default", "")) for mark in ("{{", "{%"))
        if question.get("when") is False:
            default = "computed, not asked"
        else:
            default = f"`{cell(answers[name])}`"
            default += " (derived from earlier answers)" if computed else ""
        rows.append(f"| `{name}` | {text} | {default} |")
    return "\n".join(rows)


def replaced(text: str, generated: str, path: str) -> str:
    if START not in text or END not in text:
        raise SystemExit(f"{path} has no {START} ... {END} markers")
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    return f"{head}{START}\n{generated}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when a table has drifted")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    generated = table(args.root)
    drifted = []
    for path in TARGETS:
        target = args.root / path
        text = target.read_text()
        new = replaced(text, generated, path)
        if new != text:
            drifted.append(path)
            if not args.check:
                target.write_text(new)
    if args.check and drifted:
        print(
            f"the questions table in {', '.join(drifted)} differs from copier.yml:"
            " run `make questions`",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
