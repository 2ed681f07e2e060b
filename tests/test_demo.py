"""`make demo`, the main job: scaffold, train, serve, and a real prediction printed."""

import json
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.generated_make, pytest.mark.server]


def test_demo_prints_a_real_prediction(tmp_path) -> None:
    workdir = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "goldenpath", "demo", "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = dict(
        line.split(":", 1) for line in done.stdout.splitlines() if line and ":" in line[:16]
    )
    prediction = json.loads(lines["prediction"])
    assert prediction["label"] == "setosa"  # the default contract's first example is a setosa
    assert set(prediction["probabilities"]) == {"setosa", "versicolor", "virginica"}
    tag = lines["model tag"].strip()
    assert tag.startswith("iris-classifier:")
    assert prediction["model_version"] == tag.split(":")[1]
    assert (workdir / "iris-classifier" / ".copier-answers.yml").is_file()
    assert "ERROR" not in (workdir / "serve.log").read_text()


def test_demo_fails_loudly_when_a_step_fails(tmp_path) -> None:
    workdir = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "goldenpath", "demo", "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=900,
        env={"PATH": "/nonexistent", "HOME": str(tmp_path)},
    )
    assert done.returncode != 0
    assert "demo failed" in done.stderr
