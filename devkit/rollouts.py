"""The Argo Rollouts controller's side of a canary analysis, for tests that have no controller: its
argument substitution, its evaluation of a metric's conditions, and its assessment of a metric's
measurements, so the chart's AnalysisTemplate can be judged against a real Prometheus.

Written from argo-rollouts (master of 2026-08), read, not copied:
- `utils/template/template.go` `ResolveArgs`/`resolve`: `{{ args.NAME }}` tags (spaces trimmed)
  are replaced by the argument's value; any other tag is an error.
- `metricproviders/prometheus/prometheus.go` `processResponse`: an instant vector becomes the list
  of its sample values (`result`), a scalar its value.
- `utils/evaluate/evaluate.go` `EvaluateResult`: with both conditions set, the measurement is
  Failed when the failure condition holds, Successful when only the success condition holds, and
  Inconclusive when neither does; an expression that cannot be evaluated is an Error.
- `analysis/analysis.go` `assessMetricFailureInconclusiveOrError`: a metric is Failed when its
  failed measurements exceed failureLimit, Inconclusive (checked after, so it wins) when its
  inconclusive ones exceed inconclusiveLimit, Error after more than consecutiveErrorLimit (4)
  errors in a row; `generateMetricTasks`: the first measurement after initialDelay, then one each
  interval.

Conditions are expr-lang expressions; `condition` evaluates the subset the chart writes exactly (a
boolean combination of comparisons of numbers, `result[i]` and `len(result)`) and refuses anything
else, so a condition outside it fails the test instead of being guessed at.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

SUCCESSFUL, FAILED, INCONCLUSIVE, ERROR = "Successful", "Failed", "Inconclusive", "Error"
CONSECUTIVE_ERROR_LIMIT = 4
TAG = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
GO_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def seconds(duration: str) -> int:
    """A Go duration of hours, minutes and seconds (`1m`, `90s`, `1h30m`) in seconds."""
    match = GO_DURATION.match(str(duration))
    if not match or not any(match.groups()):
        raise ValueError(f"{duration!r} is not a duration of h, m and s")
    hours, minutes, secs = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + secs


def resolve_args(template: str, args: Mapping[str, str]) -> str:
    """ResolveArgs: every `{{args.NAME}}` replaced by the argument's value."""

    def value(match: re.Match) -> str:
        tag = match.group(1).strip()
        if not tag.startswith("args.") or tag.removeprefix("args.") not in args:
            raise ValueError(f"failed to resolve {{{{{match.group(1)}}}}}")
        return args[tag.removeprefix("args.")]

    return TAG.sub(value, template)


