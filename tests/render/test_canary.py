"""Progressive delivery (progressive_delivery=argo-rollouts): the chart's Rollout and
AnalysisTemplate against Argo Rollouts' published models, the objects they leave as they were, and
the analysis judged as the controller judges it (devkit/rollouts.py) against a real Prometheus
holding the series of a healthy canary and of each kind of bad one, backfilled with promtool."""

from __future__ import annotations

import copy
import json
import os
import re
import runpy
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import yaml

from devkit.chart import by_kind, chart_dir, render, validate, values_files
from devkit.monitoring import PROMETHEUS, PROMTOOL
from devkit.operator import scrape_job
from devkit.project import copy_project
from devkit.rollouts import (
    ERROR,
    FAILED,
    INCONCLUSIVE,
    SUCCESSFUL,
    condition,
    measure,
    resolve_args,
    run_analysis,
    seconds,
)
from devkit.schemas import node_check
from goldenpath.localservice import serving

GOLDEN = Path(__file__).parents[1] / "golden" / "default"
ROLLOUT_KINDS = ("Rollout", "AnalysisTemplate")
ON = {"rollout": {"enabled": True}}


def canary_answer(answers: dict) -> bool:
    return answers.get("progressive_delivery", "none") == "argo-rollouts"


def test_rollout_objects_follow_the_answer_and_match_argo_rollouts_models(rendered) -> None:
    answers, repo = rendered
    chart = chart_dir(repo)
    documents, names = [], []
    for name, values in values_files(chart).items():
        objects = render(chart, values)
        found = [o for kind in ROLLOUT_KINDS for o in by_kind(objects, kind)]
        if not canary_answer(answers):
            assert found == [], f"{name}: progressive_delivery=none renders no {ROLLOUT_KINDS}"
            continue
        assert sorted(o["kind"] for o in found) == sorted(ROLLOUT_KINDS), name
        assert all(validate(o) is False for o in found), "CRDs: no bundled Kubernetes schema"
        documents += found
        names += [f"{name}: {o['kind']}" for o in found]
    if documents:
        errors = node_check("argo-rollouts", documents)
        assert {n: e for n, e in zip(names, errors, strict=True) if e} == {}


def test_argo_rollouts_models_refuse_a_broken_rollout_and_template() -> None:
    objects = render(chart_dir(GOLDEN), ON)
    (rollout,) = by_kind(objects, "Rollout")
    (template,) = by_kind(objects, "AnalysisTemplate")
    broken_rollout, broken_template = copy.deepcopy(rollout), copy.deepcopy(template)
    broken_rollout["spec"]["strategy"]["canary"]["steps"][0] = {"setWeight": "25%"}
    broken_template["spec"]["metrics"][0]["failureLimit"] = {"limit": 2}
    documents = [rollout, template, broken_rollout, broken_template]
    valid, valid_too, rollout_errors, template_errors = node_check("argo-rollouts", documents)
    assert valid == valid_too == []
    assert "Rollout /spec/strategy/canary/steps/0/setWeight: must be integer" in rollout_errors
    assert any("/spec/metrics/0/failureLimit" in e for e in template_errors), template_errors


def test_the_rollout_takes_over_the_deployment_and_leaves_its_neighbours_as_they_were(
    rendered,
) -> None:
    _, repo = rendered
    chart = chart_dir(repo)
    for name, values in values_files(chart).items():
        off = render(chart, {**values, "rollout": {"enabled": False}})
        on = render(chart, {**values, "rollout": {"enabled": True}})
        (rollout,) = by_kind(on, "Rollout")
        (deployment,) = by_kind(on, "Deployment")
        (hpa,) = by_kind(on, "HorizontalPodAutoscaler")
        assert rollout["spec"]["workloadRef"]["name"] == deployment["metadata"]["name"], name
        assert rollout["spec"]["selector"] == deployment["spec"]["selector"], name
        assert "replicas" not in deployment["spec"], f"{name}: the Rollout owns the replica count"
        # A rollback within the window skips the steps: the revisions must still be kept.
        window = rollout["spec"]["rollbackWindow"]["revisions"]
        assert 0 < window <= rollout["spec"]["revisionHistoryLimit"], name
        target = hpa["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Rollout", rollout["metadata"]["name"]), name
        assert validate(hpa) and validate(deployment), name
        (before,) = by_kind(off, "Deployment")
        assert {**before["spec"], "replicas": None} == {**deployment["spec"], "replicas": None}
        for kind in ("PodDisruptionBudget", "NetworkPolicy", "Service", "ConfigMap"):
            assert by_kind(on, kind) == by_kind(off, kind), f"{name}: {kind} changed"
        (monitor,) = by_kind(on, "ServiceMonitor")
        (monitor_before,) = by_kind(off, "ServiceMonitor")
        relabelings = monitor["spec"]["endpoints"][0].pop("relabelings")
        assert monitor == monitor_before, f"{name}: only the hash relabelling is added"
        assert relabelings == [
            {
                "sourceLabels": ["__meta_kubernetes_pod_label_rollouts_pod_template_hash"],
                "targetLabel": HASH_LABEL,
                "action": "replace",
            }
        ]


