"""Batch scoring (`make score`) on a generated, trained repo: every input row ends in the output or
in the rejects, predictions are the real service's, a re-run gives the same result, a failed or
interrupted run publishes nothing, and `ENGINE=spark` (a real local[2] session) agrees exactly.

Inputs are generated from the repo's own model contract (no feature is named here): valid values
within each feature's rules, and rows that break a rule mixed in at known keys."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml
from packaging.requirements import Requirement

from devkit.service import TrainedRepo, free_port, make, serving, trained_repo

# Run with the generated repo's Python: it has pyarrow and the package; the template's venv has not.
GENERATE = """
import json, sys
from pathlib import Path
import numpy as np, pyarrow as pa, pyarrow.csv as pacsv, pyarrow.parquet as pq
from {package}.model import CONTRACT
from {package}.spec import Categorical

out, files, rows, kind = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
out.mkdir(parents=True)
rng = np.random.default_rng(7)
bad = []
for part in range(files):
    ids = np.arange(part * rows, (part + 1) * rows)
    columns = {{"row_id": pa.array(ids)}}
    for i, feature in enumerate(CONTRACT.features):
        broken = (ids % 53) == i  # outside the rule: an unknown value, a number over the maximum
        if isinstance(feature, Categorical):
            values = rng.choice(np.array(feature.values, dtype=object), rows)
            values[broken] = "no-such-value"
            columns[feature.name] = pa.array(values.tolist(), pa.string())
        else:
            values = rng.uniform(feature.minimum, feature.maximum, rows)
            values[broken] = feature.maximum + 1
            if not feature.nullable:  # missing where it may not be
                missing = (ids % 59) == i
                values[missing] = np.nan
                broken = broken | missing
            columns[feature.name] = pa.array(values)
        bad += ids[broken].tolist()
    table = pa.table(columns)
    if kind == "parquet":
        pq.write_table(table, out / f"part-{{part:03d}}.parquet")
    else:
        pacsv.write_csv(table, out / f"part-{{part:03d}}.csv")
print(json.dumps(sorted(set(bad))))
"""

READ = """
import json, sys
import pyarrow.parquet as pq
out = {}
for name in ("scores", "rejects"):
    rows = pq.read_table(sys.argv[1] + "/" + name).to_pylist()
    out[name] = sorted(rows, key=lambda row: row["row_id"])
print(json.dumps(out))
"""

FEATURES = """
import json
from {package}.model import CONTRACT
print(json.dumps([f.name for f in CONTRACT.features]))
"""


def python(trained: TrainedRepo, code: str, *args: str) -> str:
    done = subprocess.run(
        [str(trained.repo / ".venv" / "bin" / "python"), "-c", code, *args],
        cwd=trained.repo,
        env={**os.environ, **trained.env},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def generate(trained: TrainedRepo, out: Path, files: int, rows: int, kind: str = "parquet"):
    code = GENERATE.format(package=trained.package)
    return json.loads(python(trained, code, str(out), str(files), str(rows), kind))


def read(trained: TrainedRepo, folder: Path) -> dict:
    return json.loads(python(trained, READ, str(folder)))


def score(trained: TrainedRepo, *args: str, **env: str) -> subprocess.CompletedProcess:
    """The job itself, as the image's CronJob runs it (`make score` runs the same module)."""
    return subprocess.run(
        [str(trained.repo / ".venv" / "bin" / "python"), "-m", f"{trained.package}.score", *args],
        cwd=trained.repo,
        env={**os.environ, **trained.env, **env},
        capture_output=True,
        text=True,
    )


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> TrainedRepo:
    trained = trained_repo(tmp_path_factory.mktemp("score"))
    # About 14% of the generated rows break the contract: above the default 1%, allowed here.
    config = trained.repo / "config" / "scoring.toml"
    config.write_text(
        config.read_text().replace("max_reject_ratio = 0.01", "max_reject_ratio = 0.2")
    )
    return trained


@pytest.fixture(scope="module")
def scored(trained, tmp_path_factory) -> tuple[Path, list[int], Path]:
    """(input folder, keys of the rows that break the contract, output of `make score`)."""
    work = tmp_path_factory.mktemp("scored")
    bad = generate(trained, work / "input", files=4, rows=700)
    output = work / "output"
    out = make(
        trained.repo, "score", f"INPUT={work / 'input'}", f"OUTPUT={output}", env=trained.env
    )
    assert "scored 2" in out and "rejected" in out, out
    return work / "input", bad, output


