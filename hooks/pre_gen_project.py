"""Cookiecutter pre-generation hook: reject bad answers with the copier validators' own messages."""

import json
import sys
from pathlib import Path

REPO_DIR = Path({{ cookiecutter._repo_dir | tojson }})
sys.path.insert(0, str(REPO_DIR / "hooks"))

from cookiecutter_bridge import typed_answers, violations  # noqa: E402

# JSON text as a string literal: safe for any answer, quotes and backslashes included.
CONTEXT = json.loads({{ cookiecutter | jsonify | tojson }})

problems = violations(REPO_DIR, typed_answers(REPO_DIR, CONTEXT))
for question, message in problems.items():
    print(f"Validation error for question '{question}': {message}", file=sys.stderr)
sys.exit(1 if problems else 0)