COMPARE: dict[type, Callable[[float, float], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


class ConditionError(ValueError):
    """The condition cannot be evaluated (the controller's measurement Error)."""


def condition(expression: str, result: Sequence[float] | float) -> bool:
    """An expr-lang condition of the chart's subset, evaluated over `result`."""
    python = expression.replace("&&", " and ").replace("||", " or ")
    if re.search(r"\b(and|or)\b", expression) or "!" in expression.replace("!=", ""):
        raise ValueError(f"{expression!r}: only &&, || and comparisons are modelled")
    tree = ast.parse(python, mode="eval").body

    def number(node: ast.AST) -> float | int:
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -number(node.operand)
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "len" and len(node.args) == 1:
            if ast.unparse(node.args[0]) != "result" or isinstance(result, float):
                raise ValueError(f"{expression!r}: len() of anything but a list result")
            return len(result)
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "result":
            index = number(node.slice)
            if isinstance(result, float) or not isinstance(index, int):
                raise ConditionError(f"cannot index {result!r} with {index!r}")
            if not -len(result) <= index < len(result):  # expr-lang: index out of range
                raise ConditionError(f"index out of range: {index} (array length is {len(result)})")
            return result[index]
        if isinstance(node, ast.Name) and node.id == "result" and isinstance(result, float):
            return result
        raise ValueError(f"{expression!r}: {ast.unparse(node)} is outside the modelled subset")

    def truth(node: ast.AST) -> bool:
        if isinstance(node, ast.BoolOp):  # short-circuit, as expr-lang's && and ||
            if isinstance(node.op, ast.And):
                return all(truth(v) for v in node.values)
            return any(truth(v) for v in node.values)
        if isinstance(node, ast.Compare):
            left = number(node.left)
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                if type(op) not in COMPARE:
                    raise ValueError(f"{expression!r}: operator {type(op).__name__}")
                right = number(right_node)
                if not COMPARE[type(op)](left, right):
                    return False
                left = right
            return True
        raise ValueError(f"{expression!r}: {ast.unparse(node)} is not a boolean expression")

    return truth(tree)


def measure(metric: Mapping, result: Sequence[float] | float) -> str:
    """EvaluateResult for a metric with both a success and a failure condition."""
    assert metric.get("successCondition") and metric.get("failureCondition"), metric["name"]
    try:
        success = condition(metric["successCondition"], result)
        failure = condition(metric["failureCondition"], result)
    except ConditionError:
        return ERROR
    if failure:
        return FAILED
    return SUCCESSFUL if success else INCONCLUSIVE


@dataclass
class MetricRun:
    """One metric of an analysis run: its measurements so far and its phase."""

    metric: Mapping
    phases: list[str] = field(default_factory=list)
    values: list[Sequence[float] | float | None] = field(default_factory=list)

    @property
    def phase(self) -> str | None:
        """assessMetricFailureInconclusiveOrError; None while the metric runs on."""
        failed = self.phases.count(FAILED)
        inconclusive = self.phases.count(INCONCLUSIVE)
        errors = 0
        for phase in reversed(self.phases):
            if phase != ERROR:
                break
            errors += 1
        found = None
        if failed > int(self.metric.get("failureLimit", 0)):
            found = FAILED
        if inconclusive > int(self.metric.get("inconclusiveLimit", 0)):
            found = INCONCLUSIVE
        if errors > int(self.metric.get("consecutiveErrorLimit", CONSECUTIVE_ERROR_LIMIT)):
            found = ERROR
        return found


@dataclass
class Verdict:
    """What the rollout does: promote, abort (a metric Failed or Error) or pause (Inconclusive)."""

    outcome: str
    at: int  # seconds after the analysis started
    metrics: dict[str, MetricRun]

    def ended(self, phase: str) -> set[str]:
        return {name for name, run in self.metrics.items() if run.phase == phase}


def run_analysis(
    template: Mapping,
    args: Mapping[str, str],
    query: Callable[[str, int], list[float]],
    start: int,
    promote_after: int,
) -> Verdict:
    """A background analysis started at `start` (a unix time) and the rollout's verdict: each
    metric is measured at start + initialDelay and then every interval (its query, arguments
    substituted, asked of `query` at that time); the first metric to end Failed or Error aborts,
    Inconclusive pauses, and none by `promote_after` seconds promotes."""
    metrics = template["spec"]["metrics"]
    declared = {a["name"] for a in template["spec"].get("args", [])}
    assert set(args) == declared, f"the template declares args {declared}, given {set(args)}"
    runs = {m["name"]: MetricRun(m) for m in metrics}
    times = set()
    for metric in metrics:
        at = seconds(metric.get("initialDelay", "0s"))
        while at <= promote_after:
            times.add(at)
            at += seconds(metric["interval"])
    for at in sorted(times):
        for metric in metrics:
            delay, interval = seconds(metric.get("initialDelay", "0s")), seconds(metric["interval"])
            if at < delay or (at - delay) % interval:
                continue
            promql = resolve_args(metric["provider"]["prometheus"]["query"], args)
            result = query(promql, start + at)
            runs[metric["name"]].values.append(result)
            runs[metric["name"]].phases.append(measure(metric, result))
        ended = {run.phase for run in runs.values()} - {None}
        if ended & {FAILED, ERROR}:
            return Verdict("abort", at, runs)
        if INCONCLUSIVE in ended:
            return Verdict("pause", at, runs)
    return Verdict("promote", promote_after, runs)
