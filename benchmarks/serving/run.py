"""Serving speed: the generated service, as shipped, against plain FastAPI + uvicorn.

    make bench-serving [DURATION=10]

Renders the default service, trains it, and starts on loopback (a) the generated service with
exactly the settings the template ships (`bentoml serve`), (b) the same model behind FastAPI +
`uvicorn --workers N` with the same number of worker processes, and (c) the same FastAPI app and
worker count on a listener with TCP_NODELAY (uvicorn_workers.py: `--workers` loses it, uvicorn
issue #3149, and then waits ~44 ms per keep-alive request). wrk drives each with the same fixed
request at concurrency 1, 8, 32 and 64 for DURATION seconds, REPEATS times; the run with the
median throughput is reported, with every repeat's req/s and the servers' CPU time per request.
Also measured: time to first prediction (render, setup with warm caches, train, serve, first 200)
and the generated repo's `make test`.

Writes benchmarks/results/serving.json, serving.md and serving.png.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

from benchmarks.machine import machine, now, tool_version, tree_cpu_s, venv_versions
from tests.support.load import ROW
from tests.support.project import commit_all, copy_project
from tests.support.service import free_port

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
WORK = ROOT / "benchmarks" / "work" / "serving"
RESULTS = ROOT / "benchmarks" / "results"
CONCURRENCY = (1, 8, 32, 64)
REPEATS = 3
SYSTEMS = ("generated", "fastapi", "fastapi-nodelay")
BODY = ROW
WORKERS = len(os.sched_getaffinity(0))  # what the generated service ships: one per CPU
GOALS = {
    "throughput_ratio_at_c32": 2.0,
    "p99_ms_at_c32": 50.0,
    "non_2xx": 0,
    "time_to_first_prediction_s": 30.0,
    "generated_make_test_s": 60.0,
}


def sh(*command: str, cwd: Path, env: dict | None = None) -> str:
    print("$", " ".join(command), file=sys.stderr, flush=True)
    done = subprocess.run(
        list(command), cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


@contextmanager
def server(command: list[str], cwd: Path, env: dict, port: int, log: Path):
    with log.open("w") as out:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if (
                    httpx.post(f"http://127.0.0.1:{port}/predict", json=BODY, timeout=2).status_code
                    == 200
                ):
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                raise SystemExit(f"{command[0]} exited:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        else:
            raise SystemExit(f"no prediction within 120 s:\n{log.read_text()[-3000:]}")
        yield process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wrk_fields(url: str, concurrency: int, duration: int, timeout_s: int = 5) -> dict[str, int]:
    """wrk POSTing the fixed request (wrk.lua) to url/predict; its GP_RESULT line as integers."""
    out = sh(
        "wrk",
        f"-t{min(concurrency, 2)}",
        f"-c{concurrency}",
        f"-d{duration}s",
        "--timeout",
        f"{timeout_s}s",
        "-s",
        str(HERE / "wrk.lua"),
        f"{url}/predict",
        cwd=HERE,
        env={"GP_BODY": json.dumps(BODY)},
    )
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", out.split("GP_RESULT", 1)[1])}


def wrk(port: int, concurrency: int, duration: int) -> dict:
    fields = wrk_fields(f"http://127.0.0.1:{port}", concurrency, duration)
    return {
        "concurrency": concurrency,
        "requests": fields["requests"],
        "rps": round(fields["requests"] / (fields["duration_us"] / 1e6), 1),
        "p50_ms": fields["p50_us"] / 1000,
        "p95_ms": fields["p95_us"] / 1000,
        "p99_ms": fields["p99_us"] / 1000,
        "non_2xx": fields["non2xx"],
        "socket_errors": fields["errors"],
    }


def load(system: str, port: int, session: int, duration: int) -> list[dict]:
    """Every concurrency level REPEATS times; the median-throughput repeat of each is kept."""
    runs = []
    for concurrency in CONCURRENCY:
        repeats = []
        for _ in range(REPEATS):
            cpu_before = tree_cpu_s(session)
            run = wrk(port, concurrency, duration)
            cpu = tree_cpu_s(session) - cpu_before
            run["server_cpu_ms_per_request"] = round(1000 * cpu / max(run["requests"], 1), 3)
            repeats.append(run)
        median = sorted(repeats, key=lambda r: r["rps"])[len(repeats) // 2]
        runs.append({"system": system, **median, "repeats_rps": [r["rps"] for r in repeats]})
    return runs


def plot(runs: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for system in SYSTEMS:
        rows = [r for r in runs if r["system"] == system]
        xs = [r["concurrency"] for r in rows]
        left.plot(xs, [r["rps"] for r in rows], marker="o", label=system)
        right.plot(xs, [r["p99_ms"] for r in rows], marker="o", label=system)
    left.set(title="Throughput", xlabel="concurrency", ylabel="requests/s", xscale="log")
    right.set(title="p99 latency", xlabel="concurrency", ylabel="ms", xscale="log", yscale="log")
    for axis in (left, right):
        axis.set_xticks(CONCURRENCY, [str(c) for c in CONCURRENCY])
        axis.legend()
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    args = parser.parse_args(argv)
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    env = {"BENTOML_HOME": str(WORK / "bentoml"), "BENTOML_DO_NOT_TRACK": "true"}

    started = time.monotonic()
    repo = copy_project(WORK / "iris-classifier")
    commit_all(repo, "Scaffold")
    sh("make", "setup", "train", cwd=repo, env=env)
    port = free_port()
    bento = [
        str(repo / ".venv/bin/bentoml"),
        "serve",
        "iris_classifier.service:ModelService",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    runs = []
    with server(bento, repo, env, port, WORK / "generated.log") as session:
        first_prediction_s = time.monotonic() - started
        runs += load("generated", port, session, args.duration)

    # The baseline's one extra package, into the benchmark's copy of the generated environment.
    sh(
        "uv",
        "pip",
        "install",
        "--quiet",
        "--python",
        str(repo / ".venv/bin/python"),
        "fastapi",
        cwd=repo,
    )
    tag = sh(
        str(repo / ".venv/bin/python"),
        "-m",
        "iris_classifier.export",
        "--out",
        str(WORK / "model.bentomodel"),
        cwd=repo,
        env=env,
    ).strip()
    baseline_env = {**env, "GP_PACKAGE": "iris_classifier", "MODEL_TAG": tag}
    port = free_port()
    uvicorn = [
        str(repo / ".venv/bin/uvicorn"),
        "fastapi_app:app",
        "--app-dir",
        str(HERE),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(WORKERS),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with server(uvicorn, repo, baseline_env, port, WORK / "fastapi.log") as session:
        runs += load("fastapi", port, session, args.duration)
    port = free_port()
    nodelay = [
        str(repo / ".venv/bin/python"),
        str(HERE / "uvicorn_workers.py"),
        "fastapi_app:app",
        "--app-dir",
        str(HERE),
        "--port",
        str(port),
        "--workers",
        str(WORKERS),
    ]
    with server(nodelay, repo, baseline_env, port, WORK / "fastapi-nodelay.log") as session:
        runs += load("fastapi-nodelay", port, session, args.duration)

    started = time.monotonic()
    sh("make", "test", cwd=repo, env=env)
    make_test_s = time.monotonic() - started

    versions = venv_versions(
        repo / ".venv/bin/python", ["bentoml", "fastapi", "uvicorn", "scikit-learn", "pydantic"]
    )
    versions["wrk"] = tool_version("wrk", "--version")
    at = {r["system"]: r for r in runs if r["concurrency"] == 32}
    ratio = at["generated"]["rps"] / at["fastapi"]["rps"]
    ratio_nodelay = at["generated"]["rps"] / at["fastapi-nodelay"]["rps"]
    result = {
        "machine": machine(),
        "versions": versions,
        "date": now(),
        "settings": {
            "workers": WORKERS,
            "duration_s": args.duration,
            "repeats": REPEATS,
            "request": BODY,
        },
        "runs": runs,
        "time_to_first_prediction_s": round(first_prediction_s, 2),
        "generated_make_test_s": round(make_test_s, 2),
        "at_concurrency_32": {
            "throughput_ratio": round(ratio, 2),
            "throughput_ratio_vs_nodelay": round(ratio_nodelay, 2),
            "generated_p99_ms": at["generated"]["p99_ms"],
        },
        "goals": GOALS,
        "goals_met": {
            "throughput_ratio_at_c32": ratio >= GOALS["throughput_ratio_at_c32"],
            "throughput_ratio_at_c32_vs_nodelay": ratio_nodelay >= GOALS["throughput_ratio_at_c32"],
            "p99_ms_at_c32": at["generated"]["p99_ms"] <= GOALS["p99_ms_at_c32"],
            "non_2xx": at["generated"]["non_2xx"] == 0,  # the target is at concurrency 32
            "time_to_first_prediction_s": first_prediction_s <= GOALS["time_to_first_prediction_s"],
            "generated_make_test_s": make_test_s <= GOALS["generated_make_test_s"],
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "serving.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(runs, RESULTS / "serving.png")
    m = result["machine"]
    lines = [
        "# Serving: generated service against FastAPI + uvicorn",
        "",
        f"Measured {result['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        f"{WORKERS} worker processes each; wrk, {args.duration} s per level, one fixed request, "
        f"{REPEATS} repeats per level (the median-throughput repeat is shown).",
        "`fastapi` is `uvicorn --workers N`; `fastapi-nodelay` is the same app and worker count "
        "on a listener with TCP_NODELAY (uvicorn issue #3149).",
        "",
        "| system | concurrency | req/s | p50 ms | p95 ms | p99 ms | non-2xx | server CPU ms/req "
        "| req/s of each repeat |",
        "|---|---|---|---|---|---|---|---|---|",
        *(
            f"| {r['system']} | {r['concurrency']} | {r['rps']} | {r['p50_ms']} | {r['p95_ms']} "
            f"| {r['p99_ms']} | {r['non_2xx']} | {r['server_cpu_ms_per_request']} "
            f"| {', '.join(str(x) for x in r['repeats_rps'])} |"
            for r in runs
        ),
        "",
        f"At concurrency 32 the generated service makes {ratio:.2f}x the throughput of "
        f"`uvicorn --workers` and {ratio_nodelay:.2f}x that of the TCP_NODELAY baseline (goal "
        f"2.0x), with p99 {at['generated']['p99_ms']} ms (goal 50 ms).",
        f"Time to first prediction {result['time_to_first_prediction_s']} s (goal 30 s); "
        f"generated `make test` {result['generated_make_test_s']} s (goal 60 s).",
        "Goals met: "
        + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in result["goals_met"].items()),
        "",
        "![throughput and p99](serving.png)",
        "",
    ]
    (RESULTS / "serving.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
