"""Wait for the canary `make deploy` started to be promoted or aborted (progressive_delivery).

    python3 deploy/rollout_wait.py ROLLOUT --namespace NS [--timeout 30m] [--poll 10]

Exits 0 when the Rollout is Healthy on the Deployment's new pod template, 1 when Argo Rollouts
aborted it (its analysis failed, or someone aborted it), 2 when the timeout passed first (a canary
paused for a person, or still stepping). Reads the Rollout and its Deployment with `kubectl get -o
json`: no kubectl plugin is needed, and only the standard library, so it runs in a deploy job that
has kubectl and Python but not the project's environment. Not `kubectl wait`: the outcome is one
of two phases (Healthy or Degraded) and `kubectl wait` waits for one; and a phase only counts once
the controller has seen the new Deployment (status.workloadObservedGeneration), so the previous
release's Healthy is never taken for this one's.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

HEALTHY, ABORTED, WAITING = "healthy", "aborted", "waiting"
DURATION = re.compile(r"^([0-9]+)(s|m|h)$")


def seconds(text: str) -> int:
    match = DURATION.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 90s, 30m or 1h")
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]


def verdict(rollout: dict[str, Any], deployment: dict[str, Any]) -> tuple[str, str]:
    """(HEALTHY, ABORTED or WAITING, what the controller says) for these two objects."""
    status = rollout.get("status") or {}
    message = status.get("message") or ""
    generation = str(rollout.get("metadata", {}).get("generation", ""))
    if str(status.get("observedGeneration", "")) != generation:
        return WAITING, "the controller has not seen the Rollout's new spec yet"
    workload = str(deployment.get("metadata", {}).get("generation", ""))
    if str(status.get("workloadObservedGeneration", "")) != workload:
        return WAITING, "the controller has not seen the Deployment's new pod template yet"
    phase = status.get("phase", "")
    if status.get("abort") or phase == "Degraded":
        return ABORTED, f"{phase}: {message}".rstrip(": ")
    if phase == "Healthy":
        return HEALTHY, "every step passed and the canary is the stable version"
    return WAITING, f"{phase}: {message}".rstrip(": ")


def kubectl_json(kubectl: str, kind: str, name: str, namespace: str) -> dict[str, Any]:
    done = subprocess.run(
        [kubectl, "get", kind, name, "--namespace", namespace, "--output", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"kubectl get {kind} {name}: {done.stderr.strip()}")
    return json.loads(done.stdout)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rollout", help="the Rollout's name (the Deployment has the same)")
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--timeout", type=seconds, default="30m")
    parser.add_argument("--poll", type=float, default=10.0, help="seconds between reads")
    args = parser.parse_args(argv)
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print(
            "kubectl is not installed: the deploy job needs it to follow the canary",
            file=sys.stderr,
        )
        return 1
    deadline = time.monotonic() + args.timeout
    said = ""
    while True:
        try:
            rollout = kubectl_json(kubectl, "rollouts.argoproj.io", args.rollout, args.namespace)
            deployment = kubectl_json(kubectl, "deployment", args.rollout, args.namespace)
        except RuntimeError as error:
            print(error, file=sys.stderr)
            return 1
        state, message = verdict(rollout, deployment)
        if message != said:
            print(f"rollout {args.rollout}: {message}", flush=True)
            said = message
        if state == HEALTHY:
            return 0
        if state == ABORTED:
            print(
                f"rollout {args.rollout} was aborted: the stable version still serves."
                " See docs/runbook.md#canary-aborted",
                file=sys.stderr,
            )
            return 1
        if time.monotonic() >= deadline:
            print(
                f"rollout {args.rollout} did not finish within {args.timeout} s ({message})",
                file=sys.stderr,
            )
            return 2
        time.sleep(args.poll)


if __name__ == "__main__":
    sys.exit(main())
