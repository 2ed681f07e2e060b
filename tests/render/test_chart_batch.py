"""The chart's batch scoring options through the real Helm engine: a CronJob (validated against the
Kubernetes schema) and a SparkApplication (validated with the Kubeflow Spark operator's published
API models, PyPI `kubeflow-spark-api`), both with the service's image, user and security context;
values.schema.json and the chart's `required` checks refuse bad batch values by name."""

from __future__ import annotations

import helm_python
import pytest

from devkit.chart import (
    BATCH,
    DIGEST,
    by_kind,
    chart_dir,
    lint_errors,
    render,
    strict_spark_application,
    validate,
    values_files,
    with_batch,
)


def test_cronjob_and_spark_application_render_and_validate(rendered) -> None:
    _, repo = rendered
    chart = chart_dir(repo)
    for name, values in values_files(chart).items():
        values = with_batch(values)
        assert lint_errors(chart, values) == [], name
        objects = render(chart, values)
        (cron,) = by_kind(objects, "CronJob")
        assert validate(cron), name
        (deployment,) = by_kind(objects, "Deployment")
        job = cron["spec"]["jobTemplate"]["spec"]
        pod = job["template"]["spec"]
        service_pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        (service_container,) = service_pod["containers"]
        assert cron["spec"]["concurrencyPolicy"] == "Forbid"
        assert job["backoffLimit"] >= 0 and job["activeDeadlineSeconds"] > 0
        assert container["image"] == service_container["image"]
        assert container["image"].endswith("@" + DIGEST)
        assert pod["securityContext"] == service_pod["securityContext"]
        assert container["securityContext"] == service_container["securityContext"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["command"][:2] == ["python", "-m"]
        assert container["command"][2].endswith(".score")
        assert container["args"] == ["--input", "/data/in", "--output", "/data/out"]
        assert {"name": "PUSHGATEWAY_URL", "value": BATCH["pushgatewayUrl"]} in container["env"]
        # The job pushes its schedule's interval: BatchScoreMissed follows the schedule.
        schedule = {"name": "BATCH_SCHEDULE", "value": cron["spec"]["schedule"]}
        assert schedule in container["env"]
        # The Service must never route to a scoring pod.
        selector = deployment["spec"]["selector"]["matchLabels"]
        labels = job["template"]["metadata"]["labels"]
        assert not selector.items() <= labels.items()

        (spark,) = by_kind(objects, "SparkApplication")
        app = strict_spark_application(spark)
        assert app.spec.type == "Python" and app.spec.mode == "cluster"
        assert app.spec.arguments[:2] == ["--engine", "spark"]
        assert app.spec.main_application_file.endswith("/spark_main.py")
        assert app.spec.executor.instances >= 1


def test_spark_application_check_catches_an_unknown_field(rendered) -> None:
    """Negative control of the validation above."""
    _, repo = rendered
    chart = chart_dir(repo)
    (spark,) = by_kind(render(chart, with_batch({})), "SparkApplication")
    spark["spec"]["driver"]["memoryy"] = "1g"
    with pytest.raises(AssertionError, match="does not know"):
        strict_spark_application(spark)
    spark["spec"]["driver"].pop("memoryy")
    spark["spec"]["executor"]["instances"] = "two"
    with pytest.raises(ValueError, match="instances"):
        strict_spark_application(spark)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"input": ""}, "batch.input is required"),
        ({"sparkApplication": {"enabled": True, "image": ""}}, "batch.sparkApplication.image"),
        ({"cronJob": {"enabled": True, "schedule": "nightly"}}, "schedule"),
        ({"cronJob": {"enabled": True, "backoffLimit": -1}}, "backoffLimit"),
        ({"pushgatewayUrl": "pushgateway:9091"}, "pushgatewayUrl"),
        ({"cronJob": {"enabled": True, "concurency": "Allow"}}, "concurency"),
    ],
)
def test_bad_batch_values_are_refused_by_name(rendered, changes, message) -> None:
    _, repo = rendered
    chart = chart_dir(repo)
    values = with_batch({}, **changes)
    with pytest.raises(Exception, match=message) as error:
        errors = lint_errors(chart, values)
        if errors:
            raise ValueError("; ".join(errors))
        helm_python.Chart.load(str(chart)).render(values, name=chart.name, namespace="ml")
    assert message in str(error.value)
