"""Fleet update speed: a plain serial `copier update` loop against `goldenpath fleet update`.

    make bench-fleet [REPOS=20] [JOBS=2] [ROUNDS=3] [COMPARE=<git ref>]

Generates REPOS service repositories at the oldest release of a throw-away template repository
with real release tags (devkit/releases.py: OLD), with varied answers and a team edit each.
Every contender starts each round from its own copy of that set, updating it to the newest release
(NEW), and the contenders alternate over ROUNDS rounds (the order reversed every other round):

- serial: `copier update --trust --defaults --vcs-ref NEW` in each repository, one after the
  other, as a platform engineer would script it (no branches, commits or conflict checks);
- goldenpath: `goldenpath fleet update --jobs JOBS --to NEW` (a throw-away clone per repository, a
  branch, conflict detection, a commit with provenance, fetched back, and a report);
- with COMPARE: the same command from this repository at that git ref (a worktree), to measure a
  change of the CLI against its predecessor in the same run.

Records per run the wall time, the contender's CPU, the CPU the rest of the machine used meanwhile
and the load average; reports median and range. Every goldenpath report is validated against its
schema. Writes benchmarks/results/fleet.json and fleet.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import sys
import time
from importlib.resources import files
from pathlib import Path

import jsonschema

from devkit.machine import cpu_busy_s, load_average, machine, now, package_versions
from devkit.project import commit_all
from devkit.releases import NEW, OLD, tagged_template
from goldenpath.proc import run
from goldenpath.render import render

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
FLEET_UPDATE = [sys.executable, "-m", "goldenpath", "fleet", "update", "--to", NEW]
COPIER_UPDATE = [sys.executable, "-m", "copier", "update", "--trust", "--defaults", "--quiet"]
SCHEMA = json.loads(files("goldenpath.fleet").joinpath("report.schema.json").read_text())


def generate(template: Path, root: Path, count: int) -> None:
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


def serial_loop(root: Path) -> None:
    for repo in sorted(root.iterdir()):
        run([*COPIER_UPDATE, "--vcs-ref", NEW], cwd=repo, echo=False)


def fleet_update(root: Path, jobs: int, source: Path) -> dict:
    """`goldenpath fleet update` over root with the goldenpath package in source/src."""
    report_path = root.parent / f"{root.name}-report.json"
    run(
        [*FLEET_UPDATE, "--discover", str(root), "--jobs", str(jobs), "--report", str(report_path)],
        env={"PYTHONPATH": str(source / "src")},
        echo=False,
        check=False,
    )
    report = json.loads(report_path.read_text())
    jsonschema.validate(report, SCHEMA)
    return report["counts"]


def measured(action, root: Path) -> dict:
    """Wall time, own CPU, the rest of the machine's CPU and the load, of action(root)."""
    load_before = load_average()
    busy_before = cpu_busy_s()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    counts = action(root)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    other = max(0.0, cpu_busy_s() - busy_before - own)
    return {
        "seconds": round(wall, 2),
        "cpu_s": round(own, 2),
        "other_load_cores": round(other / wall, 2),
        "load_avg": [round(load_before, 2), round(load_average(), 2)],
        "counts": counts,
    }


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compare", metavar="REF", help="also run goldenpath at this git ref")
    args = parser.parse_args(argv)
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    template = tagged_template(WORK / "template")
    print(f"generating {args.repos} repositories at {OLD}", file=sys.stderr, flush=True)
    pristine = WORK / "pristine"
    generate(template, pristine, args.repos)
    contenders = {
        "serial `copier update` loop": serial_loop,
        f"`goldenpath fleet update --jobs {args.jobs}`": lambda root: fleet_update(
            root, args.jobs, ROOT
        ),
    }
    if args.compare:
        old = WORK / "compare"
        run(
            ["git", "worktree", "add", "--force", "--detach", str(old), args.compare],
            cwd=ROOT,
            echo=False,
        )
        contenders[f"same, goldenpath at {args.compare}"] = lambda root: fleet_update(
            root, args.jobs, old
        )
    runs: dict[str, list[dict]] = {name: [] for name in contenders}
    try:
        for round_ in range(args.rounds):
            order = list(contenders) if round_ % 2 == 0 else list(reversed(contenders))
            for index, name in enumerate(order):
                root = WORK / f"round{round_}-{index}"
                shutil.copytree(pristine, root, symlinks=True)
                print(f"round {round_ + 1}: {name}", file=sys.stderr, flush=True)
                runs[name].append(measured(contenders[name], root))
                shutil.rmtree(root)
                # Outside the timing: each update re-locks, and behind a proxy that sends no
                # freshness headers uv downloads the pyspark sdist again every time and keeps
                # each copy (about 1.4 GB unpacked) as a dangling cache entry; prune drops them.
                if shutil.which("uv"):
                    run(["uv", "cache", "prune", "--quiet"], echo=False, check=False)
    finally:
        if args.compare:
            worktree = str(WORK / "compare")
            run(["git", "worktree", "remove", "--force", worktree], cwd=ROOT, check=False)
    names = list(contenders)
    medians = {name: statistics.median(r["seconds"] for r in runs[name]) for name in names}
    speedup = medians[names[0]] / medians[names[1]]
    complete = all(r["counts"] and r["counts"]["updated"] == args.repos for r in runs[names[1]])
    result = {
        "machine": machine(),
        "versions": package_versions("copier", "goldenpath"),
        "date": now(),
        "repos": args.repos,
        "jobs": args.jobs,
        "rounds": args.rounds,
        "from": OLD,
        "to": NEW,
        "runs": runs,
        "speedup": round(speedup, 2),
        "goal": {"speedup_at_least": GOAL_SPEEDUP, "met": speedup >= GOAL_SPEEDUP and complete},
    }
    if args.compare:
        result["compare"] = {
            "ref": args.compare,
            "ratio_to_ref": round(medians[names[1]] / medians[names[2]], 2),
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fleet.json").write_text(json.dumps(result, indent=2) + "\n")
    m = result["machine"]
    lines = [
        "# Fleet update speed",
        "",
        f"Measured {result['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB,"
        " shared with other work: `other load` is the CPU the rest of the machine used during"
        " each run.",
        f"copier {result['versions']['copier']}; {args.repos} repositories, {OLD} -> {NEW};"
        f" {args.rounds} rounds, contenders alternating; median (range).",
        "",
        "| contender | seconds | per repository | CPU s | other load, cores | load avg |",
        "|---|---|---|---|---|---|",
    ]
    for name in names:
        seconds = [r["seconds"] for r in runs[name]]
        loads = [x for r in runs[name] for x in r["load_avg"]]
        lines.append(
            f"| {name} | {summary(seconds)} | {medians[name] / args.repos:.2f} s"
            f" | {summary([r['cpu_s'] for r in runs[name]])}"
            f" | {summary([r['other_load_cores'] for r in runs[name]])}"
            f" | {min(loads)}-{max(loads)} |"
        )
    lines += [
        "",
        f"Speedup {result['speedup']}x (goal at least {GOAL_SPEEDUP}x: "
        f"{'met' if result['goal']['met'] else 'NOT met'}); every goldenpath report validated"
        f" against its schema, outcomes {runs[names[1]][-1]['counts']}.",
    ]
    if args.compare:
        lines.append(
            f"goldenpath now takes {result['compare']['ratio_to_ref']}x the time it took at"
            f" {args.compare} (median against median, same run)."
        )
    (RESULTS / "fleet.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
