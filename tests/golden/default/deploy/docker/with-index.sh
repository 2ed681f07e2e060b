#!/bin/sh
# Runs one build command with the package-index settings that `make image` passed as build secrets
# (a CA bundle and an index URL). They live in /run/secrets for that RUN only, never in a layer.
set -eu
if [ -s /run/secrets/ca ]; then
  export SSL_CERT_FILE=/run/secrets/ca PIP_CERT=/run/secrets/ca
fi
if [ -s /run/secrets/uv_index_url ]; then
  UV_INDEX_URL="$(cat /run/secrets/uv_index_url)"
  PIP_INDEX_URL="$UV_INDEX_URL"
  export UV_INDEX_URL PIP_INDEX_URL
fi
exec "$@"
