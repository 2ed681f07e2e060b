"""The service's OpenAPI document, written to docs/openapi.json without starting a server.

`make openapi` writes it; `make openapi-check` (run by `make lint`, CI and the pre-commit hook)
fails when the committed file is not what the code produces now, so the document the service
catalog shows (catalog-info.yaml reads it) never drifts from the one the service serves. It
changes when the contract does (features, examples, task), and when a template update or a new
BentoML changes the service: run `make openapi` and commit the file.

The document is the one BentoML serves at /docs.json. BentoML 1.4.40 builds it from the service
class alone: the /docs.json route (`openapi_spec_view` in `_bentoml_impl/server/app.py`) answers
`JSONResponse(self.service.openapi_spec.asdict())`, and `Service.openapi_spec`
(`_bentoml_sdk/service/factory.py`) calls `generate_spec(svc)` (`_bentoml_sdk/service/openapi.py`),
which reads the service's name, its APIs' input and output types and its mounted apps. Importing
the service module is enough: no model is loaded, since the service's `__init__` never runs.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Any

DOCUMENT = Path("docs/openapi.json")
# Lines of the difference `--check` shows before it stops.
DIFF_LINES = 40


def document() -> dict[str, Any]:
    """The OpenAPI document of the service, as /docs.json serves it."""
    from .service import ModelService

    return ModelService.openapi_spec.asdict()


def render(spec: dict[str, Any]) -> str:
    """Stable JSON: sorted keys, two-space indent, UTF-8, one trailing newline."""
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def check(path: Path, expected: str) -> int:
    """0 when the file at path holds exactly `expected`; else 1, saying what to run."""
    if not path.is_file():
        print(f"{path} is missing: run `make openapi` and commit it", file=sys.stderr)
        return 1
    current = path.read_text(encoding="utf-8")
    if current == expected:
        print(f"{path} is current")
        return 0
    diff = list(
        difflib.unified_diff(
            current.splitlines(keepends=True),
            expected.splitlines(keepends=True),
            f"{path} (committed)",
            f"{path} (what the code produces)",
        )
    )
    shown = "".join(diff[:DIFF_LINES])
    more = f"... {len(diff) - DIFF_LINES} more lines\n" if len(diff) > DIFF_LINES else ""
    print(
        f"{path} is out of date: it differs from the OpenAPI document the code produces"
        f" (the contract or the service changed). Run `make openapi` and commit {path}.\n"
        f"{shown}{more}",
        file=sys.stderr,
    )
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the file is not current")
    parser.add_argument("--output", type=Path, default=DOCUMENT, help="default: %(default)s")
    args = parser.parse_args(argv)
    text = render(document())
    if args.check:
        return check(args.output, text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
