"""The generated CI/CD: real linters and schemas on every answer set, pinned actions, least
privilege, and the consistency invariants (CI calls only Makefile targets that exist; one Python
version and one image name everywhere)."""

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

BIN = Path(sys.executable).parent
PINNED = re.compile(r"^[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")
# The generated repo's own composite action, by its path in the checkout (GitHub Enterprise Server
# and older runners do not know the `$/` self-repository form).
SETUP = "./.github/actions/setup"
SETUP_FILE = ".github/actions/setup/action.yml"
GLUE = re.compile(r'^echo "\w+=\$\(cat build/[\w.-]+\)" >> "?\$GITHUB_OUTPUT"?$')


def tool(repo: Path, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=repo, capture_output=True, text=True
    )


def workflows(repo: Path) -> dict[str, dict]:
    return {
        p.name: yaml.safe_load(p.read_text())
        for p in sorted((repo / ".github/workflows").glob("*.yml"))
    }


def make_targets(repo: Path) -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (repo / "Makefile").read_text(), flags=re.MULTILINE))


def make_calls(command: str) -> list[str]:
    """The targets of every `make ...` in a shell command (variables assignments skipped)."""
    targets = []
    for line in command.splitlines():
        line = line.strip()
        if line.startswith("make "):
            targets += [w for w in line.split()[1:] if "=" not in w and not w.startswith("-")]
    return targets


def test_provider_files(rendered) -> None:
    answers, repo = rendered
    github = answers.get("ci_provider", "github") == "github"
    assert (repo / ".github/workflows/ci.yml").exists() == github
    assert (repo / ".github/dependabot.yml").exists() == github
    assert (repo / ".gitlab-ci.yml").exists() != github
    # Both providers take template releases through Renovate's copier manager; on GitHub,
    # Dependabot keeps the dependency updates and Renovate runs only the copier manager.
    renovate = json.loads((repo / "renovate.json").read_text())
    managers = ["copier"] if github else ["copier", "pep621", "dockerfile", "gitlabci"]
    assert renovate["enabledManagers"] == managers
    assert renovate["ignoreScripts"] is False, "copier update needs --trust for the migrations"
    (template_rule,) = [r for r in renovate["packageRules"] if r["matchManagers"] == ["copier"]]
    assert template_rule["groupName"] == "golden-path template"
    assert template_rule["labels"] == ["template-update"]
    assert template_rule["schedule"]


