"""Every answer set renders into a repo whose files all parse, whose Python is lint-clean and
formatted, and whose lock file is valid for its pyproject.toml."""

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from jinja2.utils import htmlsafe_json_dumps

from tools.golden import files_of, read_entry

# Jinja left behind; "{{ $value }}" (Prometheus) and "${{ }}" (GitHub Actions) are meant to stay.
# Grafana legends name labels as {{ label }}: those are meant to stay too.
GRAFANA_LEGEND = re.compile(r'"legendFormat": "\{\{ [a-z_]+ \}\}(=\{\{ [a-z_]+ \}\})?"')
UNRENDERED = re.compile(r"(?<!\$)\{\{(?!\s*\$)|\{%|\{#|%\}|#\}")


def is_helm_template(rel: Path) -> bool:
    """Helm's own Go templates, copied verbatim: their {{ }} are Helm's, not unrendered Jinja."""
    return rel.parts[:2] == ("deploy", "helm") and "templates" in rel.parts


def answer_texts(answers: dict) -> list[str]:
    """The ways an answer may legitimately appear in output (as typed, and JSON-quoted)."""
    texts = [str(v) for v in answers.values()]
    quoted = {str(htmlsafe_json_dumps(t))[1:-1] for t in texts}
    quoted |= {json.dumps(t, ensure_ascii=False)[1:-1] for t in texts}
    quoted |= {q.replace("$", "\\$") for q in quoted}  # Dockerfile LABEL values escape "$"
    return sorted({*texts, *quoted}, key=len, reverse=True)


def test_nothing_is_left_unrendered(rendered) -> None:
    answers, repo = rendered
    for rel in files_of(repo):
        if rel.name == ".copier-answers.yml" or is_helm_template(rel):
            continue
        text = read_entry(repo / rel)
        for value in answer_texts(answers):
            text = text.replace(value, "")
        text = GRAFANA_LEGEND.sub("", text)
        match = UNRENDERED.search(text)
        assert match is None, (
            f"{rel}: unrendered Jinja near {text[match.start() - 40 : match.end() + 40]!r}"
        )


def test_every_structured_file_parses(rendered) -> None:
    _, repo = rendered
    parsed = 0
    for rel in files_of(repo):
        path = repo / rel
        if is_helm_template(rel):
            continue  # YAML only once Helm renders it: tests/render/test_chart.py covers it
        if path.suffix in {".yml", ".yaml"}:
            list(yaml.safe_load_all(path.read_text()))
        elif path.suffix == ".toml" or path.name == "uv.lock":
            tomllib.loads(path.read_text())
        elif path.suffix == ".json":
            json.loads(path.read_text())
        else:
            continue
        parsed += 1
    assert parsed >= 5


def test_answers_file_records_the_answers(rendered) -> None:
    answers, repo = rendered
    recorded = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert Path(recorded["_src_path"]).is_absolute()
    assert recorded["_commit"]
    for key, value in answers.items():
        assert recorded[key] == value, key
    assert "package_name" not in recorded, "computed values are not answers"


def test_package_is_named_after_the_service(rendered) -> None:
    answers, repo = rendered
    service = answers.get("service_name", "iris-classifier")
    package = repo / "src" / service.replace("-", "_")
    assert (package / "service.py").is_file()
    pyproject = tomllib.loads((repo / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == service
    assert pyproject["project"]["description"] == answers.get(
        "description",
        "Classifies iris flowers from four measurements (the golden-path example model).",
    )
    python = answers.get("python_version", "3.11")
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + python.replace(".", "")


def test_python_is_lint_clean_and_formatted(rendered) -> None:
    _, repo = rendered
    for command in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *command], cwd=repo, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr


# The task registry (tasks.py) is the one module that names the task kinds; spec.py re-exports
# them for contracts, and contract.py (the team's) declares one.
TASK_KINDS = {"Classification", "Regression"}
NAME_THE_KINDS = {"tasks.py", "contract.py"}


def task_kinds_named(source: str) -> list[int]:
    """Lines naming a task kind outside an import, or asking is_classifier."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
        if name in TASK_KINDS or (isinstance(node, ast.Attribute) and name == "is_classifier"):
            lines.append(node.lineno)
    return lines


def test_only_the_task_registry_names_the_task_kinds(rendered) -> None:
    _, repo = rendered
    (package,) = (repo / "src").iterdir()
    named = {
        module.name: lines
        for module in sorted(package.glob("*.py"))
        if module.name not in NAME_THE_KINDS and (lines := task_kinds_named(module.read_text()))
    }
    assert named == {}, f"modules that branch on the task kind instead of asking it: {named}"


def test_task_kinds_named_finds_a_branch() -> None:
    planted = "from .spec import Classification\nif isinstance(TASK, Classification):\n    pass\n"
    assert task_kinds_named(planted) == [2]
    assert task_kinds_named("x = CONTRACT.is_classifier\n") == [1]


def test_every_file_the_dockerfile_copies_passes_the_dockerignore(rendered) -> None:
    """.dockerignore lets through only what it names (`*`, then `!path`): a COPY of anything else
    fails the image build."""
    _, repo = rendered
    allowed = [
        line[1:].rstrip("/")
        for line in (repo / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    sources = []
    for line in (repo / "Dockerfile").read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            sources += [w for w in words[1:-1] if not w.startswith("--")]
    assert sources, "no COPY found"
    blocked = [s for s in sources if not any(s == a or s.startswith(a + "/") for a in allowed)]
    assert blocked == [], f"COPY sources .dockerignore keeps out: {blocked}"


MODULE_LINES = 400


def test_every_generated_module_is_under_400_lines(rendered) -> None:
    """The package a team reads most: no module holding several jobs (issue 27)."""
    _, repo = rendered
    long = {
        str(path.relative_to(repo)): lines
        for path in sorted((repo / "src").rglob("*.py"))
        if (lines := len(path.read_text().splitlines())) >= MODULE_LINES
    }
    assert long == {}, f"modules of {MODULE_LINES} lines or more: {long}"


CITED_DECISION = re.compile(r"decision (\d{4})|decisions/(\d{4})-")


def test_every_decision_a_generated_file_cites_is_in_the_repo(rendered) -> None:
    """A comment citing a decision the generated repo does not ship sends its reader nowhere."""
    _, repo = rendered
    shipped = {p.name[:4] for p in (repo / "docs" / "decisions").glob("*.md")}
    cited = {}
    for path in repo.rglob("*"):
        if path.is_file() and ".git" not in path.parts and ".venv" not in path.parts:
            text = path.read_text(errors="replace")
            for match in CITED_DECISION.finditer(text):
                number = match.group(1) or match.group(2)
                if number not in shipped:
                    cited.setdefault(str(path.relative_to(repo)), set()).add(number)
    assert cited == {}, f"files citing decisions the repo does not ship: {cited}"


def test_lock_file_matches_pyproject(rendered) -> None:
    _, repo = rendered
    done = subprocess.run(
        [sys.executable, "-m", "uv", "lock", "--locked"], cwd=repo, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_ruff_of_the_template_repo_is_the_locked_ruff() -> None:
    lock = tomllib.loads(
        (Path(__file__).parents[2] / "templates/includes/uv-mlflow.lock").read_text()
    )
    locked = next(p["version"] for p in lock["package"] if p["name"] == "ruff")
    from importlib.metadata import version

    assert version("ruff") == locked, (
        "pin ruff in pyproject.toml's test extra to the locked version"
    )
