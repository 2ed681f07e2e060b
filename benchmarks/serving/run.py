"""Serving speed: the generated service, as shipped, against FastAPI as deployed and tuned by hand.

    make bench-serving [DURATION=5] [ROUNDS=3]

Renders the default service, trains it, and starts on loopback, all at once:
- `generated`: `bentoml serve` with exactly the settings the template ships (one worker), and
  `generated-2w` with SERVICE_WORKERS=2 (the shared-socket case of decision 0007);
- `fastapi`: the same model and pydantic contract behind FastAPI as most teams deploy it,
  `uvicorn --workers 2` (fastapi[standard]), and `fastapi-1w`, plain `uvicorn` with one process;
- `fastapi-tuned`: the same app tuned by hand (uvicorn_workers.py: uvloop, httptools, TCP_NODELAY,
  one SO_REUSEPORT socket per worker), 2 workers, and `fastapi-tuned-1w`.
wrk drives each with the same fixed request at concurrency 1, 8, 32 and 64 for DURATION seconds,
interleaved: every round runs every system once at each level (A B C ... A B C ...), ROUNDS
rounds; reported are the median and the range over rounds. Each run records the servers' CPU per
request, wrk's own CPU, and the CPU the rest of the machine used meanwhile (other processes:
this machine is shared), with the load average.

Then the heavier model: the contract's estimator swapped for scikit-learn's
HistGradientBoostingClassifier (a few ms per call), the generated service's batching endpoint
(`/predict_batch`, one row per request) against tuned FastAPI per request (`/predict`).

With `--baseline REF` (`make bench-serving BASELINE=REF`), also `generated@REF`: the default
service rendered from this checkout's commit or tag REF, trained and served as shipped, in the
same interleaved run: the template's before and after.

Also measured: time to first prediction and the generated repo's `make test`.
Writes benchmarks/results/serving.json, serving.md and serving.png.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

from devkit.load import ROW, wrk_run
from devkit.machine import (
    cpu_busy_s,
    load_average,
    machine,
    now,
    tool_version,
    tree_cpu_s,
    venv_versions,
)
from devkit.project import commit_all, copy_project
from goldenpath.localservice import Server, bentoml_serve, http, serving, trained_repo
from goldenpath.proc import run

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
WORK = ROOT / "benchmarks" / "work" / "serving"
RESULTS = ROOT / "benchmarks" / "results"
CONCURRENCY = (1, 8, 32, 64)
HEAVY_CONCURRENCY = (1, 32)
SYSTEMS = (
    "generated",
    "generated-2w",
    "fastapi",
    "fastapi-1w",
    "fastapi-tuned",
    "fastapi-tuned-1w",
)
HEAVY_SYSTEMS = ("generated-batch", "fastapi-tuned")
BODY = ROW
PACKAGE = "iris_classifier"
CORES = len(os.sched_getaffinity(0))
GOALS = {
    "vs_tuned_at_c32": 1.2,
    "vs_deployed_at_c32": 2.0,
    "p99_ms_at_c32": 50.0,
    "non_2xx_at_c32": 0,
    "p99_ms_at_c1": 5.0,
    "cpu_per_request_vs_tuned": 1.0,
    "heavy_batch_vs_fastapi_at_c32": 2.0,
    "heavy_non_2xx_at_c32": 0,
    "time_to_first_prediction_s": 30.0,
    "generated_make_test_s": 60.0,
}
# The heavier model: the team's files edited as a team would (file, old text, new text). Boosted
# trees fit iris a little worse than the default model: the quality gate is loosened with it.
HEAVY_EDITS = (
    (
        f"src/{PACKAGE}/contract.py",
        "    estimator = make_pipeline(\n"
        '        StandardScaler(), LogisticRegression(C=params["C"], max_iter=params["max_iter"])\n'
        "    )\n",
        "    estimator = HistGradientBoostingClassifier(max_iter=100, random_state=0)\n",
    ),
    (
        f"src/{PACKAGE}/contract.py",
        "from sklearn.pipeline import make_pipeline\n",
        "from sklearn.ensemble import HistGradientBoostingClassifier\n"
        "from sklearn.pipeline import make_pipeline\n",
    ),
    ("config/training.toml", "min_f1_macro = 0.90\n", "min_f1_macro = 0.85\n"),
    ("config/training.toml", "min_accuracy = 0.90\n", "min_accuracy = 0.85\n"),
)


def sh(*command: str, cwd: Path, env: dict | None = None) -> str:
    return run(list(command), cwd=cwd, env=env).stdout


def children_cpu_s() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(system: str, target: Server, path: str, concurrency: int, duration: int):
    """One wrk run against one server, with the CPU of the server (its process group's session),
    of wrk and of everything else."""
    session = target.process.pid
    server_before, wrk_before, busy_before = tree_cpu_s(session), children_cpu_s(), cpu_busy_s()
    started = time.monotonic()
    body = {"instances": [BODY]} if path == "/predict_batch" else BODY
    fields = wrk_run(target.url, path, body, concurrency, duration)
    wall = time.monotonic() - started
    server = tree_cpu_s(session) - server_before
    wrk_cpu = children_cpu_s() - wrk_before
    busy = cpu_busy_s() - busy_before
    requests = max(fields["requests"], 1)
    return {
        "system": system,
        "concurrency": concurrency,
        "requests": fields["requests"],
        "rps": round(fields["requests"] / (fields["duration_us"] / 1e6), 1),
        "p50_ms": fields["p50_us"] / 1000,
        "p99_ms": fields["p99_us"] / 1000,
        "non_2xx": fields["non2xx"],
        "socket_errors": fields["errors"],
        "server_cpu_ms_per_request": round(1000 * server / requests, 3),
        "wrk_cpu_cores": round(wrk_cpu / wall, 2),
        "server_cpu_cores": round(server / wall, 2),
        # Busy CPU of the whole machine minus this server and wrk: other users' load.
        "other_cpu_cores": round(max(0.0, busy - server - wrk_cpu) / wall, 2),
        "load_average": round(load_average(), 2),
    }


def interleaved(
    servers: dict[str, Server], paths: dict[str, str], levels, rounds: int, duration: int
) -> list[dict]:
    """Every round: each level, each system in turn (A B C A B C ...). All servers stay up."""
    runs = []
    for round_ in range(rounds):
        for concurrency in levels:
            for system, target in servers.items():
                run = measure(system, target, paths[system], concurrency, duration)
                run["round"] = round_
                print(json.dumps(run), file=sys.stderr, flush=True)
                runs.append(run)
    return runs


def summarise(runs: list[dict]) -> list[dict]:
    """Median and range over rounds per (system, concurrency)."""
    rows = []
    keys = dict.fromkeys((r["system"], r["concurrency"]) for r in runs)
    for system, concurrency in keys:
        group = [r for r in runs if r["system"] == system and r["concurrency"] == concurrency]
        row = {"system": system, "concurrency": concurrency, "rounds": len(group)}
        for field in (
            "rps",
            "p50_ms",
            "p99_ms",
            "server_cpu_ms_per_request",
            "wrk_cpu_cores",
            "other_cpu_cores",
            "load_average",
        ):
            values = [r[field] for r in group]
            row[field] = round(statistics.median(values), 3)
            row[f"{field}_range"] = [min(values), max(values)]
        row["non_2xx"] = sum(r["non_2xx"] for r in group)
        row["socket_errors"] = sum(r["socket_errors"] for r in group)
        rows.append(row)
    return rows


def plot(rows: list[dict], heavy: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right, third) = plt.subplots(1, 3, figsize=(15, 4))
    for system in SYSTEMS:
        mine = [r for r in rows if r["system"] == system]
        xs = [r["concurrency"] for r in mine]
        errors = [
            [r["rps"] - r["rps_range"][0] for r in mine],
            [r["rps_range"][1] - r["rps"] for r in mine],
        ]
        left.errorbar(xs, [r["rps"] for r in mine], yerr=errors, marker="o", label=system)
        right.plot(xs, [r["p99_ms"] for r in mine], marker="o", label=system)
    for system in HEAVY_SYSTEMS:
        mine = [r for r in heavy if r["system"] == system]
        third.plot([r["concurrency"] for r in mine], [r["rps"] for r in mine], marker="o")
        third.lines[-1].set_label(system)
    left.set(title="Throughput (median, range)", xlabel="concurrency", ylabel="requests/s")
    right.set(title="p99 latency (median)", xlabel="concurrency", ylabel="ms", yscale="log")
    third.set(title="Heavier model (HistGradientBoosting)", xlabel="concurrency", ylabel="req/s")
    for axis in (left, right, third):
        axis.set_xscale("log")
        axis.legend(fontsize="small")
        axis.grid(alpha=0.3)
    for axis in (left, right):
        axis.set_xticks(CONCURRENCY, [str(c) for c in CONCURRENCY])
    third.set_xticks(HEAVY_CONCURRENCY, [str(c) for c in HEAVY_CONCURRENCY])
    figure.tight_layout()
    figure.savefig(path, dpi=100)


Command = Callable[[int], Sequence[str]]


@dataclass(frozen=True)
class System:
    """One contender: its command (given its port), its environment, the path wrk posts to."""

    command: Command
    env: dict
    path: str = "/predict"
    cwd: Path | None = None  # the repo the command runs in, when not the rendered one


def fastapi_commands(repo: Path, workers: int) -> dict[str, Command]:
    """`uvicorn` as deployed (with --workers N, or one process), and the tuned launcher."""
    python = str(repo / ".venv/bin/python")
    uvicorn = str(repo / ".venv/bin/uvicorn")
    workers_flag = ["--workers", str(workers)] if workers > 1 else []
    return {
        "deployed": lambda port: [
            uvicorn,
            "fastapi_app:app",
            "--app-dir",
            str(HERE),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            *workers_flag,
        ],
        "tuned": lambda port: [
            python,
            str(HERE / "uvicorn_workers.py"),
            "fastapi_app:app",
            "--app-dir",
            str(HERE),
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
    }


def systems(repo: Path, env: dict, tag: str, names: Sequence[str]) -> dict[str, System]:
    """The named contenders serving model tag: the generated service as shipped (`-2w`: two
    workers), FastAPI as deployed and tuned (`-1w`: one process, else one per core)."""
    base = {**env, "GP_PACKAGE": PACKAGE, "MODEL_TAG": tag}
    out = {}
    for name in names:
        if name.startswith("generated"):
            workers = "2" if name == "generated-2w" else ""
            out[name] = System(bentoml_serve(repo, PACKAGE), {**env, "SERVICE_WORKERS": workers})
        else:
            kind = "tuned" if name.startswith("fastapi-tuned") else "deployed"
            workers = 1 if name.endswith("-1w") else CORES
            out[name] = System(fastapi_commands(repo, workers)[kind], base)
    return out


def start_all(stack: ExitStack, contenders: dict[str, System], repo: Path) -> dict[str, Server]:
    """Start every contender at once, each in a process group of its own (whose CPU is measured
    as a whole), ready on /readyz; stopped with SIGTERM when the stack closes."""
    return {
        name: stack.enter_context(
            serving(
                system.command,
                cwd=system.cwd or repo,
                log=WORK / f"{name}.log",
                env={**os.environ, **system.env},
                group=True,
            )
        )
        for name, system in contenders.items()
    }


def export_model(repo: Path, env: dict, out: Path) -> str:
    return sh(
        str(repo / ".venv/bin/python"),
        "-m",
        f"{PACKAGE}.export",
        "--out",
        str(out),
        cwd=repo,
        env=env,
    ).strip()


def model_call_ms(repo: Path, env: dict, tag: str) -> float:
    """Median time of one model call on one row (the contract's first example), in ms."""
    code = f"""
import statistics, sys, time
from {PACKAGE} import model
from {PACKAGE}.spec import encode
loaded = model.load(sys.argv[1])
rows = encode(model.CONTRACT.features, model.CONTRACT.examples[:1])
times = []
for _ in range(200):
    start = time.perf_counter()
    loaded.predict(rows)
    times.append(time.perf_counter() - start)
print(statistics.median(times) * 1000)
"""
    out = sh(str(repo / ".venv/bin/python"), "-c", code, tag, cwd=repo, env=env)
    return round(float(out), 3)


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else 0.0


def prepare(env: dict) -> tuple[Path, float]:
    """Render, train and serve the default service: the repo and the seconds from an empty folder
    to its first prediction. Then FastAPI into the repo's environment, for the baselines."""
    started = time.monotonic()
    repo = copy_project(WORK / "iris-classifier")
    commit_all(repo, "Scaffold")
    sh("make", "setup", "train", cwd=repo, env=env)
    with serving(
        bentoml_serve(repo, PACKAGE), cwd=repo, log=WORK / "first.log", env={**os.environ, **env}
    ) as server:
        status, _, body = http("POST", f"{server.url}/predict", BODY)
        if status != 200:
            raise SystemExit(f"the first prediction answered {status}: {body}")
        first_prediction_s = time.monotonic() - started
    python = str(repo / ".venv/bin/python")
    sh("uv", "pip", "install", "--quiet", "--python", python, "fastapi[standard]", cwd=repo)
    return repo, first_prediction_s


def baseline_system(ref: str) -> tuple[str, System]:
    """The default service rendered from this checkout at ref, trained, served as shipped."""
    trained = trained_repo(WORK / "baseline", vcs_ref=ref)
    command = bentoml_serve(trained.repo, trained.package)
    return f"generated@{ref}", System(command, trained.env, cwd=trained.repo)


def light(
    repo: Path, env: dict, rounds: int, duration: int, baseline: str | None = None
) -> tuple[list[dict], list[dict]]:
    """The default model: every system at every concurrency level, interleaved."""
    tag = export_model(repo, env, WORK / "model.bentomodel")
    contenders = systems(repo, env, tag, SYSTEMS)
    if baseline:
        name, system = baseline_system(baseline)
        contenders = {"generated": contenders.pop("generated"), name: system, **contenders}
    with ExitStack() as stack:
        servers = start_all(stack, contenders, repo)
        paths = {name: system.path for name, system in contenders.items()}
        runs = interleaved(servers, paths, CONCURRENCY, rounds, duration)
    return summarise(runs), runs


def heavy(
    repo: Path, env: dict, rounds: int, duration: int
) -> tuple[list[dict], list[dict], float]:
    """The heavier model, the contract edited as a team would and trained: the generated
    service's batching endpoint against tuned FastAPI per request. The edits are undone after."""
    for name, old, new in HEAVY_EDITS:
        text = (repo / name).read_text()
        if old not in text:
            raise SystemExit(f"the default {name} changed: {old!r} not found")
        (repo / name).write_text(text.replace(old, new))
    try:
        # One OpenMP thread per process for the trees, on both sides: on a shared 2-core machine
        # scikit-learn's default (a thread per core, spinning) made one call take hundreds of ms.
        env = {**env, "OMP_NUM_THREADS": "1"}
        sh("make", "train", cwd=repo, env=env)
        tag = export_model(repo, env, WORK / "heavy.bentomodel")
        call_ms = model_call_ms(repo, env, tag)
        contenders = systems(repo, env, tag, ("generated", "fastapi-tuned"))
        contenders = {
            "generated-batch": replace(contenders["generated"], path="/predict_batch"),
            "fastapi-tuned": contenders["fastapi-tuned"],
        }
        with ExitStack() as stack:
            servers = start_all(stack, contenders, repo)
            paths = {name: system.path for name, system in contenders.items()}
            runs = interleaved(servers, paths, HEAVY_CONCURRENCY, rounds, duration)
    finally:
        for name, old, new in HEAVY_EDITS:
            (repo / name).write_text((repo / name).read_text().replace(new, old))
    return summarise(runs), runs, call_ms


def timed_make_test(repo: Path, env: dict) -> float:
    started = time.monotonic()
    sh("make", "test", cwd=repo, env=env)
    return round(time.monotonic() - started, 2)


def summary_of(
    rows: list[dict],
    heavy_rows: list[dict],
    heavy_call_ms: float,
    first_prediction_s: float,
    make_test_s: float | None,
    baseline: str | None = None,
) -> dict:
    """The figures the goals are about, from the summarised rows of the same run."""
    at = {(r["system"], r["concurrency"]): r for r in rows}
    hv = {(r["system"], r["concurrency"]): r for r in heavy_rows}
    g32, g1 = at[("generated", 32)], at[("generated", 1)]
    tuned32, deployed32 = at[("fastapi-tuned", 32)], at[("fastapi", 32)]
    before = {}
    if baseline:
        then = at[(f"generated@{baseline}", 32)]
        before = {
            "vs_baseline_at_c32": ratio(g32["rps"], then["rps"]),
            "cpu_per_request_vs_baseline_at_c32": ratio(
                g32["server_cpu_ms_per_request"], then["server_cpu_ms_per_request"]
            ),
        }
    return {
        **before,
        "vs_tuned_at_c32": ratio(g32["rps"], tuned32["rps"]),
        "vs_deployed_at_c32": ratio(g32["rps"], deployed32["rps"]),
        "vs_tuned_one_worker_each_at_c32": ratio(g32["rps"], at[("fastapi-tuned-1w", 32)]["rps"]),
        "generated_2w_vs_tuned_at_c32": ratio(at[("generated-2w", 32)]["rps"], tuned32["rps"]),
        "p99_ms_at_c32": g32["p99_ms"],
        "non_2xx_at_c32": g32["non_2xx"],
        "p99_ms_at_c1": g1["p99_ms"],
        "cpu_per_request_vs_tuned": ratio(
            g32["server_cpu_ms_per_request"], tuned32["server_cpu_ms_per_request"]
        ),
        "heavy_model_call_ms": heavy_call_ms,
        "heavy_batch_vs_fastapi_at_c32": ratio(
            hv[("generated-batch", 32)]["rps"], hv[("fastapi-tuned", 32)]["rps"]
        ),
        "heavy_non_2xx_at_c32": hv[("generated-batch", 32)]["non_2xx"],
        "time_to_first_prediction_s": round(first_prediction_s, 2),
        "generated_make_test_s": make_test_s,
    }


def goals_met(summary: dict) -> dict[str, bool]:
    """Ratios must reach their goal, everything else (latency, errors, seconds) stay within it."""
    return {
        key: (
            key in summary
            and summary[key] is not None
            and (
                summary[key] >= goal
                if key.startswith(("vs_", "heavy_batch"))
                else summary[key] <= goal
            )
        )
        for key, goal in GOALS.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-make-test", action="store_true")
    parser.add_argument(
        "--baseline", help="also serve the service as rendered at this commit or tag"
    )
    args = parser.parse_args(argv)
    if args.rounds < 3:
        raise SystemExit(f"--rounds {args.rounds}: interleaving needs at least 3 rounds")
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    env = {"BENTOML_HOME": str(WORK / "bentoml"), "BENTOML_DO_NOT_TRACK": "true"}

    repo, first_prediction_s = prepare(env)
    rows, runs = light(repo, env, args.rounds, args.duration, args.baseline)
    heavy_rows, heavy_runs, heavy_call_ms = heavy(repo, env, args.rounds, args.duration)
    make_test_s = None if args.skip_make_test else timed_make_test(repo, env)
    summary = summary_of(
        rows, heavy_rows, heavy_call_ms, first_prediction_s, make_test_s, args.baseline
    )

    versions = venv_versions(
        repo / ".venv/bin/python",
        ["bentoml", "fastapi", "uvicorn", "uvloop", "httptools", "scikit-learn", "pydantic"],
    )
    versions["wrk"] = tool_version("wrk", "--version")
    result = {
        "machine": machine(),
        "versions": versions,
        "date": now(),
        "settings": {
            "cores": CORES,
            "duration_s": args.duration,
            "rounds": args.rounds,
            "request": BODY,
            "baseline": args.baseline,
        },
        "rows": rows,
        "heavy_rows": heavy_rows,
        "runs": runs,
        "heavy_runs": heavy_runs,
        "summary": summary,
        "goals": GOALS,
        "goals_met": goals_met(summary),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "serving.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(rows, heavy_rows, RESULTS / "serving.png")
    (RESULTS / "serving.md").write_text(report(result))
    print(report(result))
    return 0


def span(row: dict, field: str) -> str:
    low, high = row[f"{field}_range"]
    return f"{row[field]:g} ({low:g}-{high:g})"


def table(rows: list[dict]) -> list[str]:
    return [
        "| system | c | req/s median (range) | p99 ms median (range) | p50 ms | non-2xx "
        "| server CPU ms/req | wrk CPU cores | other load, cores | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(
            f"| {r['system']} | {r['concurrency']} | {span(r, 'rps')} | {span(r, 'p99_ms')} "
            f"| {r['p50_ms']:g} | {r['non_2xx']} | {r['server_cpu_ms_per_request']:g} "
            f"| {r['wrk_cpu_cores']:g} | {span(r, 'other_cpu_cores')} | {r['load_average']:g} |"
            for r in rows
        ),
    ]


def report(result: dict) -> str:
    m, s, settings = result["machine"], result["summary"], result["settings"]
    lines = [
        "# Serving: generated service against FastAPI + uvicorn",
        "",
        f"Measured {result['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, "
        "shared with other users' work: `other load` is the CPU the rest of the machine used "
        "during each run (busy CPU minus the server and wrk), `load avg` the one-minute load.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()) + ".",
        f"wrk on loopback, {settings['duration_s']} s per run, one fixed request; systems "
        f"interleaved, {settings['rounds']} rounds; median and range over rounds. `generated` is "
        "the shipped service (one worker); `-2w`/`-1w` set the worker count; `fastapi` is "
        "`uvicorn --workers 2` (fastapi[standard]); `fastapi-tuned` is uvicorn_workers.py "
        "(uvloop, httptools, TCP_NODELAY, a SO_REUSEPORT socket per worker).",
        "",
        *table(result["rows"]),
        "",
        f"Heavier model (HistGradientBoosting, {s['heavy_model_call_ms']} ms per one-row call): "
        "the generated `/predict_batch` (one row per request, adaptive batching) against tuned "
        "FastAPI per request.",
        "",
        *table(result["heavy_rows"]),
        "",
        "Summary: " + ", ".join(f"{k} {v}" for k, v in s.items()) + ".",
        "Goals met: "
        + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in result["goals_met"].items()),
        "",
        "![throughput and p99](serving.png)",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
