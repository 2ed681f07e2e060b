"""A mixed fleet for the fleet report's tests: repositories current and behind, edited, missing a
template-owned file, with an update waiting, on a commit that is no release, not made from the
template, broken, and not a git repository; each scaffolded from the template's URL."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from .project import commit_all, git, goldenpath, scaffold_at
from .releases import NEW, OLD, PREVIOUS, TAGS

# The release's repository policies, in the template's tree.
TEMPLATE = "templates/model-service"
POLICIES = "policies/repository.py"


@dataclass(frozen=True)
class Expected:
    """What the report must say about one repository."""

    on_template: bool = True
    owner: str | None = None
    behind: int | None = None
    changed: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    renovate: bool = True
    pending: tuple[str, ...] = ()
    error: str | None = None  # a fragment of the row's reason
    rendered: tuple[str, str] | None = None  # (template ref, ci_provider) rendered for it
    # The repository policies it fails (sorted ids); None: not checked (its release has none).
    policies_failed: tuple[str, ...] | None = None


def behind(ref: str) -> int:
    return len(TAGS) - 1 - TAGS.index(ref)


def scaffold(url: str, dst: Path, ref: str, **answers) -> Path:
    """A repository named after its folder, scaffolded at ref (devkit.project.scaffold_at)."""
    return scaffold_at(url, dst, ref, **{"service_name": dst.name, **answers})


def run_report(root: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """`goldenpath fleet report --discover root` writing out/fleet.json and out/fleet.html."""
    return goldenpath(
        "fleet", "report", "--discover", str(root),
        "--json", str(out / "fleet.json"), "--html", str(out / "fleet.html"),
    )  # fmt: skip


def mixed_fleet(url: str, root: Path) -> dict[str, Expected]:
    """Builds the fleet below root; name -> what the report must say."""
    fleet: dict[str, Expected] = {}
    template = Path(url.removeprefix("file://"))

    def passes(ref: str) -> tuple[str, ...] | None:
        """() when the release at ref ships repository policies (all pass), else None."""
        shipped = git(template, "ls-tree", "--name-only", ref, f"{TEMPLATE}/{POLICIES}")
        return () if shipped else None

    scaffold(url, root / "svc-current", NEW, owner_team="payments")
    fleet["svc-current"] = Expected(
        owner="payments", behind=0, rendered=(NEW, "github"), policies_failed=passes(NEW)
    )
    scaffold(url, root / "svc-previous", PREVIOUS, owner_team="payments")
    fleet["svc-previous"] = Expected(
        owner="payments",
        behind=behind(PREVIOUS),
        rendered=(PREVIOUS, "github"),
        policies_failed=passes(PREVIOUS),
    )
    scaffold(url, root / "svc-old", OLD, owner_team="search", ci_provider="gitlab")
    fleet["svc-old"] = Expected(
        owner="search",
        behind=behind(OLD),
        rendered=(OLD, "gitlab"),
        policies_failed=passes(OLD),
    )

    # A team edits the Makefile, and gives CODEOWNERS to another team: GP_REPO_1 fails.
    repo = scaffold(url, root / "svc-edited", NEW, owner_team="search")
    makefile = repo / "Makefile"
    makefile.write_text(makefile.read_text() + "\n# the team's own line\n")
    codeowners = repo / "CODEOWNERS"
    codeowners.write_text(codeowners.read_text().replace("/search", "/someone-else"))
    commit_all(repo, "Team edits two template-owned files")
    fleet["svc-edited"] = Expected(
        owner="search",
        behind=0,
        changed=("CODEOWNERS", "Makefile"),
        rendered=(NEW, "github"),
        policies_failed=None if passes(NEW) is None else ("GP_REPO_1",),
    )

    repo = scaffold(url, root / "svc-deleted", NEW, owner_team="risk")
    (repo / "renovate.json").unlink()
    commit_all(repo, "Team drops Renovate")
    fleet["svc-deleted"] = Expected(
        owner="risk",
        behind=0,
        missing=("renovate.json",),
        renovate=False,
        rendered=(NEW, "github"),
        policies_failed=passes(NEW),
    )

    repo = scaffold(url, root / "svc-pending", OLD, owner_team="risk")
    branch = f"template-update-{NEW}"
    git(repo, "checkout", "--quiet", "-b", branch)
    (repo / "UPDATE.md").write_text("the update, waiting for review\n")
    commit_all(repo, "A template update waiting to be merged")
    git(repo, "checkout", "--quiet", "main")
    # Before v0.4.0 only GitLab repositories got a renovate.json.
    fleet["svc-pending"] = Expected(
        owner="risk",
        behind=behind(OLD),
        pending=(branch,),
        renovate=False,
        rendered=(OLD, "github"),
        policies_failed=passes(OLD),
    )

    between = f"{TAGS[1]}~1"
    repo = scaffold(url, root / "svc-between", between, owner_team="search")
    recorded = str(git(repo, "show", "HEAD:.copier-answers.yml"))
    commit = next(
        line.split(":", 1)[1].strip()
        for line in recorded.splitlines()
        if line.startswith("_commit:")
    )
    fleet["svc-between"] = Expected(
        owner="search",
        behind=behind(OLD),
        renovate=False,
        error="which is no release",
        rendered=(commit, "github"),
    )

    repo = scaffold(url, root / "svc-unknown-commit", NEW, owner_team="risk")
    answers = repo / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace(f"_commit: {NEW}", "_commit: 0123abc"))
    commit_all(repo, "An answers file naming a commit the template lacks")
    fleet["svc-unknown-commit"] = Expected(owner="risk", error="the template does not have it")

    repo = scaffold(url, root / "svc-broken", NEW)
    (repo / ".copier-answers.yml").write_text("not: [valid\n")
    commit_all(repo, "Broken answers")
    fleet["svc-broken"] = Expected(error="not valid YAML", renovate=False)

    not_git = root / "not-git"
    not_git.mkdir()
    (not_git / ".copier-answers.yml").write_text(f"_src_path: {url}\n_commit: {NEW}\n")
    fleet["not-git"] = Expected(error="not a git repository", renovate=False)

    plain = root / "plain-repo"
    plain.mkdir()
    (plain / "README.md").write_text("A service made before the golden path.\n")
    commit_all(plain, "A repository not made from the template")
    fleet["plain-repo"] = Expected(on_template=False, renovate=False)
    return fleet
