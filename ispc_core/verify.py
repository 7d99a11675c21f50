"""The verifier's public entry points, kept at their round-1 import path.

Everything lives in the :mod:`ispc_core.verification` package (one module per
check); this module re-exports what callers used.
"""

from __future__ import annotations

from ispc_core.verification import (
    Check,
    VerificationReport,
    Verifier,
    artifact_from_zk,
    verify_transaction,
    verify_transactions,
)

__all__ = ["Check", "VerificationReport", "Verifier", "artifact_from_zk", "verify_transaction", "verify_transactions"]
