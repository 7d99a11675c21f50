"""The default evidence verifier: a signature by an oracle key listed in the config.

Evidence for a declared external state ``(kind, key, claim)`` is a 64-byte
compact secp256k1 ECDSA signature over :func:`evidence_digest` by one of the
compressed public keys in ``evidence.oracle_keys``.
"""

from __future__ import annotations

import hashlib

from ispc_core.hookspecs import hookimpl
from ispc_core.specs import EvidenceVerifierSpec


def evidence_digest(kind: str, key: bytes, claim: bytes) -> bytes:
    """The 32-byte digest an oracle signs: sha256("ispc.evidence\\0" || kind || "\\0" || key || claim).

    >>> evidence_digest("price", b"ETH/USD", (3000).to_bytes(8, "little")).hex()[:16]
    '3724ccaad72c9901'
    """
    return hashlib.sha256(b"ispc.evidence\x00" + kind.encode("utf-8") + b"\x00" + key + claim).digest()


def verify_oracle_signature(kind: str, key: bytes, claim: bytes, evidence: bytes, config) -> bool:
    """True when ``evidence`` is a valid signature over the claim by a configured oracle key."""
    from ispc_core.node.keys import verify_signature

    if len(evidence) != 64 or config is None:
        return False
    digest = evidence_digest(kind, key, claim)
    for hex_key in config.evidence.oracle_keys:
        if verify_signature(bytes.fromhex(hex_key), digest, evidence):
            return True
    return False


@hookimpl
def ispc_evidence_verifiers():
    """The default verifier, named ``oracle-signature``."""
    return [
        EvidenceVerifierSpec(
            name="oracle-signature",
            verify=verify_oracle_signature,
            description="secp256k1 signature by a key in evidence.oracle_keys",
        )
    ]
