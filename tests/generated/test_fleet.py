"""The fleet CLI over a dozen real repos generated at an older release: status, update with
--jobs 2 (every outcome classified, default branches untouched, the report valid against its
schema), and the GitHub pull-request pusher against a local fake (`goldenpath verify`:
tests/render/test_monitoring.py and test_cli.py)."""

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from importlib.resources import files
from pathlib import Path
from typing import ClassVar

import jsonschema
import pytest

from devkit.project import commit_all, git, goldenpath, scaffold_at
from devkit.releases import NEW, OLD, TAGS, tagged_template, template_url

SCHEMA = json.loads(files("goldenpath.fleet").joinpath("report.schema.json").read_text())


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return tagged_template(tmp_path_factory.mktemp("releases") / "template")


def scaffold(template: Path, dst: Path, ref: str = OLD, **answers) -> Path:
    """A repo scaffolded from the template's URL, as the README and the Renovate how-to say."""
    return scaffold_at(template_url(template), dst, ref, **answers)


def edit(repo: Path, path: str, old: str, new: str, message: str) -> None:
    target = repo / path
    text = target.read_text()
    assert old in text, f"{path} has no {old!r}"
    target.write_text(text.replace(old, new))
    commit_all(repo, message)


@pytest.fixture(scope="module")
def fleet(template, tmp_path_factory) -> dict[str, tuple[Path, str]]:
    """name -> (repo, expected outcome)."""
    root = tmp_path_factory.mktemp("fleet")
    repos: dict[str, tuple[Path, str]] = {}
    variants = [
        {"ci_provider": "gitlab", "slo_availability": 99.5},
        {"min_replicas": 1, "max_replicas": 3},
        {"python_version": "3.12", "slo_latency_p99_ms": 100},
        {"owner_team": "payments", "k8s_namespace": "payments"},
        {"slo_availability": 99.99},
        {"container_registry": "registry.example.org/ml"},
    ]
    for index, answers in enumerate(variants):
        name = f"svc-{index:02d}"
        repo = scaffold(template, root / name, service_name=name, **answers)
        edit(
            repo,
            "README.md",
            "## Quickstart",
            "## Team notes\n\nOn call: #ml.\n\n## Quickstart",
            "Notes",
        )
        repos[name] = (repo, "updated")
    # Edits of lines that the newer releases rewrite in template-owned files: conflicts.
    for name, path, old, line in (
        ("svc-conflict-a", "Makefile", "RUN := $(UV) run --locked\n", "RUN := $(UV) run\n"),
        (
            "svc-conflict-b",
            "src/svc_conflict_b/service.py",
            "the contract is in schema.py",
            "the contract is in our schema.py",
        ),
    ):
        repo = scaffold(template, root / name, service_name=name)
        edit(repo, path, old, line, "Team edits a platform file")
        repos[name] = (repo, "conflicts")
    repo = scaffold(template, root / "svc-current", ref=NEW, service_name="svc-current")
    repos["svc-current"] = (repo, "up_to_date")
    repo = scaffold(template, root / "svc-dirty", service_name="svc-dirty")
    (repo / "README.md").write_text("work in progress\n")
    repos["svc-dirty"] = (repo, "failed")
    repo = scaffold(template, root / "svc-check", service_name="svc-check")
    (repo / "FAILME").write_text("the --check command fails on this repo\n")
    commit_all(repo, "Marker for the check")
    repos["svc-check"] = (repo, "check_failed")
    repo = scaffold(template, root / "svc-broken", service_name="svc-broken")
    (repo / ".copier-answers.yml").write_text("not: [valid\n")
    commit_all(repo, "Broken answers")
    repos["svc-broken"] = (repo, "failed")
    return repos


def heads(fleet) -> dict[str, str]:
    return {name: git(repo, "rev-parse", "main") for name, (repo, _) in fleet.items()}


def test_status_lists_versions_and_dirtiness(fleet, template) -> None:
    root = next(iter(fleet.values()))[0].parent
    done = goldenpath("fleet", "status", "--discover", str(root), "--json")
    rows = {Path(r["repo"]).name: r for r in json.loads(done.stdout)}
    assert set(rows) == set(fleet)
    assert rows["svc-00"]["current"] == OLD and rows["svc-00"]["latest"] == NEW
    assert rows["svc-00"]["behind"] == len(TAGS) - 1 and rows["svc-current"]["behind"] == 0
    assert rows["svc-dirty"]["dirty"] is True and rows["svc-00"]["dirty"] is False
    assert rows["svc-00"]["template"] == template_url(template)
    assert "not valid YAML" in rows["svc-broken"]["error"]
    assert done.returncode == 1, "a broken repo makes status fail"
    table = goldenpath("fleet", "status", str(fleet["svc-00"][0])).stdout
    assert "svc-00" in table and OLD in table and NEW in table


def test_status_names_the_version_of_an_untagged_copy(template, tmp_path) -> None:
    """A copy made between releases records a bare commit; status names its version from the
    template's tags, as `copier check-update` does, and counts the releases after it."""
    repo = scaffold(template, tmp_path / "between", ref=f"{TAGS[1]}~1", service_name="between")
    (row,) = json.loads(goldenpath("fleet", "status", str(repo), "--json").stdout)
    assert row["current"].startswith(f"{OLD}-"), row
    assert row["version"].startswith(f"{OLD[1:]}.post"), row
    assert row["behind"] == len(TAGS) - 1, row


