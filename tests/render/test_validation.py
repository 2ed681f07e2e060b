"""Bad answers are rejected before anything is written, naming the value and the rule."""

import pytest

from goldenpath.render import render
from goldenpath.rules import violations

INVALID = [
    # (question, bad answer, other answers, text the message must contain)
    ("service_name", "Fraud-Scorer", {}, "'Fraud-Scorer' is not a valid service_name"),
    ("service_name", "fraud_scorer", {}, "no '_'"),
    ("service_name", "fraud.scorer", {}, "no '.'"),
    ("service_name", "a" * 41, {}, "allows at most 40 characters"),
    ("service_name", "9lives", {}, "may not start with a digit"),
    ("service_name", "", {}, "service_name is empty"),
    ("service_name", "scorer;rm -rf", {}, "no spaces or special characters"),
    ("service_name", "scorer$(id)", {}, "'scorer$(id)' is not a valid service_name"),
    ("service_name", "scorer-", {}, "ending with a letter or digit"),
    ("owner_team", "ML Team", {}, "'ML Team' is not a valid owner_team"),
    ("k8s_namespace", "Prod_NS", {}, "'Prod_NS' is not a valid k8s_namespace"),
    ("org", "-acme", {}, "'-acme' is not a valid org"),
    ("description", "", {}, "description is empty"),
    ("description", "two\nlines", {}, "line break or control character"),
    ("container_registry", "https://registry.example.com", {}, "not a valid container_registry"),
    ("container_registry", "Registry.Example.com/ML", {}, "not a valid container_registry"),
    ("min_replicas", -1, {}, "'-1' is not a valid min_replicas"),
    ("min_replicas", 0, {}, "'0' is not a valid min_replicas"),
    ("max_replicas", 2, {"min_replicas": 5}, "max_replicas 2 is below min_replicas 5"),
    ("slo_availability", 100.5, {}, "'100.5' is not a valid slo_availability"),
    ("slo_availability", 100, {}, "100 leaves no error budget"),
    ("slo_availability", 94.9, {}, "'94.9' is not a valid slo_availability"),
    ("repo_url", "http://github.com/acme/x", {}, "is not a valid repo_url"),
    ("repo_url", "https://github.com/acme/x/", {}, "no trailing slash"),
    ("slo_latency_p99_ms", 0, {}, "'0' is not a valid slo_latency_p99_ms"),
]


@pytest.mark.parametrize(
    ("question", "value", "others", "message"),
    INVALID,
    ids=[f"{q}={v!r}"[:60] for q, v, _, _ in INVALID],
)
def test_invalid_answer_is_rejected_naming_value_and_rule(
    tmp_path, question, value, others, message
) -> None:
    dst = tmp_path / "out"
    with pytest.raises(ValueError, match="Validation error") as raised:
        render(dst, {**others, question: value})
    assert message in str(raised.value)
    assert not dst.exists() or not any(dst.iterdir()), "nothing may be written on a bad answer"


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("service_name", "a"),
        ("service_name", "a" * 40),
        ("service_name", "fraud-scorer-2"),
        ("slo_availability", 99.999),
        ("container_registry", "localhost:5000/ml"),
    ],
)
def test_edge_answers_are_accepted(tmp_path, question, value) -> None:
    dst = render(tmp_path / "out", {question: value})
    assert (dst / ".copier-answers.yml").exists()


# An interactive prompt shows a message on one line, cut at the terminal's width.
FIRST_LINE = 80


@pytest.mark.parametrize(
    ("value", "fix"),
    [
        ("Fraud_Scorer", "no uppercase, no '_' (use '-')"),
        ("fraud.scorer", "no '.'"),
        ("9lives", "it may not start with a digit"),
        ("scorer;rm", "no spaces or special characters"),
        ("scorer-", "it must end with a letter or digit"),
    ],
)
def test_what_to_fix_fits_on_the_first_line(value, fix) -> None:
    message = violations({"service_name": value})["service_name"]
    assert fix in message[:FIRST_LINE], message
