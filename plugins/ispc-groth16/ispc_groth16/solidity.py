"""The Solidity verifier of a Groth16 key on bn254: :func:`solidity_verifier`.

The contract is the project's own (Apache-2.0, like the rest of ispc). It
checks the Groth16 equation

    e(A, B) = e(alpha, beta) * e(L, gamma) * e(C, delta),   L = IC_0 + sum_i x_i IC_i

as one product of four pairings equal to one, ``e(-A, B) e(alpha, beta)
e(L, gamma) e(C, delta) = 1``, with the EVM's bn254 precompiles: ecAdd (0x06)
and ecMul (0x07) for ``L``, ecPairing (0x08) for the product (EIP-196/197).
Public inputs must be canonical (``< r``) and proof coordinates ``< q``;
anything else, a point off the curve or outside G2's subgroup included, makes
``verifyProof`` return ``false`` (it never reverts on a bad proof).

``verifyProof(uint256[2] a, uint256[2][2] b, uint256[2] c, uint256[nPublic] input)``
takes what ``ispc zk export calldata`` prints (B's coordinates in the
precompile's order: imaginary part first), so it is a drop-in for the contract
``snarkjs zkey export solidityverifier`` writes (same contract name, function
and ABI); ``tests/test_cli_solidity.py`` checks that both give the same verdict.
"""

from __future__ import annotations

import re
from typing import Any

from ispc_core.errors import RequestError
from ispc_core.zk.curves.params import BN254
from ispc_core.zk.errors import FormatError

__all__ = ["solidity_verifier"]

#: snarkjs' name for bn254 in verification_key.json
EVM_CURVE = "bn128"

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,77}")


def _number(v: Any, what: str) -> int:
    """A decimal string (snarkjs' JSON form of a field element), checked: it ends up in Solidity source."""
    if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        v = str(v)
    if not isinstance(v, str) or not _DECIMAL.fullmatch(v):
        raise FormatError(f"verification key: {what} is not a decimal number")
    n = int(v)
    if n >= BN254.q:
        raise FormatError(f"verification key: {what} is not a base-field element")
    return n


def _g1(p: Any, what: str) -> tuple[int, int]:
    """Affine ``(x, y)``; snarkjs' point at infinity (``z = 0``) is ``(0, 0)``, as the precompiles have it."""
    if not isinstance(p, (list, tuple)) or len(p) < 2:
        raise FormatError(f"verification key: {what} is not a point")
    if len(p) >= 3 and not isinstance(p[2], (list, tuple)) and _number(p[2], what) == 0:
        return 0, 0
    return _number(p[0], what), _number(p[1], what)


def _g2(p: Any, what: str) -> tuple[int, int, int, int]:
    """A G2 point ``[[x0, x1], [y0, y1], ...]`` (``c0 + c1 u``) in the precompile's order ``x1, x0, y1, y0``."""
    if not isinstance(p, (list, tuple)) or len(p) < 2:
        raise FormatError(f"verification key: {what} is not a point")
    (x0, x1), (y0, y1) = _g1(p[0], what), _g1(p[1], what)
    return x1, x0, y1, y0


def _check_key(vk: Any) -> int:
    if not isinstance(vk, dict) or vk.get("protocol") != "groth16":
        raise FormatError("verification key: not a groth16 key (protocol field)")
    curve = vk.get("curve")
    if curve != EVM_CURVE:
        name = "bls12-381" if curve == "bls12381" else repr(curve)
        raise RequestError(
            f"no Solidity verifier for a key on {name}: the EVM's pairing precompiles (EIP-196/197) are bn254 only"
        )
    n_public = vk.get("nPublic")
    ic = vk.get("IC")
    if not isinstance(n_public, int) or isinstance(n_public, bool) or not isinstance(ic, list) or len(ic) != n_public + 1:
        raise FormatError("verification key: nPublic and IC disagree")
    if n_public < 1:
        raise FormatError("verification key: no public inputs; a Solidity verifier needs at least one (uint256[0] is not an ABI type)")
    return n_public


