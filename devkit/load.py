"""Bounded load and schema fuzzing against a service on loopback, for the reliability tests and
benchmarks/reliability. Everything stops by itself: a request count, a deadline, or both."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from devkit import chart
from goldenpath.proc import run

# The default answers' contract (iris) first example: the body of a /predict request.
ROW = {"sepal_length_cm": 5.1, "sepal_width_cm": 3.5, "petal_length_cm": 1.4, "petal_width_cm": 0.2}


@dataclass
class Outcome:
    """What a burst of /predict requests got back."""

    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)  # transport errors by exception name
    failed_ids: set[str] = field(default_factory=set)  # X-Request-ID of each transport error

    @property
    def sent(self) -> int:
        return sum(self.statuses.values()) + sum(self.errors.values())


async def _drive(
    url: str, concurrency: int, total: int, deadline_s: float, stop, path: str, payload: dict
) -> Outcome:
    outcome = Outcome()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    end = time.monotonic() + deadline_s
    remaining = [total]

    async def one_client(client: httpx.AsyncClient) -> None:
        while remaining[0] > 0 and time.monotonic() < end and not (stop and stop()):
            remaining[0] -= 1
            request_id = uuid.uuid4().hex
            try:
                response = await client.post(
                    f"{url}{path}", json=payload, headers={"x-request-id": request_id}
                )
            except httpx.TransportError as error:
                outcome.errors[type(error).__name__] += 1
                outcome.failed_ids.add(request_id)
                continue
            outcome.statuses[response.status_code] += 1

    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        await asyncio.gather(*(one_client(client) for _ in range(concurrency)))
    return outcome


def drive(
    url: str,
    concurrency: int,
    total: int,
    deadline_s: float,
    stop=None,
    path: str = "/predict",
    payload: dict | None = None,
) -> Outcome:
    """POST one request from `concurrency` clients until `total` requests, the deadline, or
    stop(); by default a /predict of one row."""
    payload = payload if payload is not None else ROW
    return asyncio.run(_drive(url, concurrency, total, deadline_s, stop, path, payload))


@dataclass(frozen=True)
class FuzzResult:
    requests: int  # distinct requests (method, URL, headers' content type, body) sent
    statuses: Counter  # status of every request sent, duplicates included
    exit_code: int  # of the CLI run
    output: str  # the CLI run's

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def fuzz(st: Path, url: str, workdir: Path, examples: int = 400) -> FuzzResult:
    """Schema fuzzing from the service's own OpenAPI document, in two parts: one schemathesis CLI
    run with every phase (examples, coverage: wrong methods, content types, boundaries; then
    fuzzing), whose requests are read back from its HAR report; then, because one CLI run stops
    once new inputs stop finding new behaviour (about 150 requests here), schemathesis's
    strategies driven by hypothesis for `examples` valid and `examples` invalid bodies per
    prediction endpoint. Requests are counted when sent; `requests` counts distinct ones."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable

    workdir.mkdir(parents=True, exist_ok=True)
    report = workdir / "fuzz.har"
    done = run(
        [
            str(st), "run", f"{url}/docs.json",
            "--checks", "not_a_server_error",
            "--max-examples", "500",
            "--seed", "1",
            "--generation-database", "none",
            "--report", "har", "--report-har-path", str(report),
            "--no-color",
        ],
        echo=False,
        check=False,
        timeout=600,
        # Its cache (.schemathesis/) replays earlier runs' requests: keep it with this report.
        cwd=workdir,
    )  # fmt: skip
    seen: set[tuple] = set()
    statuses: Counter = Counter()
    entries = json.loads(report.read_text())["log"]["entries"] if report.exists() else []
    for entry in entries:
        request = entry["request"]
        body = (request.get("postData") or {}).get("text")
        seen.add(("cli", request["method"], request["url"], repr(request["headers"]), body))
        statuses[entry["response"]["status"]] += 1

    schema = schemathesis.openapi.from_url(f"{url}/docs.json")
    for result in schema.get_all_operations():
        operation = result.ok()
        modes = [schemathesis.GenerationMode.POSITIVE]
        if operation.method.upper() == "POST":
            modes.append(schemathesis.GenerationMode.NEGATIVE)
        for mode in modes:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples if operation.method.upper() == "POST" else 5,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def send(case) -> None:
                response = case.call(timeout=10)
                statuses[response.status_code] += 1
                seen.add((case.method, case.formatted_path, repr(case.query), repr(case.body),
                          case.media_type))  # fmt: skip

            # No invalid request exists for a GET without parameters: hypothesis says so.
            with contextlib.suppress(Unsatisfiable):
                send()
    return FuzzResult(len(seen), statuses, done.returncode, done.stdout + done.stderr)


def grace_s(repo: Path) -> int:
    """Seconds a pod has between SIGTERM and SIGKILL: the chart's terminationGracePeriodSeconds
    minus the preStop sleep that runs first."""
    values = yaml.safe_load((chart.chart_dir(repo) / "values.yaml").read_text())
    return values["terminationGracePeriodSeconds"] - values["preStopSleepSeconds"]


@dataclass(frozen=True)
class Shutdown:
    outcome: Outcome
    received_ids: set[str]  # request ids the service logged as received (LOG_LEVEL=DEBUG)
    exit_code: int
    exited_after_s: float

    @property
    def lost_in_flight(self) -> int:
        return len(self.received_ids & self.outcome.failed_ids)

    @property
    def never_received(self) -> int:
        """Transport errors other than refused connections, on requests the service never read."""
        return sum(n for name, n in self.outcome.errors.items() if name != "ConnectError")


def sigterm_under_load(process, url: str, log: Path, concurrency: int, grace_s: float) -> Shutdown:
    """Load from `concurrency` clients, SIGTERM to the server after 3 s, wait for it to exit.
    The server must run with LOG_LEVEL=DEBUG so that it logs each request id it receives."""
    stop = threading.Event()
    result: dict[str, Outcome] = {}

    def run() -> None:
        result["outcome"] = drive(url, concurrency, 1_000_000, 60, stop=stop.is_set)

    load = threading.Thread(target=run)
    load.start()
    time.sleep(3)
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        exit_code = process.wait(timeout=grace_s + 30)
    finally:
        exited_after = time.monotonic() - signalled
        stop.set()
        load.join(timeout=60)
    received = {
        json.loads(line)["request_id"]
        for line in log.read_text().splitlines()
        if line.startswith("{") and '"request received"' in line
    }
    return Shutdown(result["outcome"], received, exit_code, exited_after)


# wrk's script: POSTs GP_BODY and prints one GP_RESULT line of counts.
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk.lua"


def wrk_run(
    url: str, path: str, body: dict, concurrency: int, duration: int, timeout_s: int = 5
) -> dict:
    """wrk POSTing body (wrk.lua) to url+path: the fields of its GP_RESULT line."""
    command = [
        "wrk",
        f"-t{min(concurrency, 2)}",
        f"-c{concurrency}",
        f"-d{duration}s",
        "--timeout",
        f"{timeout_s}s",
        "-s",
        str(WRK_SCRIPT),
        f"{url}{path}",
    ]
    env = {"GP_BODY": json.dumps(body)}
    done = run(command, cwd=WRK_SCRIPT.parent, env=env, echo=False, check=False)
    out = done.stdout
    if done.returncode != 0 or "GP_RESULT" not in out:
        raise SystemExit(f"{' '.join(command)}:\n{out[-3000:]}\n{done.stderr[-3000:]}")
    # The child is reaped: its resource usage is in RUSAGE_CHILDREN; take the difference.
    fields = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", out.split("GP_RESULT", 1)[1])}
    return fields