class Metrics(BaseHTTPRequestHandler):
    """A pod's /metrics: one prediction request counted."""

    def do_GET(self) -> None:
        body = b'bentoml_service_request_total{endpoint="/predict",http_response_code="200"} 3\n'
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


def test_the_scrape_keeps_the_pods_hash_where_the_analysis_looks(tmp_path) -> None:
    """Prometheus scraping a pod of the Rollout as the operator would from the rendered
    ServiceMonitor (devkit/operator.py): the analysis's canary selector, its argument
    substituted, finds the pod's series; without the relabelling it finds nothing."""
    objects = render(chart_dir(GOLDEN), ON)
    (monitor,) = by_kind(objects, "ServiceMonitor")
    (service,) = by_kind(objects, "Service")
    (deployment,) = by_kind(objects, "Deployment")
    (template,) = by_kind(objects, "AnalysisTemplate")
    # Argo Rollouts adds its ReplicaSet's hash to the pod template's labels.
    pod_labels = {**deployment["spec"]["template"]["metadata"]["labels"]}
    pod_labels["rollouts-pod-template-hash"] = CANARIES["healthy"]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Metrics)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"127.0.0.1:{server.server_address[1]}"
    jobs = []
    for relabelled in (True, False):
        endpoint = {**monitor["spec"]["endpoints"][0], "interval": "1s"}
        if not relabelled:
            del endpoint["relabelings"]
        one = {**monitor, "spec": {**monitor["spec"], "endpoints": [endpoint]}}
        job = scrape_job(one, service, pod_labels, address)
        job["job_name"] += "" if relabelled else "/control"
        jobs.append(job)
    (query,) = [
        m["provider"]["prometheus"]["query"]
        for m in template["spec"]["metrics"]
        if m["name"] == "error-ratio"
    ]
    args = {"canary-hash": CANARIES["healthy"], "stable-hash": STABLE}
    bodies = re.findall(r"bentoml_service_request_total\{([^}]*)\}", resolve_args(query, args))
    (canary,) = {b for b in bodies if args["canary-hash"] in b and "http_response_code" not in b}
    try:
        config = {"global": {"scrape_interval": "1s"}, "scrape_configs": jobs}
        with real_prometheus(tmp_path, config) as client:
            deadline = time.monotonic() + 30
            everything = []  # a series from each scrape job: the relabelled one and the control
            while len(everything) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
                everything = instant(client, "bentoml_service_request_total")
            hits = instant(client, f"bentoml_service_request_total{{{canary}}}")
    finally:
        server.shutdown()
    assert len(everything) == 2, everything
    (hit,) = hits
    assert hit["metric"][HASH_LABEL] == args["canary-hash"], hit
    (control,) = [e["metric"] for e in everything if e["metric"] != hit["metric"]]
    assert HASH_LABEL not in control, control


def test_analysis_counts_the_requests_the_slos_count(rendered) -> None:
    _, repo = rendered
    slo = (repo / "monitoring" / "rules" / "slo.yml").read_text()
    (api,) = set(re.findall(r'endpoint!~"[^"]+"', slo))
    (template,) = by_kind(render(chart_dir(repo), ON), "AnalysisTemplate")
    queries = {m["name"]: m["provider"]["prometheus"]["query"] for m in template["spec"]["metrics"]}
    assert api in queries["error-ratio"] and api in queries["latency-p99"]


# -- the analysis, against a real Prometheus ------------------------------------------------------

