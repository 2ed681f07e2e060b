"""Batch scoring: the generated `make score` job against the script a team would write.

    make bench-batch [ROWS="1000000 10000000"] [ROUNDS=2]

Renders the default service into benchmarks/work/batch/, runs its `make setup train`, installs the
`spark` extra (pandas and pyspark: the naive script needs pandas), and generates Parquet inputs of
each size in ROWS from the contract's own examples (generate.py: files of 250,000 rows by default,
one row group each; every row valid; no feature named by this harness). Then, interleaved over
ROUNDS rounds (the order of the systems alternates from round to round), each system scores each
input once:

- `chunked`: the generated job as its CronJob and `make score` run it
  (`python -m <package>.score --engine local`): chunks of `chunk_rows` (config/scoring.toml),
  every row validated with the service's rules, a folder published at the end;
- `naive`: naive.py, read everything with pandas, predict once, write one Parquet file;
- `spark-local[1]` and `spark-local[2]`: the same job with `--engine spark` and SPARK_MASTER,
  on the smallest input only (`--spark-rows` to change, `--no-spark` to skip);
- with `--baseline REF` (`make bench-batch BASELINE=REF`), `chunked@REF`: the same job rendered
  from this checkout's commit or tag REF and trained there, on the same inputs: the template's
  before and after in one interleaved run.

Each run is one process tree, started in its own session. Measured: wall time from start to exit
(Python start, imports and the model load included: what a scheduler waits for), rows/s over it,
and peak memory two ways: `peak_tree_mib`, the most the whole process tree had resident at once,
summed over every live process of the tree from /proc every 0.1 s (a sample: a spike shorter than
that can be missed), and `max_process_mib`, the kernel's exact high-water mark of the largest
single process the job waited for (wait4's ru_maxrss; Spark's JVM outlives its parent and is
not among them). The goals use the tree figure. Every run also records the
machine's other load: the CPU the rest of the machine used meanwhile (busy CPU minus the job's and
this harness's) and the one-minute load average. Reported: the median and range over rounds.

Last, outside the measured runs, the chunked job once more under cProfile on the smallest input:
the share of its time in each stage (read, rows to Python, validation, encoding, prediction,
output columns, write), to show where its time goes. cProfile inflates Python-level work, so the
shares are indicative.

Goals (issue #17), at the largest size: the chunked job's throughput at least the naive script's,
its peak memory at most 25 % of the naive script's; its peak memory flat as rows grow.
Writes benchmarks/results/batch.json and batch.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import signal
import statistics
import sys
import time
import tomllib
from pathlib import Path

from devkit.machine import (
    cpu_busy_s,
    load_average,
    machine,
    now,
    package_versions,
    tool_version,
    tree_usage,
    venv_versions,
)
from goldenpath.localservice import TrainedRepo, trained_repo
from goldenpath.proc import CommandError, run, spawn

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
WORK = ROOT / "benchmarks" / "work" / "batch"  # git-ignored (benchmarks/work/)
RESULTS = ROOT / "benchmarks" / "results"
POLL_S = 0.1
SETUP_TIMEOUT_S = 1800
GOAL_THROUGHPUT_RATIO = 1.0  # chunked rows/s at least the naive script's
GOAL_MEMORY_RATIO = 0.25  # chunked peak at most 25 % of the naive script's
FLAT_RATIO = 1.25  # "flat": peak at the largest size at most 1.25x the peak at the smallest
SYSTEMS = ("chunked", "naive")
# Stages of the chunked job: (label, file name, function) whose cumulative time cProfile reports.
STAGES = [
    ("job (score.run)", "scoring/run.py", "run"),
    ("model load", "scoring/engines.py", "loaded_model"),
    ("input fingerprint", "scoring/inputs.py", "fingerprint"),
    ("read chunks", "scoring/inputs.py", "batches"),
    ("validation, column by column", "scoring/checks.py", "check_chunk"),
    ("  of which cells to Python rows (flagged rows)", "scoring/checks.py", "feature_rows"),
    ("  of which validation (pydantic, flagged rows)", "scoring/checks.py", "validate"),
    ("predict", "model.py", "predict"),
    ("output columns", "scoring/outputs.py", "prediction_columns"),
    # The writer thread is not seen by cProfile (it profiles the main thread): this is the time
    # the main thread waited for the one-chunk queue to have room.
    ("wait for the writer", "scoring/outputs.py", "put"),
]
PROFILE = """
import json, pstats, sys
stats = pstats.Stats(sys.argv[1]).stats
wanted = json.loads(sys.argv[2])
out = {}
for (path, _, name), (_, _, _, cumulative, _) in stats.items():
    for label, file, function in wanted:
        if path.endswith("/" + file) and name == function:
            out[label] = out.get(label, 0.0) + cumulative
