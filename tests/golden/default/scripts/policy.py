"""Check this repository against the platform's policies (policies/): `make policy`.

    python scripts/policy.py --chart deploy/helm/NAME --rendered build/policy/chart [--json PATH]

The Kubernetes policies (policies/kubernetes/) run in checkov on the chart as `make policy`
renders it: with every values file, by digest, each as its own release (check_chart.py --digest
--releases). The repository policies (policies/repository.py) run here on the repository's own
files. checkov runs in an environment of its own (`uv tool run`, the version CHECKOV pins): its
dependencies conflict with this project's lock. Each failure is printed as `ID file: rule (doc)`;
the exit status is 1 when a policy fails, 2 when checkov could not run. The policies come with
the template: `copier update` brings new ones (see the template's CHANGELOG).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
ANSWERS = ROOT / ".copier-answers.yml"
CHECKOV = os.environ.get("CHECKOV", "checkov==3.3.30")
UV = os.environ.get("UV", "uv")
# What checkov 3.3.30 logs when it skips a policy file of policies/kubernetes/.
NOT_LOADED = (
    "Cannot load external check",
    "is missing required fields",
    "Failed to parse check id",
    "is not Dict. Skipping",
)


def repository_policies() -> list[dict]:
    """Run policies/repository.py: one result per policy and problem."""
    spec = importlib.util.spec_from_file_location("gp_repository", POLICIES / "repository.py")
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    answers = yaml.safe_load(ANSWERS.read_text()) if ANSWERS.is_file() else {}
    return module.results(ROOT, answers or {})


def kubernetes_policies(chart: Path, rendered: Path) -> list[dict]:
    """Run checkov with policies/kubernetes/ (and only those) on the rendered chart."""
    command = [
        *(UV, "tool", "run", "--from", CHECKOV, "checkov"),
        # An absolute folder: with a relative one, checkov 3.3.30 doubles it in its graph
        # policies' file paths.
        *("--directory", str(rendered.resolve()), "--framework", "kubernetes"),
        *("--external-checks-dir", str(POLICIES / "kubernetes"), "--check", "GP_*"),
        *("--skip-download", "--output", "json"),
    ]
    # BC_SKIP_MAPPING: no call to the vendor's platform for guideline links.
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env)
    except OSError as error:  # no uv
        raise RuntimeError(f"cannot start {UV}: {error}") from error
    # checkov logs a policy it cannot load and goes on without it: that is no pass.
    skipped = [line for line in done.stderr.splitlines() if any(m in line for m in NOT_LOADED)]
    if done.returncode not in (0, 1) or skipped:
        raise RuntimeError(f"checkov did not run the policies:\n{done.stderr[-3000:]}")
    reports = json.loads(done.stdout or "[]")
    reports = reports if isinstance(reports, list) else [reports]
    results = []
    for report in reports:
        checks = report.get("results", {})
        for outcome in ("passed_checks", "failed_checks", "skipped_checks"):
            for check in checks.get(outcome, []):
                # file_path: /<values file stem>/<chart>/templates/<file>, under --directory.
                stem, _, *template = Path(check["file_path"]).parts[1:]
                results.append(
                    {
                        "id": check["check_id"],
                        "rule": check["check_name"],
                        "doc": check.get("guideline") or "",
                        "file": f"{chart / Path(*template)} with {stem}.yaml",
                        "what": check["resource"].split(".helm.sh/")[0],
                        "passed": outcome != "failed_checks",
                        "skipped": (check.get("check_result") or {}).get("suppress_comment"),
                    }
                )
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chart", type=Path, required=True, help="the chart's folder")
    parser.add_argument(
        "--rendered", type=Path, required=True, help="its renders, one per values file"
    )
    parser.add_argument("--json", type=Path, help="also write every result to this file")
    args = parser.parse_args(argv)
    try:
        results = kubernetes_policies(args.chart, args.rendered) + repository_policies()
    except RuntimeError as error:
        print(f"policy check DID NOT RUN: {error}", file=sys.stderr)
        return 2
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    failed = [r for r in results if not r["passed"]]
    for result in results:
        if result.get("skipped"):
            print(f"{result['id']} skipped for {result['what']}: {result['skipped']}")
    for result in sorted(failed, key=lambda r: (r["id"], r["file"])):
        print(
            f"{result['id']} {result['file']}: {result['rule']} ({result['what']}; "
            f"see {result['doc']})",
            file=sys.stderr,
        )
    ids = sorted({r["id"] for r in results})
    print(f"{len(ids)} policies, {len(failed)} failures: {', '.join(ids)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
