"""GP_K8S_2: every container runs as a non-root user on a read-only root filesystem.

Why: a process that breaks out of the service should find neither root nor a writable image to
change; the image is built for it (a fixed non-root UID, writes only to mounted volumes).
Explained in docs/policies.md.
"""

from checkov.common.models.enums import CheckResult
from checkov.kubernetes.checks.resource.base_container_check import BaseK8sContainerCheck


def pod_spec(conf: dict, entity_type: str) -> dict:
    """The pod spec of a Pod, a CronJob or a workload with a pod template ({} when missing)."""
    spec = conf.get("spec") or {}
    if entity_type == "Pod":
        return spec
    if entity_type == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return (spec.get("template") or {}).get("spec") or {}


class NonRootReadOnly(BaseK8sContainerCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Every container runs as non-root on a read-only root filesystem",
            id="GP_K8S_2",
            guideline="docs/policies.md#gp_k8s_2",
        )
        self.pod_security: dict = {}

    def scan_spec_conf(self, conf: dict) -> CheckResult:
        self.pod_security = pod_spec(conf, self.entity_type).get("securityContext") or {}
        return super().scan_spec_conf(conf)

    def scan_container_conf(self, metadata: dict, conf: dict) -> CheckResult:
        self.evaluated_container_keys = ["securityContext"]
        security = conf.get("securityContext") or {}
        # A container's own setting wins over the pod's (as in Kubernetes).
        non_root = security.get("runAsNonRoot", self.pod_security.get("runAsNonRoot"))
        user = security.get("runAsUser", self.pod_security.get("runAsUser"))
        if non_root is not True or user == 0:
            return CheckResult.FAILED
        if security.get("readOnlyRootFilesystem") is not True:
            return CheckResult.FAILED
        return CheckResult.PASSED


check = NonRootReadOnly()