HASH_LABEL = "rollouts_pod_template_hash"
STABLE = "7d9f8b6c4"
# The canaries, one ReplicaSet hash each: what their pods do differently from the stable ones.
CANARIES = {
    "healthy": "5c8d7f9b6",
    "errors": "6b7c8d9f5",
    "slow": "8f6d5c7b9",
    "rejecting": "9b5f6d8c7",
    "shifted": "4d6c9b7f8",
    "idle": "3f8b9c6d5",
}
# The metric each bad canary must fail, and only that one.
EXPECTED_FAILURE = {
    "errors": "error-ratio",
    "slow": "latency-p99",
    "rejecting": "input-rejections",
    "shifted": "predictions",
}
RATE = 10  # prediction requests per second per pod
BEFORE = 30 * 60  # stable series this long before the analysis starts
AFTER = 25 * 60  # every series this long after


def chart_settings(repo: Path) -> tuple[dict, dict, int]:
    """(AnalysisTemplate, analysis values, scrape interval s) of the chart's defaults, enabled."""
    chart = chart_dir(repo)
    objects = render(chart, ON)
    (template,) = by_kind(objects, "AnalysisTemplate")
    (monitor,) = by_kind(objects, "ServiceMonitor")
    values = yaml.safe_load((chart / "values.yaml").read_text())["rollout"]
    return template, values, seconds(monitor["spec"]["endpoints"][0]["interval"])


def pod_series(kind: str, analysis: dict) -> Callable[[float], dict[str, float]]:
    """The counters of one pod of this kind at t seconds after it started serving: {series
    suffix (name and extra labels): value}. The latency buckets are fractions of the SLO."""
    slo = float(analysis["maxLatencyP99Seconds"])
    edges = [slo / 8, slo / 4, slo / 2, slo, 2 * slo, 4 * slo]
    error_ratio = min(0.95, max(0.05, 2 * float(analysis["maxErrorRatio"])))
    served = {"errors": 1 - error_ratio}.get(kind, 1.0)
    rejected = {"rejecting": 0.10}.get(kind, 0.01)
    # share of requests per latency bucket: under slo/8, under slo/4, above 2 x slo (slow only)
    slow = 0.05 if kind == "slow" else 0.0
    classes = {"shifted": [0.7, 0.15, 0.15], "healthy": [0.35, 0.33, 0.32]}.get(
        kind, [0.34, 0.33, 0.33]
    )
    mean = {"shifted": 80.0, "healthy": 52.0}.get(kind, 50.0)
    prediction_edges = [10.0 * i for i in range(1, 10)]  # stable: uniform on 0-100, deciles
    if kind in CANARIES and kind != "healthy":
        prediction_edges = [15.0 + 10.0 * i for i in range(9)]  # a new model's own deciles

    def at(t: float) -> dict[str, float]:
        n = 0.0 if kind == "idle" else RATE * t
        ok = n * served * (1 - rejected)
        out = {
            '{endpoint="/predict",http_response_code="200"}': ok,
            '{endpoint="/predict",http_response_code="400"}': n * rejected,
            '{endpoint="/readyz",http_response_code="200"}': t / 5,
            '{endpoint="/metrics",http_response_code="200"}': t / 30,
        }
        if kind == "errors":
            out['{endpoint="/predict",http_response_code="500"}'] = n * (1 - served)
        series = {f"bentoml_service_request_total{k}": v for k, v in out.items()}
        timed = n
        fractions = [0.5 * (1 - slow), 1 - slow, 1 - slow, 1 - slow, 1 - slow, 1.0]
        name = "bentoml_service_request_duration_seconds"
        for edge, fraction in zip(edges, fractions, strict=True):
            series[f'{name}_bucket{{endpoint="/predict",le="{edge:g}"}}'] = timed * fraction
        series[f'{name}_bucket{{endpoint="/predict",le="+Inf"}}'] = timed
        series[f'{name}_count{{endpoint="/predict"}}'] = timed
        series[f'{name}_sum{{endpoint="/predict"}}'] = timed * slo / 8
        series['model_rejected_inputs_total{endpoint="/predict",reason="missing"}'] = n * rejected
        predicted = n * (1 - rejected) * served
        for label, share in zip(("a", "b", "c"), classes, strict=True):
            series[f'model_predictions_total{{label="{label}"}}'] = predicted * share
        for edge in prediction_edges:  # uniform around the mean, 100 wide
            below = min(1.0, max(0.0, (edge - (mean - 50.0)) / 100.0))
            series[f'model_prediction_value_bucket{{le="{edge:g}"}}'] = predicted * below
        series['model_prediction_value_bucket{le="+Inf"}'] = predicted
        series["model_prediction_value_count"] = predicted
        series["model_prediction_value_sum"] = predicted * mean
        return series

    return at


