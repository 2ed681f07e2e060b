"""Fleet report speed: `goldenpath fleet report` over REPOS repositories on three releases.

    make bench-fleet-report [REPOS=200] [ROUNDS=3]

Renders a few services at each of the newest three releases of a throw-away template repository
with real release tags (devkit/releases.py), from its `file://` URL as users scaffold, with
varied answers (GitHub and GitLab), then fills the fleet to REPOS repositories with copies of those
renders, each its own git repository with its own commits: one in five with a team edit to a
template-owned file, one in ten lacking one. Copies cost the report what distinct services cost
(it reads each with git and renders each release once, whatever the names). Then times `goldenpath
fleet report --discover` over the fleet ROUNDS times, recording wall time, CPU, the CPU the rest of
the machine used meanwhile and the load average, checks every report against its schema and its
figures against the fleet, and writes benchmarks/results/fleet-report.json and fleet-report.md.
The goal: at most 60 s for 200 repositories on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

import jsonschema

from benchmarks.fleet.run import measured, summary
from devkit.fleet import run_report
from devkit.machine import machine, now, package_versions
from devkit.project import commit_all
from devkit.releases import CANDIDATE, TAGS, tagged_template, template_url
from goldenpath.render import render

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "benchmarks" / "work" / "fleet-report"
RESULTS = ROOT / "benchmarks" / "results"
SCHEMA = json.loads((ROOT / "docs/reference/fleet-overview.schema.json").read_text())
GOAL_SECONDS = 60
RELEASES = TAGS[-3:]
VARIANTS = [
    {"owner_team": "payments"},
    {"owner_team": "search", "ci_provider": "gitlab"},
    {"owner_team": "risk", "min_replicas": 1, "max_replicas": 4},
    {"owner_team": "growth", "slo_availability": 99.5},
]


def generate(url: str, root: Path, count: int) -> dict[str, int]:
    """REPOS repositories below root; the number on each release."""
    seeds = WORK / "seeds"
    bases = []
    for release in RELEASES:
        for index, answers in enumerate(VARIANTS):
            name = f"svc-{release.replace('.', '-')}-{index}"
            bases.append(
                (
                    release,
                    render(
                        seeds / name, {"service_name": name, **answers}, src=url, vcs_ref=release
                    ),
                )
            )
    on_release = dict.fromkeys(RELEASES, 0)
    for index in range(count):
        release, base = bases[index % len(bases)]
        repo = root / f"repo-{index:03d}"
        shutil.copytree(base, repo, symlinks=True)
        commit_all(repo, f"Scaffold at {release}")
        if index % 5 == 1:
            makefile = repo / "Makefile"
            makefile.write_text(makefile.read_text() + "\n# the team's own line\n")
            commit_all(repo, "Team edits a template-owned file")
        if index % 10 == 3:
            (repo / "renovate.json").unlink(missing_ok=True)
            (repo / ".dockerignore").unlink()
            commit_all(repo, "Team deletes a template-owned file")
        on_release[release] += 1
    return on_release


def fleet_report(root: Path) -> dict:
    out = root.parent / f"{root.name}-report"
    done = run_report(root, out)
    if done.returncode != 0:
        raise SystemExit(f"goldenpath fleet report failed:\n{done.stderr[-3000:]}")
    report = json.loads((out / "fleet.json").read_text())
    jsonschema.validate(report, SCHEMA)
    return {
        "repos": report["totals"]["repos"],
        "renders": report["renders"],
        "versions": report["totals"]["versions"],
        "errors": report["totals"]["errors"],
        "changed": report["totals"]["changed_template_files"],
        "missing": report["totals"]["missing_template_files"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=200, help="repositories (default: 200)")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs (default: 3)")
    args = parser.parse_args(argv)
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    url = template_url(tagged_template(WORK / "template"))
    root = WORK / "fleet"
    print(f"generating {args.repos} repositories on {', '.join(RELEASES)}", file=sys.stderr)
    on_release = generate(url, root, args.repos)
    runs = []
    for round_ in range(args.rounds):
        print(f"round {round_ + 1}: goldenpath fleet report", file=sys.stderr, flush=True)
        runs.append(measured(fleet_report, root))
    counts = runs[-1]["counts"]
    expected = {
        "repos": args.repos,
        "renders": len(RELEASES) * 2,  # GitHub and GitLab at each release
        "versions": on_release,
        "errors": 0,
        "changed": sum(1 for i in range(args.repos) if i % 5 == 1),
        "missing": sum(1 for i in range(args.repos) if i % 10 == 3),
    }
    right = all(r["counts"] == expected for r in runs)
    median = statistics.median(r["seconds"] for r in runs)
    result = {
        "machine": machine(),
        "versions": package_versions("copier", "goldenpath"),
        "date": now(),
        "repos": args.repos,
        "releases": RELEASES,
        "rounds": args.rounds,
        "runs": runs,
        "expected": expected,
        "figures_right": right,
        "median_seconds": median,
        "goal": {"seconds_at_most": GOAL_SECONDS, "met": median <= GOAL_SECONDS and right},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fleet-report.json").write_text(json.dumps(result, indent=2) + "\n")
    m = result["machine"]
    loads = [x for r in runs for x in r["load_avg"]]
    lines = [
        "# Fleet report speed",
        "",
        f"Measured {result['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB,"
        " shared with other work: `other load` is the CPU the rest of the machine used during"
        " each run.",
        f"copier {result['versions']['copier']}; `goldenpath fleet report --discover` over"
        f" {args.repos} repositories on {', '.join(RELEASES)} ({on_release}); {args.rounds} rounds;"
        " median (range).",
        *(
            [
                f"{CANDIDATE} is the working tree under test, tagged as the next release in the"
                " throw-away template repository (devkit/releases.py)."
            ]
            if CANDIDATE in RELEASES
            else []
        ),
        "",
        "| seconds | per repository | CPU s | other load, cores | load avg | renders |",
        "|---|---|---|---|---|---|",
        f"| {summary([r['seconds'] for r in runs])} | {median / args.repos:.3f} s"
        f" | {summary([r['cpu_s'] for r in runs])}"
        f" | {summary([r['other_load_cores'] for r in runs])}"
        f" | {min(loads)}-{max(loads)} | {counts['renders']} |",
        "",
        f"Goal at most {GOAL_SECONDS} s: {'met' if result['goal']['met'] else 'NOT met'};"
        f" every report validated against its schema, figures"
        f" {'as the fleet was built' if right else f'WRONG: {counts} against {expected}'}.",
    ]
    (RESULTS / "fleet-report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if right else 1


if __name__ == "__main__":
    sys.exit(main())