def test_every_row_is_scored_or_rejected_and_predictions_are_the_services(
    trained, scored, tmp_path
) -> None:
    _, bad, output = scored
    result = read(trained, output)
    scored_keys = [row["row_id"] for row in result["scores"]]
    rejected_keys = [row["row_id"] for row in result["rejects"]]
    assert sorted(scored_keys + rejected_keys) == list(range(4 * 700)), "a row was lost or doubled"
    assert rejected_keys == bad and len(bad) > 50
    names = json.loads(python(trained, FEATURES.format(package=trained.package)))
    for reject in result["rejects"]:
        assert any(reject["reason"].startswith(f"{name}: ") for name in names), reject
        assert set(json.loads(reject["row"])) <= set(names)

    record = json.loads((output / "run.json").read_text())
    assert record["status"] == "succeeded"
    assert record["model_tag"] == trained.model_tag
    assert record["rows"] == {"input": 2800, "scored": len(scored_keys), "rejected": len(bad)}
    assert record["input"]["files"] == 4
    assert record["input"]["fingerprint"].startswith("sha256:")
    assert len(record["git_commit"]) == 40 and record["template_version"] != "unknown"
    assert record["finished_at"] >= record["started_at"]

    # The real service, for the same rows: the same label and probabilities, the same version.
    rows = {row["row_id"]: row for row in result["scores"][:300]}
    inputs = read_inputs(trained, scored[0], sorted(rows))
    version = trained.model_tag.split(":")[1]
    with serving(trained, tmp_path / "serve.log") as url:
        answers = []
        for start in range(0, len(inputs), 150):
            response = httpx.post(
                f"{url}/predict_batch", json={"instances": inputs[start : start + 150]}, timeout=30
            )
            assert response.status_code == 200, response.text
            answers += response.json()
    for key, answer in zip(sorted(rows), answers, strict=True):
        row = rows[key]
        assert row["model_version"] == answer["model_version"] == version
        assert row["label"] == answer["label"]
        assert row["probabilities"] == pytest.approx(list(answer["probabilities"].values()))


READ_INPUTS = """
import json, sys
import pyarrow.dataset as ds
from {package}.model import CONTRACT
keys = json.loads(sys.argv[2])
table = ds.dataset(sys.argv[1]).to_table().to_pylist()
by_key = {{row["row_id"]: row for row in table}}
print(json.dumps([{{f.name: by_key[k][f.name] for f in CONTRACT.features}} for k in keys]))
"""


def read_inputs(trained: TrainedRepo, folder: Path, keys: list[int]) -> list[dict]:
    code = READ_INPUTS.format(package=trained.package)
    return json.loads(python(trained, code, str(folder), json.dumps(keys)))


def test_a_rerun_gives_the_same_output_and_a_failed_run_publishes_nothing(
    trained, scored, tmp_path
) -> None:
    input_dir, _, first = scored
    output = tmp_path / "output"
    for _ in range(2):  # the second run replaces the first, never adds to it
        done = score(trained, "--input", str(input_dir), "--output", str(output))
        assert done.returncode == 0, done.stderr
        assert read(trained, output) == read(trained, first)
    assert leftovers(tmp_path) == []

    # Negative control: the same input under a 1% reject limit fails, names the limit, keeps the
    # previous good output untouched, and keeps the rejects for the team to look at.
    strict = tmp_path / "strict.toml"
    strict.write_text("[scoring]\nmax_reject_ratio = 0.01\n")
    done = score(
        trained, "--input", str(input_dir), "--output", str(output), "--config", str(strict)
    )
    assert done.returncode == 1
    assert "break the model contract, more than max_reject_ratio 1.00 %" in done.stderr
    assert read(trained, output) == read(trained, first)
    failed = json.loads((tmp_path / "output.failed" / "run.json").read_text())
    assert failed["status"] == "failed" and failed["rows"]["rejected"] > 0
    assert not (tmp_path / "output.failed" / "scores").exists()
    assert leftovers(tmp_path) == []

    # CSV input: typeless text, read with the same rules (a number that is no number is refused).
    csv_bad = generate(trained, tmp_path / "csv", files=1, rows=300, kind="csv")
    done = score(trained, "--input", str(tmp_path / "csv"), "--output", str(tmp_path / "csv-out"))
    assert done.returncode == 0, done.stderr
    result = read(trained, tmp_path / "csv-out")
    assert sorted(int(row["row_id"]) for row in result["rejects"]) == csv_bad  # text keys
    assert len(result["scores"]) + len(csv_bad) == 300

    # Bad input names what is wrong.
    done = score(trained, "--input", str(tmp_path / "nowhere"), "--output", str(output))
    assert done.returncode == 1 and "nowhere' does not exist" in done.stderr
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text('[scoring]\nmax_reject_ratio = "lots"\n')
    done = score(
        trained, "--input", str(input_dir), "--output", str(output), "--config", str(bad_config)
    )
    assert done.returncode == 1 and "max_reject_ratio = 'lots' must be a number" in done.stderr