def openmetrics(job: str, start: int, scrape: int, analysis: dict) -> str:
    """Every pod's series as the ServiceMonitor's scrape leaves them (job, namespace, pod and the
    ReplicaSet hash), from BEFORE (stable) or the analysis start (canaries) to AFTER."""
    pods = [(f"{job}-{STABLE}-a", STABLE, "stable", start - BEFORE)]
    pods += [(f"{job}-{STABLE}-b", STABLE, "stable", start - BEFORE)]
    pods += [(f"{job}-{h}-a", h, kind, start) for kind, h in CANARIES.items()]
    families: dict[str, list[str]] = {}
    for pod, hash_, kind, since in pods:
        where = f'job="{job}",namespace="ml",pod="{pod}",{HASH_LABEL}="{hash_}"'
        counters = pod_series(kind, analysis)
        for t in range(since, start + AFTER + 1, scrape):
            for key, value in counters(t - since).items():
                name, _, labels = key.partition("{")
                labels = f"{where},{labels.rstrip('}')}" if labels else where
                families.setdefault(name, []).append(f"{name}{{{labels}}} {value:.6f} {t}")
    lines = [line for name in sorted(families) for line in families[name]]
    return "\n".join([*lines, "# EOF"]) + "\n"


@contextmanager
def real_prometheus(folder: Path, config: dict) -> Iterator[httpx.Client]:
    """A real Prometheus with this configuration over folder/tsdb, ready, as an HTTP client."""
    assert PROMTOOL and PROMETHEUS, "prometheus is missing: `make test` installs the package"
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    with (
        serving(
            lambda port: [
                PROMETHEUS,
                f"--config.file={folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={folder / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            cwd=folder,
            log=folder / "prometheus.log",
            ready=False,
        ) as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        deadline = time.monotonic() + 60
        while client.get("/-/ready").status_code != 200:
            assert time.monotonic() < deadline, (folder / "prometheus.log").read_text()
            time.sleep(0.2)
        yield client


def instant(client: httpx.Client, promql: str, at: float | None = None) -> list[dict]:
    params = {"query": promql} if at is None else {"query": promql, "time": at}
    answer = client.get("/api/v1/query", params=params)
    assert answer.status_code == 200, f"{promql}\n{answer.text}"
    data = answer.json()["data"]
    assert data["resultType"] == "vector", data
    return data["result"]


@pytest.fixture
def prometheus(tmp_path) -> Iterator[Callable[[str], Callable[[str, int], list[float]]]]:
    """backfill(openmetrics text) -> query(promql, unix time): a real Prometheus serving those
    series (backfilled with `promtool tsdb create-blocks-from openmetrics`)."""
    with ExitStack() as stack:

        def backfill(text: str) -> Callable[[str, int], list[float]]:
            (tmp_path / "series.om").write_text(text)
            subprocess.run(
                [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", "series.om", "tsdb"],
                cwd=tmp_path,
                check=True,
                capture_output=True,
            )
            client = stack.enter_context(real_prometheus(tmp_path, {"global": {}}))
            return lambda promql, at: [float(s["value"][1]) for s in instant(client, promql, at)]

        yield backfill


def test_analysis_promotes_a_healthy_canary_and_aborts_each_bad_one_in_time(
    rendered, prometheus
) -> None:
    _, repo = rendered
    template, values, scrape = chart_settings(repo)
    analysis = values["analysis"]
    job = template["metadata"]["labels"]["app.kubernetes.io/name"]
    # Old enough to be backfilled whole; whole minutes, as a controller's clock is not.
    start = (int(time.time()) - 2 * 3600) // 60 * 60
    query = prometheus(openmetrics(job, start, scrape, analysis))
    steps = values["steps"]
    (rollout,) = by_kind(render(chart_dir(repo), ON), "Rollout")
    first = rollout["spec"]["strategy"]["canary"]["analysis"]["startingStep"]
    promote_after = sum(seconds(s["pause"]["duration"]) for s in steps[first:] if "pause" in s)
    detection = seconds(analysis["initialDelay"]) + seconds(analysis["interval"]) * int(
        analysis["failureLimit"]
    )
    verdicts = {}
    for kind, hash_ in CANARIES.items():
        args = {"canary-hash": hash_, "stable-hash": STABLE}
        verdicts[kind] = run_analysis(template, args, query, start, promote_after)

    healthy = verdicts["healthy"]
    assert healthy.outcome == "promote", {n: r.values for n, r in healthy.metrics.items()}
    assert all(set(r.phases) == {SUCCESSFUL} for r in healthy.metrics.values())
    for kind, metric in EXPECTED_FAILURE.items():
        verdict = verdicts[kind]
        seen = {n: list(zip(r.phases, r.values, strict=True)) for n, r in verdict.metrics.items()}
        assert verdict.outcome == "abort", (kind, seen)
        assert verdict.ended(FAILED) == {metric}, (kind, seen)
        assert verdict.at <= detection, f"{kind}: aborted after {verdict.at} s, not {detection} s"
        others = {n: r.phases for n, r in verdict.metrics.items() if n != metric}
        assert all(set(p) == {SUCCESSFUL} for p in others.values()), (kind, others)
    # No data (a canary no request reached) is never a pass: inconclusive, then a pause.
    idle = verdicts["idle"]
    assert idle.outcome == "pause", idle
    assert all(r.phases[0] == INCONCLUSIVE for r in idle.metrics.values()), idle
    assert all(r.values[0] == [] for r in idle.metrics.values()), idle


def test_the_stated_detection_time_is_the_defaults(rendered) -> None:
    _, repo = rendered
    _, values, _ = chart_settings(repo)
    analysis = values["analysis"]
    detection = seconds(analysis["initialDelay"]) + seconds(analysis["interval"]) * int(
        analysis["failureLimit"]
    )
    assert detection == 180
    text = (chart_dir(repo) / "values.yaml").read_text()
    stated = "initialDelay + interval x failureLimit of the analysis start (3m with these values)"
    assert stated in " ".join(text.replace("#", " ").split())


# -- the controller's side, on its own -----------------------------------------------------------


def test_conditions_are_evaluated_as_expr_lang_does() -> None:
    success = "len(result) > 0 && result[0] <= 0"
    failure = "len(result) > 0 && result[0] > 0"
    metric = {"name": "m", "successCondition": success, "failureCondition": failure}
    assert measure(metric, [-0.01]) == SUCCESSFUL
    assert measure(metric, [0.2]) == FAILED
    assert measure(metric, []) == INCONCLUSIVE
    assert measure(metric, [float("nan")]) == INCONCLUSIVE
    assert measure({**metric, "successCondition": "result[0] <= 0"}, []) == ERROR
    assert condition("result[0] < 1 || len(result) == 3", [5.0, 1.0, 2.0]) is True
    with pytest.raises(ValueError, match="outside the modelled subset"):
        condition("result[0] <= mean(result)", [1.0])


def test_arguments_are_substituted_as_the_controller_does() -> None:
    text = 'a{h="{{args.canary-hash}}",s="{{ args.stable-hash }}"}'
    assert resolve_args(text, {"canary-hash": "c1", "stable-hash": "s1"}) == 'a{h="c1",s="s1"}'
    with pytest.raises(ValueError, match="failed to resolve"):
        resolve_args("{{args.other}}", {"canary-hash": "c1"})


# -- make deploy waits for the verdict ------------------------------------------------------------

DIGEST = "sha256:" + "c" * 64
WORKLOAD_GENERATION = 7  # the Deployment's generation once helm has applied the new template


def rollout_status(phase: str, workload: int = WORKLOAD_GENERATION, **status: object) -> dict:
    """A Rollout as the controller (1.x) reports it: generations as strings, phase and message."""
    return {
        "metadata": {"name": "svc", "generation": 3},
        "status": {
            "observedGeneration": "3",
            "workloadObservedGeneration": str(workload),
            "phase": phase,
            **status,
        },
    }


PREVIOUS_HEALTHY = rollout_status("Healthy", workload=WORKLOAD_GENERATION - 1)
ABORTED = rollout_status(
    "Degraded",
    abort=True,
    message='RolloutAborted: Rollout aborted update to revision 4: Metric "error-ratio" assessed'
    " Failed due to failed (3) > failureLimit (2)",
)


def test_the_wait_reads_the_verdict_of_the_new_release_only() -> None:
    verdict = runpy.run_path(str(GOLDEN / "deploy" / "rollout_wait.py"))["verdict"]
    deployment = {"metadata": {"generation": WORKLOAD_GENERATION}}
    assert verdict(rollout_status("Healthy"), deployment)[0] == "healthy"
    assert verdict(PREVIOUS_HEALTHY, deployment)[0] == "waiting"
    unseen_spec = rollout_status("Healthy", observedGeneration="2")
    assert verdict(unseen_spec, deployment)[0] == "waiting"
    assert verdict(rollout_status("Paused", message="CanaryPauseStep"), deployment)[0] == "waiting"
    assert verdict(rollout_status("Progressing"), deployment)[0] == "waiting"
    state, message = verdict(ABORTED, deployment)
    assert state == "aborted" and '"error-ratio" assessed Failed' in message


@pytest.fixture(scope="module")
def canary_repo(tmp_path_factory) -> Path:
    """A canary repository without a registry, whose deployment record is a file."""
    out = tmp_path_factory.mktemp("canary") / "svc"
    return copy_project(
        out, service_name="svc", model_registry="none", progressive_delivery="argo-rollouts"
    )


def stand_ins(bin_dir: Path, states: list[dict]) -> None:
    """No cluster runs here: `helm` records its arguments, and `kubectl get` answers the Rollout's
    states in turn (the last one again and again) and the Deployment at its new generation."""
    bin_dir.mkdir()
    for index, state in enumerate(states):
        (bin_dir / f"rollout-{index}.json").write_text(json.dumps(state))
    (bin_dir / "deployment.json").write_text(
        json.dumps({"metadata": {"generation": WORKLOAD_GENERATION}})
    )
    scripts = {
        "helm": f'echo "$@" >> "{bin_dir}/helm.log"\n',
        "kubectl": (
            f'cd "{bin_dir}"\n'
            'case "$2" in\n'
            "  rollouts.argoproj.io)\n"
            "    n=$(cat count 2>/dev/null || echo 0)\n"
            f"    [ -f rollout-$n.json ] || n={len(states) - 1}\n"
            "    echo $((n + 1)) > count; cat rollout-$n.json ;;\n"
            "  deployment) cat deployment.json ;;\n"
            '  *) echo "unexpected kubectl $*" >&2; exit 1 ;;\n'
            "esac\n"
        ),
    }
    for name, body in scripts.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}")
        (bin_dir / name).chmod(0o755)


@pytest.mark.parametrize(
    ("case", "states", "exit_code", "record"),
    [
        (
            "promoted",
            [PREVIOUS_HEALTHY, rollout_status("Paused"), rollout_status("Healthy")],
            0,
            None,
        ),
        ("aborted", [PREVIOUS_HEALTHY, rollout_status("Progressing"), ABORTED], 2, "aborted"),
        ("paused past the timeout", [rollout_status("Paused")], 2, None),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_make_deploy_waits_for_promotion_and_fails_on_an_abort(
    canary_repo, tmp_path, case, states, exit_code, record
) -> None:
    repo = tmp_path / "svc"
    shutil.copytree(canary_repo, repo, symlinks=True)
    stand_ins(tmp_path / "bin", states)
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["make", "deploy", "ENV=staging", f"DIGEST={DIGEST}", "ROLLOUT_POLL=0.05"]
        + (["ROLLOUT_TIMEOUT=1s"] if case.startswith("paused") else []),
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = done.stdout + done.stderr
    assert done.returncode == exit_code, out
    assert f"image.digest={DIGEST}" in (tmp_path / "bin" / "helm.log").read_text()
    record_file = repo / "build" / "deployment-record.json"
    if record is None:
        assert not record_file.exists(), out
    else:
        written = json.loads(record_file.read_text())
        assert (written["kind"], written["environment"]) == (record, "staging"), written
        assert "was aborted: the stable version still serves" in out
    if case.startswith("paused"):
        assert "did not finish within 1 s (Paused)" in out
