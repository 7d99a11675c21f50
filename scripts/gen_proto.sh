#!/usr/bin/env bash
# Regenerate ispc_core/proto/transaction_pb2.py from transaction.proto.
# Usage: scripts/gen_proto.sh [OUT_DIR]   (default: ispc_core/proto)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-ispc_core/proto}"
python -m grpc_tools.protoc -I ispc_core/proto --python_out="$out" ispc_core/proto/transaction.proto