COUNT_FAULT = """
import sys
from pathlib import Path
from {package} import score
real = score.ENGINES["local"]

def drops_a_row(files, keys, tag, staging, chunk_rows):
    counts = real(files, keys, tag, staging, chunk_rows)
    import pyarrow.parquet as pq
    part = staging / "scores" / "part-00000.parquet"
    pq.write_table(pq.read_table(part).slice(1), part)
    return counts

score.ENGINES["local"] = drops_a_row
sys.exit(score.main(sys.argv[1:]))
"""


def test_the_count_check_refuses_an_output_that_lost_a_row(trained, scored, tmp_path) -> None:
    """Fault injection: a scores file one row short must fail the run and publish nothing."""
    code = COUNT_FAULT.format(package=trained.package)
    done = subprocess.run(
        [
            str(trained.repo / ".venv" / "bin" / "python"),
            "-c",
            code,
            "--input",
            str(scored[0]),
            "--output",
            str(tmp_path / "out"),
        ],
        cwd=trained.repo,
        env={**os.environ, **trained.env},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "count check failed: the input has 2800 rows" in done.stderr
    assert not (tmp_path / "out").exists()


def test_sigterm_mid_run_leaves_no_partial_output(trained, tmp_path) -> None:
    generate(trained, tmp_path / "input", files=10, rows=3000)
    output = tmp_path / "output"
    command = [str(trained.repo / ".venv" / "bin" / "python"), "-m", f"{trained.package}.score"]
    process = subprocess.Popen(
        [
            *command,
            "--input",
            str(tmp_path / "input"),
            "--output",
            str(output),
            "--chunk-rows",
            "200",
        ],
        cwd=trained.repo,
        env={**os.environ, **trained.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    part = None
    while time.monotonic() < deadline and process.poll() is None:
        part = next(tmp_path.glob(".output.tmp-*/scores/part-00000.parquet"), None)
        if part is not None and part.stat().st_size > 0:
            break
        time.sleep(0.05)
    assert process.poll() is None and part is not None, "the run ended before it could be stopped"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert not output.exists()
    assert leftovers(tmp_path) == []


def test_spark_engine_gives_the_same_result(trained, scored, tmp_path) -> None:
    input_dir, _, local = scored
    output = tmp_path / "spark"
    make(
        trained.repo,
        "score",
        f"INPUT={input_dir}",
        f"OUTPUT={output}",
        "ENGINE=spark",
        env=trained.env,
    )
    assert read(trained, output) == read(trained, local)
    record = json.loads((output / "run.json").read_text())
    assert record["engine"] == "spark" and record["rows"]["input"] == 2800
    # The PySpark metadata pyproject.toml declares (so a re-lock need not download PySpark) is
    # the installed release's own, for the locked version.
    declared = tomllib.loads((trained.repo / "pyproject.toml").read_text())["tool"]["uv"]
    (spark,) = [m for m in declared["dependency-metadata"] if m["name"] == "pyspark"]
    installed = json.loads(python(trained, INSTALLED_METADATA, "pyspark"))
    assert installed["version"] == spark["version"], "re-declare the metadata of the new PySpark"
    assert installed["requires-python"] == spark["requires-python"]
    assert sorted(installed["provides-extras"]) == sorted(spark["provides-extras"])
    assert sorted(map(normalised, installed["requires-dist"])) == sorted(
        map(normalised, spark["requires-dist"])
    )


def test_spark_engine_reads_csv_as_the_local_engine_does(trained, tmp_path) -> None:
    """CSV on Spark (it failed before reading: the key columns' types were read as Parquet)."""
    generate(trained, tmp_path / "csv", files=1, rows=300, kind="csv")
    outputs = {}
    for engine in ("local", "spark"):
        outputs[engine] = tmp_path / engine
        args = ["--input", str(tmp_path / "csv"), "--output", str(outputs[engine])]
        done = score(trained, *args, "--engine", engine)
        assert done.returncode == 0, done.stderr[-3000:]
    assert read(trained, outputs["spark"]) == read(trained, outputs["local"])


# A package's metadata as installed, in the repo's own environment.
INSTALLED_METADATA = """
import json, sys
from importlib.metadata import metadata
found = metadata(sys.argv[1])
print(json.dumps({
    "version": found["Version"],
    "requires-python": found["Requires-Python"],
    "requires-dist": found.get_all("Requires-Dist") or [],
    "provides-extras": found.get_all("Provides-Extra") or [],
}))
"""


def normalised(requirement: str) -> str:
    return str(Requirement(requirement))


PUSHGATEWAY = shutil.which("prometheus-pushgateway")
PROMETHEUS = shutil.which("prometheus")


@contextmanager
def daemon(command: list[str], url: str, log: Path) -> Iterator[str]:
    """A loopback daemon, stopped with SIGTERM; yields once `url` answers."""
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def alert_state(prometheus: str, name: str) -> str | None:
    found = httpx.get(f"{prometheus}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    states = [a["state"] for a in found if a["labels"]["alertname"] == name]
    return states[0] if states else None


def test_a_failing_run_fires_the_failure_alert_through_a_real_pushgateway(
    trained, scored, tmp_path
) -> None:
    assert PUSHGATEWAY and PROMETHEUS, "`make test` installs prometheus and prometheus-pushgateway"
    input_dir = scored[0]
    gateway_port, prometheus_port = free_port(), free_port()
    gateway = f"http://127.0.0.1:{gateway_port}"
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(trained.repo / "monitoring" / "rules" / "batch.yml")],
        "scrape_configs": [
            {
                "job_name": "pushgateway",
                "honor_labels": True,  # keep the job label the run pushed with
                "static_configs": [{"targets": [f"127.0.0.1:{gateway_port}"]}],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    prometheus_command = [
        PROMETHEUS,
        f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{prometheus_port}",
    ]
    gateway_command = [PUSHGATEWAY, f"--web.listen-address=127.0.0.1:{gateway_port}"]
    strict = tmp_path / "strict.toml"
    strict.write_text("[scoring]\nmax_reject_ratio = 0.01\n")
    with (
        daemon(gateway_command, f"{gateway}/-/ready", tmp_path / "gateway.log"),
        daemon(
            prometheus_command,
            f"http://127.0.0.1:{prometheus_port}/-/ready",
            tmp_path / "prometheus.log",
        ),
    ):
        prometheus = f"http://127.0.0.1:{prometheus_port}"
        ok = score(
            trained,
            "--input",
            str(input_dir),
            "--output",
            str(tmp_path / "out"),
            "--pushgateway",
            gateway,
            BATCH_SCHEDULE="0 2 * * 1-5",  # as the chart's CronJob gives it
        )
        assert ok.returncode == 0, ok.stderr
        pushed = httpx.get(f"{gateway}/metrics", timeout=5).text
        # The longest gap of a weekday schedule: Friday 02:00 to Monday 02:00.
        interval = re.search(r"\nbatch_score_schedule_interval_seconds\{[^}]*\} (\S+)", pushed)
        assert interval and float(interval.group(1)) == 3 * 86400, pushed
        # Every metric the batch rules use is one the job pushes.
        rules = (trained.repo / "monitoring" / "rules" / "batch.yml").read_text()
        for name in sorted(set(re.findall(r"(batch_score_[a-z_]+)\{", rules))):
            assert f"\n{name}{{" in pushed, f"{name} is used by a batch rule but not pushed"
        time.sleep(3)  # scraped and evaluated at least twice: a success fires nothing
        assert alert_state(prometheus, "BatchScoreFailed") is None

        failed = score(
            trained,
            "--input",
            str(input_dir),
            "--output",
            str(tmp_path / "out"),
            "--pushgateway",
            gateway,
            "--config",
            str(strict),
        )
        assert failed.returncode == 1, failed.stderr
        state, deadline = None, time.monotonic() + 60
        while state != "firing" and time.monotonic() < deadline:
            time.sleep(1)
            state = alert_state(prometheus, "BatchScoreFailed")
        assert state == "firing", (tmp_path / "prometheus.log").read_text()[-3000:]
        # The failed run kept the last success time the good run pushed.
        assert (
            "batch_score_last_success_timestamp_seconds{"
            in httpx.get(f"{gateway}/metrics", timeout=5).text
        )
