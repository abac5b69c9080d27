"""Checks deploy/kubernetes: every manifest against the Kubernetes API schemas (strict,
with kubernetes-validate's bundled schemas, offline), the kustomization against the
folder, and the settings that must agree with Berth's: probes on /ready and /health, a
grace period longer than [http] shutdown_grace_ms plus the preStop pause, a non-root,
read-only-root container. Usage: validate_deploy.py DEPLOY_DIR KUBERNETES_VERSION"""

import pathlib
import sys
import tomllib

import kubernetes_validate
import yaml


def main() -> int:
    folder = pathlib.Path(sys.argv[1]) / "kubernetes"
    version = sys.argv[2]
    problems = []
    manifests = {}
    for path in sorted(folder.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if path.name == "kustomization.yaml":
                kustomization = doc
                continue
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except Exception as error:  # noqa: BLE001 - every kind of refusal is a problem
                problems.append(f"{path.name}: {error}")
            manifests[(doc["kind"], path.name)] = doc

    listed = set(kustomization["resources"])
    present = {p.name for p in folder.glob("*.yaml")} - {"kustomization.yaml"}
    if listed != present:
        problems.append(f"kustomization.yaml lists {sorted(listed)}, the folder has {sorted(present)}")

    by_kind = {kind: doc for (kind, _), doc in manifests.items()}
    config = tomllib.loads(by_kind["ConfigMap"]["data"]["berth.toml"])
    grace_ms = config.get("http", {}).get("shutdown_grace_ms", 10000)
    pod = by_kind["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    if pod["terminationGracePeriodSeconds"] * 1000 <= grace_ms + pause * 1000:
        problems.append(
            f"terminationGracePeriodSeconds {pod['terminationGracePeriodSeconds']} s does not "
            f"cover shutdown_grace_ms {grace_ms} ms plus the {pause} s preStop pause"
        )
    if container["readinessProbe"]["httpGet"]["path"] != "/ready":
        problems.append("the readiness probe must ask /ready")
    if container["livenessProbe"]["httpGet"]["path"] != "/health":
        problems.append("the liveness probe must ask /health")
    security = container["securityContext"]
    if not (pod["securityContext"].get("runAsNonRoot") and security.get("readOnlyRootFilesystem")):
        problems.append("the container must run as non-root with a read-only root filesystem")
    if security.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation must be false")

    for problem in problems:
        print(problem)
    print(f"{len(manifests)} manifests checked against Kubernetes {version}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