print(json.dumps(out))
"""
SPARK_SYSTEMS = ("spark-local[1]", "spark-local[2]")
PACKAGES = ["bentoml", "pyarrow", "pandas", "pyspark", "numpy", "scikit-learn", "pydantic"]


def sh(*command: str, cwd: Path, env: dict, timeout: float = SETUP_TIMEOUT_S) -> str:
    print("$", " ".join(command), file=sys.stderr, flush=True)
    try:
        return run(list(command), cwd=cwd, env=env, echo=False, timeout=timeout).stdout
    except CommandError as error:  # failed, or took more than timeout seconds
        raise SystemExit(str(error)) from None


def prepare(reuse: bool) -> dict:
    """The rendered, trained default service with the `spark` extra; reused when asked to."""
    ready = WORK / "ready.json"
    if reuse and ready.exists():
        return json.loads(ready.read_text())
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    trained = trained_repo(WORK)
    repo, env = trained.repo, trained.env
    # pandas (the naive script) and pyspark, as `make score ENGINE=spark` installs them on first
    # use; done here so that no measured run pays for it.
    sh("uv", "sync", "--locked", "--all-extras", cwd=repo, env=env)
    state = state_of(trained)
    ready.write_text(json.dumps(state, indent=2) + "\n")
    return state


def prepare_baseline(state: dict, ref: str) -> None:
    """The default service rendered from this checkout at ref and trained, in work/batch/baseline:
    the system `chunked@ref`."""
    folder = WORK / "baseline"
    if folder.exists():
        shutil.rmtree(folder)
    state["baseline"] = state_of(trained_repo(folder, vcs_ref=ref))


def state_of(trained: TrainedRepo) -> dict:
    """What a run of the job needs of a trained repo, as JSON (work/batch/ready.json)."""
    return {
        "repo": str(trained.repo),
        "env": trained.env,
        "tag": trained.model_tag,
        "package": trained.package,
    }


def generate(state: dict, rows: int, rows_per_file: int, reuse: bool) -> dict:
    folder = WORK / "input" / f"{rows}"
    info = folder.with_suffix(".json")
    files = math.ceil(rows / rows_per_file)
    if reuse and info.exists() and json.loads(info.read_text())["files"] == files:
        return json.loads(info.read_text())
    if folder.exists():
        shutil.rmtree(folder)
    python = str(Path(state["repo"]) / ".venv" / "bin" / "python")
    out = sh(
        python,
        str(HERE / "generate.py"),
        state["package"],
        str(folder),
        str(rows),
        str(files),
        cwd=Path(state["repo"]),
        env=state["env"],
    )
    made = {**json.loads(out), "path": str(folder)}
    info.write_text(json.dumps(made) + "\n")
    return made


def command(state: dict, system: str, source: str, output: Path) -> tuple[list[str], dict, str]:
    """The system's command line, its environment and its working folder."""
    if system.startswith("chunked@"):
        state = state["baseline"]
    python = str(Path(state["repo"]) / ".venv" / "bin" / "python")
    env = {**os.environ, **state["env"]}
    if system == "naive":
        output.mkdir(parents=True)
        target = str(output / "scores.parquet")
        argv = [python, str(HERE / "naive.py"), state["package"], state["tag"], source, target]
        return argv, env, state["repo"]
    engine = "local"
    if system.startswith("spark-"):
        engine, env = "spark", {**env, "SPARK_MASTER": system.removeprefix("spark-")}
    job = [python, "-m", f"{state['package']}.score", "--input", source, "--output", str(output)]
    return [*job, "--engine", engine, "--model-tag", state["tag"]], env, state["repo"]


