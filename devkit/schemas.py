"""Validators that the artifacts' own projects publish, from the npm packages in tests/schemas/
(installed by `make schemas`, which `make test` and `make test-fast` run first)."""

from __future__ import annotations

import json
import shutil
from typing import Any

from jsonschema.exceptions import UnknownType
from openapi_spec_validator import OpenAPIV30SpecValidator

from devkit import ROOT
from goldenpath.proc import run

SCHEMAS = ROOT / "tests" / "schemas"


def node_check(check: str, documents: list[Any]) -> list[list[str]]:
    """For each document, the errors `tests/schemas/validate.mjs <check>` finds (empty: valid)."""
    node = shutil.which("node")
    assert node, "node is missing: `make test` installs nodejs (scripts/system-packages.sh)"
    assert (SCHEMAS / "node_modules").is_dir(), "the npm validators are missing: run `make schemas`"
    done = run(
        [node, str(SCHEMAS / "validate.mjs"), check],
        stdin_text=json.dumps(documents),
        cwd=SCHEMAS,
        timeout=120,
        echo=False,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# Errors in BentoML's own part of the served document, not ours (BentoML 1.4.x): its
# TaskStatusResponse uses `type: "null"`, which OpenAPI 3.0 does not have.
BENTOML_OPENAPI_ERRORS = {("components", "schemas", "TaskStatusResponse")}


def openapi_errors(document: dict) -> dict[tuple, str]:
    """openapi-spec-validator's OpenAPI 3.0 errors, by where they are in the document. A schema
    type OpenAPI 3.0 does not have (`"null"`) stops the validator: that is an error too."""
    try:
        return {
            tuple(e.absolute_path): e.message[:300]
            for e in OpenAPIV30SpecValidator(document).iter_errors()
        }
    except UnknownType as error:
        return {("<validator stopped>",): str(error)[:300]}