def test_github_workflows_pass_actionlint_zizmor_and_schema(rendered, tmp_path) -> None:
    answers, repo = rendered
    if answers.get("ci_provider", "github") != "github":
        return
    files = sorted(str(p) for p in (repo / ".github/workflows").glob("*.yml"))
    assert len(files) == 4
    # In a git repository actionlint also checks every use of the repository's own setup action
    # against the action's inputs: a misspelled input is caught (the negative control).
    checkout = tmp_path / "repo"
    shutil.copytree(repo / ".github", checkout / ".github")
    subprocess.run(["git", "init", "-q"], cwd=checkout, check=True)
    lint = tool(checkout, "actionlint", "-no-color")
    assert lint.returncode == 0 and lint.stdout == "", lint.stdout + lint.stderr
    ci = checkout / ".github/workflows/ci.yml"
    ci.write_text(ci.read_text().replace('scanners: "true"', 'scaners: "true"', 1))
    lint = tool(checkout, "actionlint", "-no-color")
    assert lint.returncode == 1 and 'input "scaners" is not defined' in lint.stdout, lint.stdout
    audit = tool(repo, "zizmor", "--offline", "--format", "plain", ".github")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "No findings to report" in audit.stdout + audit.stderr
    schema = tool(repo, "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *files)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    action = tool(repo, "check-jsonschema", "--builtin-schema", "vendor.github-actions", SETUP_FILE)
    assert action.returncode == 0, action.stdout + action.stderr
    dependabot = tool(
        repo, "check-jsonschema", "--builtin-schema", "vendor.dependabot", ".github/dependabot.yml"
    )
    assert dependabot.returncode == 0, dependabot.stdout
    ecosystems = {
        u["package-ecosystem"]
        for u in yaml.safe_load((repo / ".github/dependabot.yml").read_text())["updates"]
    }
    assert ecosystems == {"uv", "github-actions", "docker"}


def test_github_actions_are_pinned_and_least_privileged(rendered) -> None:
    answers, repo = rendered
    if answers.get("ci_provider", "github") != "github":
        return
    text = "\n".join(p.read_text() for p in (repo / ".github").rglob("*.yml"))
    steps = re.findall(r"^\s+(?:- )?uses: (.+)$", text, flags=re.MULTILINE)
    uses = [u for u in steps if u != SETUP]
    assert uses and all(PINNED.match(u) for u in uses), [u for u in uses if not PINNED.match(u)]
    assert "pull_request_target" not in text
    for name, workflow in workflows(repo).items():
        assert "permissions" in workflow, f"{name}: no top-level permissions"
        assert workflow["permissions"] in ({}, {"contents": "read"}), name
        assert "concurrency" in workflow, name
        for job_name, job in workflow["jobs"].items():
            runs = "\n".join(step.get("run", "") for step in job["steps"])
            wants_oidc = "make sign" in runs or "make kube-auth" in runs
            assert (job.get("permissions", {}).get("id-token") == "write") == wants_oidc, (
                name,
                job_name,
            )
            used = [step.get("uses", "") for step in job["steps"]]
            for step in job["steps"]:
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, (name, job_name)
            if SETUP in used:  # a path reference needs the checkout before it
                checkout = next(i for i, u in enumerate(used) if u.startswith("actions/checkout@"))
                assert checkout < used.index(SETUP), f"{name}/{job_name}: setup before checkout"


def ci_commands(repo: Path) -> list[str]:
    if (repo / ".gitlab-ci.yml").exists():
        config = yaml.safe_load((repo / ".gitlab-ci.yml").read_text())
        return [
            line
            for job in config.values()
            if isinstance(job, dict)
            for line in job.get("script", [])
        ]
    return [
        step["run"]
        for wf in workflows(repo).values()
        for job in wf["jobs"].values()
        for step in job["steps"]
        if "run" in step
    ]


def test_ci_calls_only_makefile_targets_that_exist(rendered) -> None:
    _, repo = rendered
    targets = make_targets(repo)
    called = set()
    for command in ci_commands(repo):
        for line in filter(None, (part.strip() for part in command.splitlines())):
            if line.startswith("make "):
                called.update(make_calls(line))
            else:
                allowed = GLUE.match(line) or line.startswith(('echo "DIGEST=', "buildah login "))
                assert allowed, f"CI runs {line!r}: CI must call Makefile targets"
    assert called, "CI calls no make target"
    assert called <= targets, f"CI calls missing targets: {called - targets}"
    required = {"setup", "lint", "test", "chart", "image", "scan", "sbom", "push", "deploy"}
    required |= {"helm-test", "rollback", "kube-auth", "deployment-record", "template-update"}
    if not (repo / ".gitlab-ci.yml").exists():
        required.add("sign")
    assert required <= called, f"the pipeline never runs {required - called}"


def test_gitlab_pipeline_schema_and_stages(rendered) -> None:
    answers, repo = rendered
    if answers.get("ci_provider", "github") != "gitlab":
        return
    schema = tool(
        repo, "check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", ".gitlab-ci.yml"
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr
    config = yaml.safe_load((repo / ".gitlab-ci.yml").read_text())
    assert config["stages"] == [
        "lint",
        "test",
        "build",
        "scan",
        "deploy-staging",
        "deploy-production",
        "rollback",
    ]
    production = config["deploy-production"]
    assert production["environment"]["name"] == "production"
    assert production["rules"][0]["when"] == "manual"
    assert config["deploy-staging"]["environment"]["name"] == "staging"
    assert "KUBE_ID_TOKEN" in config[".deploy"]["id_tokens"], "cluster access through OIDC"


def test_python_version_and_image_name_agree_everywhere(rendered) -> None:
    answers, repo = rendered
    python = answers.get("python_version", "3.11")
    assert f"ARG BASE_IMAGE=python:{python}-slim" in (repo / "Dockerfile").read_text()
    pyproject = tomllib.loads((repo / "pyproject.toml").read_text())
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + python.replace(".", "")
    low = pyproject["project"]["requires-python"].removeprefix(">=")
    assert tuple(map(int, low.split("."))) <= tuple(map(int, python.split(".")))
    service = answers.get("service_name", "iris-classifier")
    chart_values = yaml.safe_load((repo / f"deploy/helm/{service}/values.yaml").read_text())
    repository = chart_values["image"]["repository"]
    if (repo / ".gitlab-ci.yml").exists():
        config = yaml.safe_load((repo / ".gitlab-ci.yml").read_text())
        # The job image is pinned to the uv the Dockerfile builds with, and the project's Python.
        uv = re.search(r"^ARG UV_VERSION=(\S+)$", (repo / "Dockerfile").read_text(), re.MULTILINE)
        assert uv, "the Dockerfile pins uv (ARG UV_VERSION)"
        python_image = f"ghcr.io/astral-sh/uv:{uv[1]}-python{python}-bookworm-slim"
        assert config["variables"]["PYTHON_IMAGE"] == python_image
        assert config["variables"]["IMAGE"].split(":")[0] == repository
    else:
        action = yaml.safe_load((repo / SETUP_FILE).read_text())
        setup_uv = [s for s in action["runs"]["steps"] if "setup-uv" in s["uses"]]
        assert [s["with"]["python-version"] for s in setup_uv] == [python]
        for name, workflow in workflows(repo).items():
            for job in workflow["jobs"].values():
                for step in job["steps"]:
                    assert "setup-uv" not in step.get("uses", ""), f"{name}: uses {SETUP}"
                image = job.get("env", {}).get("IMAGE")
                if image:
                    assert image.rsplit(":", 1)[0] == repository, (name, image)
    assert f"IMAGE_REPO := {repository}" in (repo / "Makefile").read_text()