def measure(state: dict, system: str, source: dict, timeout: float, log: Path) -> dict:
    """One run of one system on one input: wall time, peak memory, CPU and the machine's load."""
    output = WORK / "out" / system
    if output.exists():
        shutil.rmtree(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    argv, env, cwd = command(state, system, source["path"], output)
    load_before = load_average()
    busy_before, self_before = cpu_busy_s(), resource.getrusage(resource.RUSAGE_SELF)
    peak_mib = tree_cpu = 0.0
    started = time.monotonic()
    with log.with_suffix(".out").open("w") as out, log.with_suffix(".err").open("w") as err:
        process = spawn(argv, cwd=cwd, env=env, stdout=out, stderr=err, new_session=True)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                raise SystemExit(f"{system} on {source['rows']} rows: over {timeout} s, killed")
            cpu, rss = tree_usage(process.pid)
            peak_mib, tree_cpu = max(peak_mib, rss), max(tree_cpu, cpu)
            time.sleep(POLL_S)
    wall = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    busy = cpu_busy_s() - busy_before
    self_after = resource.getrusage(resource.RUSAGE_SELF)
    harness = (self_after.ru_utime + self_after.ru_stime) - (
        self_before.ru_utime + self_before.ru_stime
    )
    # Reaped descendants count in rusage; a JVM that outlives its parent only in the samples.
    job_cpu = max(usage.ru_utime + usage.ru_stime, tree_cpu)
    if process.returncode != 0:
        raise SystemExit(
            f"{system} on {source['rows']} rows exited {process.returncode}; see {log}.err:\n"
            + log.with_suffix(".err").read_text()[-3000:]
        )
    rows, job_s = check(system, output, log, source["rows"])
    shutil.rmtree(output)
    return {
        "system": system,
        "rows": source["rows"],
        "wall_s": round(wall, 2),
        "rows_per_s": round(source["rows"] / wall),
        "job_s": job_s,
        "peak_tree_mib": round(peak_mib, 1),
        "max_process_mib": round(usage.ru_maxrss / 1024, 1),
        "job_cpu_s": round(job_cpu, 2),
        "job_cpu_cores": round(job_cpu / wall, 2),
        "harness_cpu_s": round(harness, 2),
        # Busy CPU of the whole machine minus the job and this harness: other users' load.
        "other_cpu_cores": round(max(0.0, busy - job_cpu - harness) / wall, 2),
        "load_average": [round(load_before, 2), round(load_average(), 2)],
        "scored": rows,
    }


def check(system: str, output: Path, log: Path, expected: int) -> tuple[int, dict]:
    """Every input row is in the output; the job's own timings."""
    if system == "naive":
        report = json.loads(log.with_suffix(".out").read_text().strip().splitlines()[-1])
        rows, job = report["rows"], {k: v for k, v in report.items() if k != "rows"}
    else:
        record = json.loads((output / "run.json").read_text())
        counts = record["rows"]
        if record["status"] != "succeeded" or counts["rejected"] != 0:
            raise SystemExit(f"{system}: unexpected run record {record}")
        rows, job = counts["scored"], {"duration_seconds": record["duration_seconds"]}
    if rows != expected:
        raise SystemExit(f"{system}: {rows} rows scored, {expected} expected")
    return rows, job


def profile(state: dict, source: dict, timeout: float) -> dict:
    """The chunked job once under cProfile: seconds (cumulative) in each stage."""
    repo, python = Path(state["repo"]), str(Path(state["repo"]) / ".venv" / "bin" / "python")
    output, stats = WORK / "out" / "profile", WORK / "profile.pstats"
    if output.exists():
        shutil.rmtree(output)
    job = ["-m", f"{state['package']}.score", "--input", source["path"], "--output", str(output)]
    sh(
        python,
        "-m",
        "cProfile",
        "-o",
        str(stats),
        *job,
        cwd=repo,
        env=state["env"],
        timeout=timeout,
    )
    shutil.rmtree(output)
    out = sh(python, "-c", PROFILE, str(stats), json.dumps(STAGES), cwd=repo, env=state["env"])
    seconds = json.loads(out)
    return {
        "rows": source["rows"],
        "seconds": {label: round(seconds.get(label, 0.0), 2) for label, _, _ in STAGES},
    }


def summarise(runs: list[dict]) -> list[dict]:
    """Median and range over rounds per (system, rows)."""
    rows = []
    for system, count in dict.fromkeys((r["system"], r["rows"]) for r in runs):
        group = [r for r in runs if r["system"] == system and r["rows"] == count]
        row: dict = {"system": system, "rows": count, "rounds": len(group)}
        for field in (
            "rows_per_s",
            "wall_s",
            "peak_tree_mib",
            "max_process_mib",
            "job_cpu_cores",
            "other_cpu_cores",
        ):
            values = [r[field] for r in group]
            row[field] = round(statistics.median(values), 2)
            row[f"{field}_range"] = [min(values), max(values)]
        loads = [x for r in group for x in r["load_average"]]
        row["load_average_range"] = [min(loads), max(loads)]
        rows.append(row)
    return rows


def goals(summary: list[dict], sizes: list[int]) -> dict:
    def at(system: str, rows: int) -> dict | None:
        return next((r for r in summary if r["system"] == system and r["rows"] == rows), None)

    largest, smallest = max(sizes), min(sizes)
    chunked, naive = at("chunked", largest), at("naive", largest)
    assert chunked and naive
    throughput = chunked["rows_per_s"] / naive["rows_per_s"]
    memory = chunked["peak_tree_mib"] / naive["peak_tree_mib"]
    out = {
        "at_rows": largest,
        "throughput_ratio": round(throughput, 3),
        "throughput_ratio_at_least": GOAL_THROUGHPUT_RATIO,
        "throughput_met": throughput >= GOAL_THROUGHPUT_RATIO,
        "memory_ratio": round(memory, 3),
        "memory_ratio_at_most": GOAL_MEMORY_RATIO,
        "memory_met": memory <= GOAL_MEMORY_RATIO,
    }
    if largest != smallest:
        for system in SYSTEMS:
            big, small = at(system, largest), at(system, smallest)
            assert big and small
            out[f"{system}_peak_growth"] = round(big["peak_tree_mib"] / small["peak_tree_mib"], 2)
        out["flat_growth_at_most"] = FLAT_RATIO
        out["chunked_flat_met"] = out["chunked_peak_growth"] <= FLAT_RATIO
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--rows-per-file", type=int, default=250_000, help="Parquet files of this many rows"
    )
    parser.add_argument("--spark-rows", type=int, help="Spark's input size (default: smallest)")
    parser.add_argument("--no-spark", action="store_true", help="skip Spark local[1]/local[2]")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per run")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the trained repo and inputs in work/batch"
    )
    parser.add_argument("--baseline", help="also run the job as rendered at this commit or tag")
    args = parser.parse_args(argv)
    sizes = sorted(set(args.rows))
    spark_rows = args.spark_rows or sizes[0]
    state = prepare(args.reuse)
    systems = SYSTEMS
    if args.baseline:
        prepare_baseline(state, args.baseline)
        systems = ("chunked", f"chunked@{args.baseline}", "naive")
    inputs = {
        n: generate(state, n, args.rows_per_file, args.reuse) for n in sorted({*sizes, spark_rows})
    }
    logs = WORK / "logs"
    logs.mkdir(exist_ok=True)
    plan = [(system, n) for n in sizes for system in systems]
    if not args.no_spark:
        plan += [(system, spark_rows) for system in SPARK_SYSTEMS]

    runs = []
    started = time.monotonic()
    for round_ in range(args.rounds):
        # Alternate the order of each size's systems from round to round (A B C, then C B A).
        step = len(systems)
        order = [
            pair
            for i in range(0, len(plan), step)
            for pair in (plan[i : i + step] if round_ % 2 == 0 else plan[i : i + step][::-1])
        ]
        for system, n in order:
            print(f"round {round_}: {system} on {n} rows", file=sys.stderr, flush=True)
            log = logs / f"{system}-{n}-r{round_}"
            run = measure(state, system, inputs[n], args.timeout, log)
            run["round"] = round_
            print(json.dumps(run), file=sys.stderr, flush=True)
            runs.append(run)

    smallest = inputs[sizes[0]]
    print(f"profile: chunked on {smallest['rows']} rows", file=sys.stderr, flush=True)
    stages = profile(state, smallest, args.timeout)
    repo = Path(state["repo"])
    config = tomllib.loads((repo / "config" / "scoring.toml").read_text())["scoring"]
    summary = summarise(runs)
    result = {
        "machine": machine(),
        "versions": {
            **venv_versions(repo / ".venv" / "bin" / "python", PACKAGES),
            **package_versions("copier"),
            "java": tool_version("java", "-version"),
        },
        "date": now(),
        "settings": {
            "rows": sizes,
            "rounds": args.rounds,
            "rows_per_file": args.rows_per_file,
            "chunk_rows": config["chunk_rows"],
            "spark_rows": None if args.no_spark else spark_rows,
            "poll_s": POLL_S,
            "model_tag": state["tag"],
            "minutes": round((time.monotonic() - started) / 60, 1),
            "baseline": args.baseline,
        },
        "inputs": list(inputs.values()),
        "runs": runs,
        "summary": summary,
        "goals": goals(summary, sizes),
        "profile": stages,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "batch.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "batch.md").write_text(report(result))
    print(report(result))
    return 0


def span(row: dict, field: str) -> str:
    low, high = row[f"{field}_range"]
    return f"{row[field]:g} ({low:g}-{high:g})"


def report(r: dict) -> str:
    m, s, g = r["machine"], r["settings"], r["goals"]
    versions = ", ".join(f"{k} {v}" for k, v in r["versions"].items())
    rows = [
        f"| {x['system']} | {x['rows']:,} | {span(x, 'rows_per_s')} | {span(x, 'wall_s')} "
        f"| {span(x, 'peak_tree_mib')} | {x['max_process_mib']:g} | {x['job_cpu_cores']:g} "
        f"| {span(x, 'other_cpu_cores')} | {x['load_average_range'][0]:g}-"
        f"{x['load_average_range'][1]:g} |"
        for x in r["summary"]
    ]
    met = {True: "met", False: "NOT met"}
    inputs = ", ".join(
        f"{i['rows']:,} rows ({i['files']} files, {i['bytes'] / 2**20:.0f} MiB)"
        for i in r["inputs"]
    )
    lines = [
        "# Batch scoring: the generated job against the naive pandas script",
        "",
        f"Measured {r['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, "
        "shared with other users' work: `other load` is the CPU the rest of the machine used "
        "during each run (busy CPU minus the job and this harness), `load avg` the one-minute "
        "load before and after the runs.",
        f"Versions: {versions}.",
        f"Inputs: {inputs}, Parquet files of {s['rows_per_file']:,} rows built from the "
        "contract's examples; "
        f"`chunk_rows` {s['chunk_rows']}. Systems interleaved, {s['rounds']} rounds, order "
        "alternating; median (range) over rounds. Wall time from process start to exit (imports "
        "and model load included). `peak tree` is the whole process tree's resident memory at "
        f"its highest, sampled from /proc every {s['poll_s']} s; `max process` is the largest "
        "single process's exact high-water mark (ru_maxrss, median; Spark's JVM is not "
        "counted there).",
        "",
        "| system | rows | rows/s | wall s | peak tree MiB | max process MiB | job CPU cores "
        "| other load, cores | load avg |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"At {g['at_rows']:,} rows the chunked job scores {g['throughput_ratio']:.2f}x the naive "
        f"script's rows/s (goal at least {g['throughput_ratio_at_least']:g}x: "
        f"{met[g['throughput_met']]}) with {g['memory_ratio']:.0%} of its peak memory (goal at "
        f"most {g['memory_ratio_at_most']:.0%}: {met[g['memory_met']]}).",
    ]
    if s.get("baseline"):
        before = f"chunked@{s['baseline']}"
        for size in sorted({x["rows"] for x in r["summary"] if x["system"] == before}):
            after, then = (
                next(x for x in r["summary"] if x["system"] == name and x["rows"] == size)
                for name in ("chunked", before)
            )
            lines.append(
                f"At {size:,} rows the job as it is now scores "
                f"{after['rows_per_s'] / then['rows_per_s']:.2f}x the rows/s of `{before}` "
                f"(peak memory {after['peak_tree_mib'] / then['peak_tree_mib']:.2f}x)."
            )
    if "chunked_flat_met" in g:
        lines.append(
            f"Peak memory from the smallest to the largest input: chunked "
            f"{g['chunked_peak_growth']}x, naive {g['naive_peak_growth']}x (flat, at most "
            f"{g['flat_growth_at_most']}x: {met[g['chunked_flat_met']]})."
        )
    p = r["profile"]
    total = p["seconds"]["job (score.run)"] or 1.0
    lines += [
        "",
        f"Where the chunked job's time goes (one run under cProfile, {p['rows']:,} rows, "
        "cumulative seconds; cProfile inflates Python-level work):",
        "",
        "| stage | seconds | share of the job |",
        "|---|---|---|",
        *(f"| {k} | {v:g} | {v / total:.0%} |" for k, v in p["seconds"].items()),
    ]
    return "\n".join([*lines, ""])


if __name__ == "__main__":
    sys.exit(main())
