"""Fleet update speed: a plain serial `copier update` loop against `goldenpath fleet update`.

    make bench-fleet [REPOS=50] [JOBS=2]

Generates REPOS service repositories at v0.1.0 of a throw-away template repository with real
release tags (tests/support/releases.py), with varied answers and a team edit each, and copies the
set, so both contenders start from identical repositories. Then, in the same run on this machine:

- baseline: `copier update --trust --defaults --vcs-ref v0.2.0` in each repository, one after the
  other, as a platform engineer would script it (no branches, commits or conflict checks);
- goldenpath: `goldenpath fleet update --jobs JOBS --to v0.2.0` over the copy (a branch, conflict
  detection, a commit with provenance and a report for every repository).

Writes benchmarks/results/fleet.json and fleet.md; the report is validated against its schema.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path

import jsonschema

from benchmarks.machine import machine, now, package_versions
from goldenpath.render import render
from tests.support.project import commit_all
from tests.support.releases import NEW, OLD, tagged_template

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "benchmarks" / "work" / "fleet"
RESULTS = ROOT / "benchmarks" / "results"
GOAL_SPEEDUP = 1.8
VARIANTS = [
    {},
    {"ci_provider": "gitlab"},
    {"min_replicas": 1, "max_replicas": 4},
    {"slo_availability": 99.5, "slo_latency_p99_ms": 100},
    {"python_version": "3.12"},
]


def generate(template: Path, root: Path, count: int) -> list[Path]:
    repos = []
    for index in range(count):
        name = f"svc-{index:03d}"
        repo = render(
            root / name,
            {"service_name": name, **VARIANTS[index % len(VARIANTS)]},
            src=template,
            vcs_ref=OLD,
        )
        readme = repo / "README.md"
        readme.write_text(readme.read_text() + f"\n## Team notes\n\nService {index}.\n")
        commit_all(repo, "Scaffold and team notes")
        repos.append(repo)
    return repos


def serial_loop(repos: list[Path]) -> float:
    started = time.monotonic()
    for repo in repos:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "copier",
                "update",
                "--trust",
                "--defaults",
                "--quiet",
                "--vcs-ref",
                NEW,
            ],
            cwd=repo,
            check=True,
            capture_output=True,
        )
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    template = tagged_template(WORK / "template")
    print(f"generating {args.repos} repositories at {OLD}", file=sys.stderr, flush=True)
    baseline_repos = generate(template, WORK / "serial", args.repos)
    shutil.copytree(WORK / "serial", WORK / "goldenpath", symlinks=True)
    ours_root = WORK / "goldenpath"

    print("baseline: serial copier update loop", file=sys.stderr, flush=True)
    serial_s = serial_loop(baseline_repos)
    print(f"goldenpath fleet update --jobs {args.jobs}", file=sys.stderr, flush=True)
    report_path = WORK / "report.json"
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "goldenpath",
            "fleet",
            "update",
            "--discover",
            str(ours_root),
            "--jobs",
            str(args.jobs),
            "--to",
            NEW,
            "--report",
            str(report_path),
        ],
        capture_output=True,
        text=True,
    )
    goldenpath_s = time.monotonic() - started
    report = json.loads(report_path.read_text())
    schema = json.loads(files("goldenpath.fleet").joinpath("report.schema.json").read_text())
    jsonschema.validate(report, schema)
    complete = len(report["repos"]) == args.repos and report["counts"]["updated"] == args.repos
    speedup = serial_s / goldenpath_s
    result = {
        "machine": machine(),
        "versions": package_versions("copier", "goldenpath"),
        "date": now(),
        "repos": args.repos,
        "jobs": args.jobs,
        "serial_s": round(serial_s, 2),
        "goldenpath_s": round(goldenpath_s, 2),
        "speedup": round(speedup, 2),
        "outcomes": report["counts"],
        "goldenpath_exit_status": done.returncode,
        "report_valid": True,
        "report_complete": complete,
        "goal": {"speedup_at_least": GOAL_SPEEDUP, "met": speedup >= GOAL_SPEEDUP and complete},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fleet.json").write_text(json.dumps(result, indent=2) + "\n")
    m = result["machine"]
    table = "\n".join(
        [
            "# Fleet update speed",
            "",
            f"Measured {result['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB.",
            f"copier {result['versions']['copier']}; {args.repos} repositories, {OLD} -> {NEW}.",
            "",
            "| contender | seconds | per repository |",
            "|---|---|---|",
            f"| serial `copier update` loop | {result['serial_s']} "
            f"| {serial_s / args.repos:.2f} s |",
            f"| `goldenpath fleet update --jobs {args.jobs}` | {result['goldenpath_s']} "
            f"| {goldenpath_s / args.repos:.2f} s |",
            "",
            f"Speedup {result['speedup']}x (goal at least {GOAL_SPEEDUP}x: "
            f"{'met' if result['goal']['met'] else 'NOT met'}). Outcomes: {report['counts']};",
            "the report validated against its schema.",
            "",
        ]
    )
    (RESULTS / "fleet.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
