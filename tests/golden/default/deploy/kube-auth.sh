#!/bin/sh
# Writes a kubeconfig that authenticates with the CI job's short-lived OIDC token: no stored
# cluster credentials. The cluster must trust the CI issuer (Kubernetes structured authentication,
# or your cloud's workload identity federation); the platform team sets it up once per cluster.
# Needs: KUBE_SERVER (API URL) and KUBE_CA_DATA (base64 CA), as CI variables (not secrets).
set -eu
out="${1:?usage: kube-auth.sh KUBECONFIG_PATH}"
: "${KUBE_SERVER:?set KUBE_SERVER to the cluster API URL}"
: "${KUBE_CA_DATA:?set KUBE_CA_DATA to the cluster CA (base64)}"
audience="${KUBE_AUDIENCE:-kubernetes}"
if [ -n "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" ]; then
  token=$(curl -fsS -H "Authorization: bearer ${ACTIONS_ID_TOKEN_REQUEST_TOKEN}" \
    "${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=${audience}" | sed -n 's/.*"value":"\([^"]*\)".*/\1/p')
elif [ -n "${KUBE_ID_TOKEN:-}" ]; then
  token="${KUBE_ID_TOKEN}"  # GitLab: an id_tokens entry with aud set to the audience
else
  echo "no OIDC token: run in GitHub Actions with id-token: write, or set KUBE_ID_TOKEN" >&2
  exit 2
fi
mkdir -p "$(dirname "$out")"
umask 077
cat > "$out" <<CONFIG
apiVersion: v1
kind: Config
clusters:
  - name: target
    cluster:
      server: ${KUBE_SERVER}
      certificate-authority-data: ${KUBE_CA_DATA}
users:
  - name: ci
    user:
      token: ${token}
contexts:
  - name: ci
    context: {cluster: target, user: ci}
current-context: ci
CONFIG
echo "wrote $out (export KUBECONFIG=$out)"
