"""The OpenAPI document a fresh render ships: templates/model-service/docs/openapi.json.jinja.

A generated repository commits docs/openapi.json, the document its service serves at /docs.json,
and its `make lint` fails when the file is not what the code produces. So the first commit of a
fresh render must already hold the right document. It depends on the service name and on the
contract the template renders for the answered task (the frameworks share each task's features),
so this script renders each task's default answers, runs the render's own `make setup openapi`,
and writes the results back as one template, the service name a Jinja variable, one branch per
task. `make golden` runs it before regenerating the golden render.

    python -m tools.openapi           rewrite the template
    python -m tools.openapi --check   exit 1 when the template is not what the renders produce

Generated repositories never run this: their `make openapi` regenerates their own document, and
copier.yml's `_skip_if_exists` keeps `copier update` from touching it (decision 0010).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import yaml

from goldenpath.answers import ANSWERS_FILE
from goldenpath.proc import run
from goldenpath.render import render

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "templates" / "model-service" / "docs" / "openapi.json.jinja"
TASKS = ("classification", "regression")
JINJA_MARKERS = ("{{", "{%", "{#", "}}", "%}", "#}")
HEADER = (
    "{# Written by tools/openapi.py (`make golden`): what `make openapi` produces in a render of\n"
    "   each task's default answers. Do not edit it: change the code, then run `make golden`. #}\n"
)


def produce(task: str, work: Path) -> str:
    """The document `make openapi` writes in a render of the task's default answers, with the
    service name as the Jinja variable."""
    repo = render(work / task, {"model_task": task})
    service = yaml.safe_load((repo / ANSWERS_FILE).read_text())["service_name"]
    env = {
        "BENTOML_HOME": str(work / "bentoml"),
        "BENTOML_DO_NOT_TRACK": "true",
        # The render's Makefile calls uv: the one beside this interpreter.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    run(["make", "--no-print-directory", "setup", "openapi"], cwd=repo, env=env, timeout=1800)
    text = (repo / "docs" / "openapi.json").read_text(encoding="utf-8")
    clashes = [marker for marker in JINJA_MARKERS if marker in text]
    if clashes:
        raise SystemExit(f"the {task} document contains Jinja syntax {clashes}: escape it here")
    if service not in text:
        raise SystemExit(f"the {task} document does not name the service {service!r}")
    return text.replace(service, "{{ service_name }}")


def template_text() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        documents = {task: produce(task, Path(tmp)) for task in TASKS}
    parts = [HEADER]
    for index, (task, text) in enumerate(documents.items()):
        parts.append(f"{{% {'if' if index == 0 else 'elif'} model_task == '{task}' %}}\n{text}")
    parts.append("{% endif %}\n")
    return "".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    text = template_text()
    relative = TEMPLATE.relative_to(ROOT)
    if args.check:
        current = TEMPLATE.read_text(encoding="utf-8") if TEMPLATE.is_file() else ""
        if current != text:
            print(f"{relative} is out of date: run `make golden`", file=sys.stderr)
            return 1
        print(f"{relative} is current", file=sys.stderr)
        return 0
    TEMPLATE.parent.mkdir(parents=True, exist_ok=True)
    TEMPLATE.write_text(text, encoding="utf-8")
    print(f"wrote {relative}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