def solidity_verifier(vk: dict) -> str:
    """The Solidity source of the ``Groth16Verifier`` contract for a Groth16 ``verification_key.json``.

    ``vk`` is the key as snarkjs exports it (``ispc zk export verificationkey``).
    Raises :class:`~ispc_core.errors.RequestError` for a key on another curve
    than bn254 and :class:`~ispc_core.zk.errors.FormatError` for a malformed key
    or one without public inputs.
    """
    n = _check_key(vk)
    alpha = _g1(vk.get("vk_alpha_1"), "vk_alpha_1")
    g2 = {name: _g2(vk.get(f"vk_{name}_2"), f"vk_{name}_2") for name in ("beta", "gamma", "delta")}
    ic = [_g1(p, f"IC[{i}]") for i, p in enumerate(vk["IC"])]

    consts = [
        "    // alpha (G1)",
        f"    uint256 internal constant ALPHA_X = {alpha[0]};",
        f"    uint256 internal constant ALPHA_Y = {alpha[1]};",
    ]
    for name, (x1, x0, y1, y0) in g2.items():
        up = name.upper()
        consts += [
            f"    // {name} (G2)",
            f"    uint256 internal constant {up}_X1 = {x1};",
            f"    uint256 internal constant {up}_X0 = {x0};",
            f"    uint256 internal constant {up}_Y1 = {y1};",
            f"    uint256 internal constant {up}_Y0 = {y0};",
        ]
    consts.append(f"    // IC_0 .. IC_{n} (G1): L = IC_0 + sum input[i - 1] * IC_i")
    for i, (x, y) in enumerate(ic):
        consts += [f"    uint256 internal constant IC{i}_X = {x};", f"    uint256 internal constant IC{i}_Y = {y};"]
    terms = "\n".join(
        f"        ok = ok && _addScaled(acc, IC{i}_X, IC{i}_Y, input[{i - 1}]);" for i in range(1, n + 1)
    )
    return _SOURCE.format(
        n=n,
        r=BN254.r,
        q=BN254.q,
        constants="\n".join(consts),
        terms=terms,
    )


_SOURCE = """\
// SPDX-License-Identifier: Apache-2.0
// Written by `ispc zk export solidityverifier` for one Groth16 key on bn254.
pragma solidity >=0.8.0 <0.9.0;

/// @title Groth16 verifier for one circuit ({n} public inputs)
/// @notice verifyProof(a, b, c, input) is true iff
///     e(A, B) = e(alpha, beta) * e(L, gamma) * e(C, delta),  L = IC_0 + sum_i input[i - 1] * IC_i,
/// checked as e(-A, B) * e(alpha, beta) * e(L, gamma) * e(C, delta) = 1 with the bn254 precompiles
/// (ecAdd 0x06, ecMul 0x07, ecPairing 0x08; EIP-196/197). It returns false, never reverts, on a bad proof.
/// @dev G2 points are written as the pairing precompile reads them: x1, x0, y1, y0 for x0 + x1 u, y0 + y1 u.
contract Groth16Verifier {{
    /// scalar field (order of G1 and G2): public inputs must be below it
    uint256 internal constant R = {r};
    /// base field: every coordinate must be below it
    uint256 internal constant Q = {q};
    uint256 internal constant N_PUBLIC = {n};

{constants}

    /// @param a the proof's A (G1: x, y)
    /// @param b the proof's B (G2: [x1, x0], [y1, y0])
    /// @param c the proof's C (G1: x, y)
    /// @param input the public inputs, each below R
    function verifyProof(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[{n}] calldata input
    ) public view returns (bool) {{
        for (uint256 i = 0; i < N_PUBLIC; i++) {{
            if (input[i] >= R) return false;
        }}
        if (a[0] >= Q || a[1] >= Q || c[0] >= Q || c[1] >= Q) return false;
        if (b[0][0] >= Q || b[0][1] >= Q || b[1][0] >= Q || b[1][1] >= Q) return false;

        uint256[2] memory acc = [IC0_X, IC0_Y];
        bool ok = true;
{terms}
        if (!ok) return false;

        uint256[24] memory pairs = [
            // (-A, B)
            a[0], (Q - a[1]) % Q, b[0][0], b[0][1], b[1][0], b[1][1],
            // (alpha, beta)
            ALPHA_X, ALPHA_Y, BETA_X1, BETA_X0, BETA_Y1, BETA_Y0,
            // (L, gamma)
            acc[0], acc[1], GAMMA_X1, GAMMA_X0, GAMMA_Y1, GAMMA_Y0,
            // (C, delta)
            c[0], c[1], DELTA_X1, DELTA_X0, DELTA_Y1, DELTA_Y0
        ];
        return _pairingIsOne(pairs);
    }}

    /// acc := acc + s * (x, y); false if a precompile refuses (a point off the curve)
    function _addScaled(uint256[2] memory acc, uint256 x, uint256 y, uint256 s) internal view returns (bool ok) {{
        uint256[4] memory buf;
        buf[0] = x;
        buf[1] = y;
        buf[2] = s;
        assembly {{
            ok := staticcall(gas(), 0x07, buf, 0x60, buf, 0x40)
            mstore(add(buf, 0x40), mload(acc))
            mstore(add(buf, 0x60), mload(add(acc, 0x20)))
            ok := and(ok, staticcall(gas(), 0x06, buf, 0x80, acc, 0x40))
        }}
    }}

    /// true iff the product of the four pairings is one (false too if the precompile refuses the points)
    function _pairingIsOne(uint256[24] memory pairs) internal view returns (bool) {{
        uint256[1] memory out;
        bool ok;
        assembly {{
            ok := staticcall(gas(), 0x08, pairs, 0x300, out, 0x20)
        }}
        return ok && out[0] == 1;
    }}
}}
"""
