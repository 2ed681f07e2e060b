"""Training through the contract: the quality gate, and the lineage a registered model carries."""

import json
from pathlib import Path

import bentoml
import numpy as np
import pytest
import yaml

from iris_classifier import model, training
from iris_classifier.model import CONTRACT
from iris_classifier.spec import TrainingResult, encode


def test_model_meets_its_quality_gate(training_result: TrainingResult, config: dict) -> None:
    assert training.quality_gate_failures(training_result.metrics, config["quality_gate"]) == []


def test_quality_gate_names_each_failed_metric() -> None:
    failures = training.quality_gate_failures(
        {"accuracy": 0.5, "f1_macro": 0.95, "mae": 12.0},
        {"min_accuracy": 0.9, "min_f1_macro": 0.9, "max_mae": 10.0},
    )
    assert failures == [
        "mae 12.0000 is above the maximum 10.0",
        "accuracy 0.5000 is below the minimum 0.9",
    ]


def test_quality_gate_rejects_unknown_metrics_and_names() -> None:
    assert training.quality_gate_failures({"accuracy": 1.0}, {"min_auc": 0.5, "at_least": 1}) == [
        "at_least: a threshold is named min_<metric> or max_<metric>",
        "auc: no such metric (the gate names min_auc)",
    ]


def test_failed_gate_registers_nothing(
    tmp_path: Path, config_path: Path, training_result: TrainingResult
) -> None:
    metric = sorted(training_result.metrics)[0]
    strict = tmp_path / "strict.toml"
    kept = config_path.read_text().split("[quality_gate]")[0]
    strict.write_text(f"{kept}[quality_gate]\nmin_{metric} = 1e9\n")
    before = {str(m.tag) for m in bentoml.models.list()}
    assert training.main(["--config", str(strict)]) == 1
    assert {str(m.tag) for m in bentoml.models.list()} == before


def test_data_hash_is_stable_and_sensitive() -> None:
    features = np.arange(12, dtype=float).reshape(3, 4)
    target = np.array([0, 1, 2])
    assert training.dataset_sha256(features, target) == training.dataset_sha256(
        features.copy(), target
    )
    changed = features.copy()
    changed[0, 0] = 0.5
    assert training.dataset_sha256(changed, target) != training.dataset_sha256(features, target)


def test_registered_model_carries_lineage(model_tag: str, training_result: TrainingResult) -> None:
    metadata = bentoml.models.get(model_tag).info.metadata
    assert metadata["metrics"] == dict(training_result.metrics)
    assert len(metadata["training_data_sha256"]) == 64
    assert metadata["dataset"] == training_result.dataset
    assert metadata["git_commit"]
    # The template release, as the answers file records it (settings renders it from there;
    # YAML quotes a commit that is all digits, so the file is read as YAML, not as text).
    answers = yaml.safe_load((Path(__file__).parents[1] / ".copier-answers.yml").read_text())
    assert metadata["template_version"] == str(answers["_commit"])
    assert metadata["n_train"] == len(training_result.features) > 0
    assert metadata["task"] == CONTRACT.task.name
    assert metadata["feature_names"] == list(CONTRACT.feature_names)


def test_the_registered_model_predicts_as_the_trained_one(
    model_tag: str, training_result: TrainingResult
) -> None:
    rows = encode(CONTRACT.features, CONTRACT.examples)
    loaded = model.load(model_tag)
    np.testing.assert_allclose(
        loaded.predict(rows), CONTRACT.predict(training_result.model, rows), rtol=1e-5
    )


def test_reference_statistics_cover_every_feature_and_the_output(model_tag: str) -> None:
    stored = bentoml.models.get(model_tag)
    reference = json.loads(Path(stored.path_of(model.REFERENCE_FILE)).read_text())
    assert list(reference["features"]) == list(CONTRACT.feature_names)
    for stats in [*reference["features"].values(), reference["output"]]:
        proportions = stats["proportions"]
        values = proportions.values() if isinstance(proportions, dict) else proportions
        assert sum(values) == pytest.approx(1.0)
        if stats["kind"] == "numeric":
            assert len(stats["bin_edges"]) == len(proportions) + 1