def test_fleet_update_classifies_every_repo(fleet, tmp_path) -> None:
    before = heads(fleet)
    listing = tmp_path / "repos.txt"
    listing.write_text("# the fleet\n" + "\n".join(str(repo) for repo, _ in fleet.values()) + "\n")
    report_file = tmp_path / "report.json"
    done = goldenpath(
        "fleet",
        "update",
        "--repos-file",
        str(listing),
        "--jobs",
        "2",
        "--json",
        "--check",
        "test ! -f FAILME && touch CHECK_RAN && echo 'Checked.' >> README.md",
        "--report",
        str(report_file),
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    jsonschema.validate(report, SCHEMA)
    assert json.loads(report_file.read_text()) == report
    outcomes = {Path(r["repo"]).name: r for r in report["repos"]}
    for name, (repo, expected) in fleet.items():
        entry = outcomes[name]
        # The reason first: a long entry is cut in the assertion message.
        assert entry["outcome"] == expected, (name, entry.get("reason"), entry)
        assert git(repo, "rev-parse", "main") == before[name], f"{name}: default branch moved"
        assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"
        if name != "svc-dirty":
            assert git(repo, "status", "--porcelain") == "", f"{name} left dirty"
    assert report["counts"] == {
        "up_to_date": 1,
        "pending": 0,
        "updated": 6,
        "conflicts": 2,
        "check_failed": 1,
        "failed": 2,
    }
    assert outcomes["svc-conflict-a"]["files"] == ["Makefile"]
    assert outcomes["svc-conflict-b"]["files"] == ["src/svc_conflict_b/service.py"]
    assert "uncommitted changes" in outcomes["svc-dirty"]["reason"]
    assert (fleet["svc-dirty"][0] / "README.md").read_text() == "work in progress\n"
    assert outcomes["svc-check"]["reason"].startswith("`test ! -f FAILME && touch CHECK_RAN")
    for name, (repo, _) in fleet.items():
        # The update and its check ran in a throw-away clone: nothing the check wrote reaches
        # the checkout or the committed branch.
        assert not (repo / "CHECK_RAN").exists(), f"{name}: the check ran in the checkout"
    for name in ("updated", "conflicts", "check_failed", "failed", "up_to_date"):
        assert f"{name} (" in done.stderr, f"no {name} group in the summary"
    updated_repo = fleet["svc-00"][0]
    branch = f"template-update-{NEW}"
    message = git(updated_repo, "log", "-1", "--format=%B", branch)
    assert f"Template-Update: {OLD} -> {NEW}" in message
    assert "Team notes" in git(updated_repo, "show", f"{branch}:README.md")
    # What the check changed in tracked files is committed (as `make openapi` regenerates a
    # document); a new file it leaves behind is not.
    assert git(updated_repo, "show", f"{branch}:README.md").endswith("Checked.")
    assert "CHECK_RAN" not in git(updated_repo, "ls-tree", "--name-only", branch)
    assert "preStopSleepSeconds: 10" in git(
        updated_repo, "show", f"{branch}:deploy/helm/svc-00/values.yaml"
    )
    for name in ("svc-conflict-a", "svc-check"):
        assert git(fleet[name][0], "branch", "--list", branch) == "", f"{name}: branch left behind"


def test_dry_run_changes_nothing(template, tmp_path) -> None:
    repo = scaffold(template, tmp_path / "svc-dry", service_name="svc-dry")
    head = git(repo, "rev-parse", "HEAD")
    done = goldenpath("fleet", "update", str(repo), "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    (entry,) = json.loads(done.stdout)["repos"]
    assert entry["outcome"] == "updated" and entry["published"] is None
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "branch", "--list", "template-update-*") == ""


class FakeGitHub(BaseHTTPRequestHandler):
    calls: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeGitHub.calls.append({"path": self.path, "auth": self.headers["Authorization"], **body})
        answer = json.dumps({"html_url": f"http://127.0.0.1/pull/{len(FakeGitHub.calls)}"}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args) -> None:
        pass


def test_github_pusher_pushes_the_branch_and_opens_a_pull_request(template, tmp_path) -> None:
    repo = scaffold(template, tmp_path / "svc-gh", service_name="svc-gh")
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    git(repo, "remote", "add", "origin", str(remote))
    server = HTTPServer(("127.0.0.1", 0), FakeGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        done = goldenpath(
            "fleet",
            "update",
            str(repo),
            "--push",
            "github",
            "--json",
            "--github-api",
            f"http://127.0.0.1:{server.server_port}",
            "--github-repo",
            "acme/svc-gh",
            env={**__import__("os").environ, "GITHUB_TOKEN": "test-token"},
        )
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    (entry,) = json.loads(done.stdout)["repos"]
    assert entry["published"] == "http://127.0.0.1/pull/1"
    (call,) = FakeGitHub.calls
    assert call["path"] == "/repos/acme/svc-gh/pulls"
    assert call["auth"] == "Bearer test-token"
    assert call["head"] == f"template-update-{NEW}" and call["base"] == "main"
    pushed = subprocess.run(
        ["git", "rev-parse", f"refs/heads/template-update-{NEW}"],
        cwd=remote,
        capture_output=True,
        text=True,
    )
    assert pushed.stdout.strip() == entry["commit"]
    assert "test-token" not in done.stdout + done.stderr
