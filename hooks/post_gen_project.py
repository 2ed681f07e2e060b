"""Cookiecutter post-generation hook: render the golden-path template with copier.

Cookiecutter only made the project folder; copier renders exactly what `copier copy` would for the
same answers, from the revision you named with --checkout, else from the newest release tag (what
`copier copy` takes, not the unreleased head of the default branch), and records the template
location you gave in .copier-answers.yml, so `copier update` works later.
"""

import json
import re
import sys
from pathlib import Path

REPO_DIR = Path({{ cookiecutter._repo_dir | tojson }})
TEMPLATE = {{ cookiecutter._template | tojson }}
CHECKOUT = {{ (cookiecutter._checkout or "") | tojson }}
sys.path.insert(0, str(REPO_DIR / "hooks"))

from cookiecutter_bridge import typed_answers  # noqa: E402

# JSON text as a string literal: safe for any answer, quotes and backslashes included.
CONTEXT = json.loads({{ cookiecutter | jsonify | tojson }})


def source_location() -> str:
    """The template as the user named it: a URL or abbreviation as given, a local path made absolute."""
    if re.match(r"^[\w+.-]+://|^[\w.-]+@|^(gh|gl|bb):", TEMPLATE):
        return TEMPLATE
    return str(Path(TEMPLATE).expanduser().resolve())


def revision() -> str | None:
    """--checkout when given; else None, with which copier takes the newest release tag (HEAD
    when the template has none), exactly as `copier copy` does."""
    return CHECKOUT or None


def main() -> int:
    try:
        import copier
    except ImportError:
        print("the golden-path template needs copier next to cookiecutter: pip install copier", file=sys.stderr)
        return 1
    project = Path.cwd()
    (project / ".golden-path-placeholder").unlink(missing_ok=True)
    copier.run_copy(
        str(REPO_DIR),
        str(project),
        data=typed_answers(REPO_DIR, CONTEXT),
        vcs_ref=revision(),
        defaults=True,
        overwrite=True,
        unsafe=True,
        quiet=True,
    )
    answers = project / ".copier-answers.yml"
    text = re.sub(r"^_src_path: .*$", f"_src_path: {source_location()}", answers.read_text(), flags=re.MULTILINE)
    answers.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
