"""GP_K8S_1: every container sets CPU and memory requests and limits.

Why: without requests the scheduler places pods on nodes that cannot hold them, and the
autoscaler's CPU target (a share of the request) means nothing; without limits one pod can starve
the others on its node. Explained in docs/policies.md.
"""

from checkov.common.models.enums import CheckResult
from checkov.kubernetes.checks.resource.base_container_check import BaseK8sContainerCheck


class ResourcesSet(BaseK8sContainerCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Every container sets CPU and memory requests and limits",
            id="GP_K8S_1",
            guideline="docs/policies.md#gp_k8s_1",
        )

    def scan_container_conf(self, metadata: dict, conf: dict) -> CheckResult:
        self.evaluated_container_keys = ["resources"]
        resources = conf.get("resources") or {}
        for bound in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if not (resources.get(bound) or {}).get(resource):
                    return CheckResult.FAILED
        return CheckResult.PASSED


check = ResourcesSet()
