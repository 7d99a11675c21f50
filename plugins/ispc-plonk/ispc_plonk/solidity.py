"""The Solidity verifier of a PLONK key on bn254: :func:`solidity_verifier`.

The contract is the project's own (Apache-2.0, like the rest of ispc) and does
what :mod:`ispc_plonk.verifier` does, step for step:

1. every public input and evaluation is canonical (``< r``), every proof point
   has coordinates ``< q`` and is on the curve (``(0, 0)`` is the point at
   infinity, as for the precompiles);
2. the challenges beta, gamma, alpha, xi, v, u from the Keccak transcript of
   :mod:`ispc_plonk.transcript` (same byte layout: points as ``x || y``,
   scalars as 32-byte words; the key's eight commitments first);
3. ``Z_H(xi)``, ``L_i(xi)`` for the public rows (one inversion, with the
   modexp precompile 0x05), ``PI(xi)``, ``r0`` and the linearisation scalars;
4. the batched commitment ``F - E + xi Wxi + u xi w Wxiw`` (ecMul 0x07,
   ecAdd 0x06) and the KZG check ``e(-(Wxi + u Wxiw), X_2) e(., G2) = 1``
   (ecPairing 0x08).

Anything malformed makes ``verifyProof`` return ``false`` (it never reverts on
a bad proof). ``verifyProof(uint256[24] proof, uint256[nPublic] publicInputs)``
takes what ``ispc zk export calldata`` prints (A..Wxiw as x, y, then the six
evaluations), so it is a drop-in for the contract ``snarkjs zkey export
solidityverifier`` writes (same contract name, function and ABI);
``tests/test_cli_solidity.py`` checks that both give the same verdict.
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

#: the key's G1 commitments, in transcript order
KEY_POINTS = ("Qm", "Ql", "Qr", "Qo", "Qc", "S1", "S2", "S3")

#: the proof's G1 points, in calldata order (two words each), then the evaluations
PROOF_POINTS = ("A", "B", "C", "Z", "T1", "T2", "T3", "Wxi", "Wxiw")
PROOF_EVALS = ("EVAL_A", "EVAL_B", "EVAL_C", "EVAL_S1", "EVAL_S2", "EVAL_ZW")

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,77}")


def _number(v: Any, what: str, below: int) -> int:
    """A decimal string (snarkjs' JSON form of a field element), checked: it ends up in Solidity source."""
    if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        v = str(v)
    if not isinstance(v, str) or not _DECIMAL.fullmatch(v):
        raise FormatError(f"verification key: {what} is not a decimal number")
    n = int(v)
    if n >= below:
        raise FormatError(f"verification key: {what} is not a field element")
    return n


def _g1(p: Any, what: str) -> tuple[int, int]:
    """Affine ``(x, y)``; snarkjs' point at infinity (``z = 0``) is ``(0, 0)``, as the transcript and precompiles have it."""
    if not isinstance(p, (list, tuple)) or len(p) < 2:
        raise FormatError(f"verification key: {what} is not a point")
    if len(p) >= 3 and _number(p[2], what, BN254.q) == 0:
        return 0, 0
    return _number(p[0], what, BN254.q), _number(p[1], what, BN254.q)


def _g2(p: Any, what: str) -> tuple[int, int, int, int]:
    """A G2 point ``[[x0, x1], [y0, y1], ...]`` (``c0 + c1 u``) in the precompile's order ``x1, x0, y1, y0``."""
    if not isinstance(p, (list, tuple)) or len(p) < 2:
        raise FormatError(f"verification key: {what} is not a point")
    (x0, x1), (y0, y1) = _g1(p[0], what), _g1(p[1], what)
    return x1, x0, y1, y0


def _check_key(vk: Any) -> tuple[int, int]:
    if not isinstance(vk, dict) or vk.get("protocol") != "plonk":
        raise FormatError("verification key: not a plonk key (protocol field)")
    curve = vk.get("curve")
    if curve != EVM_CURVE:
        name = "bls12-381" if curve == "bls12381" else repr(curve)
        raise RequestError(
            f"no Solidity verifier for a key on {name}: the EVM's pairing precompiles (EIP-196/197) are bn254 only"
        )
    n_public, power = vk.get("nPublic"), vk.get("power")
    for name, v, top in (("nPublic", n_public, 1 << 16), ("power", power, 29)):
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < top:
            raise FormatError(f"verification key: {name} is not a small non-negative integer")
    if n_public < 1:
        raise FormatError("verification key: no public inputs; a Solidity verifier needs at least one (uint256[0] is not an ABI type)")
    return n_public, power


def _commitment_terms() -> str:
    """The lines that add up ``F - E + xi Wxi + u xi w Wxiw`` (scalars from ``_scalars``), in verifier.py's order."""
    key = {k: (f"{k.upper()}_X", f"{k.upper()}_Y") for k in KEY_POINTS}
    prf = {k: (f"proof[{2 * i}]", f"proof[{2 * i + 1}]") for i, k in enumerate(PROOF_POINTS)}
    bases = [key["Qm"], key["Ql"], key["Qr"], key["Qo"], None, prf["Z"], key["S3"], prf["T1"], prf["T2"], prf["T3"],
             prf["A"], prf["B"], prf["C"], key["S1"], key["S2"], ("1", "2"), prf["Wxi"], prf["Wxiw"]]
    lines = []
    for i, b in enumerate(bases):
        if b is None:  # Qc, scalar 1
            lines.append("        ok = ok && _add(acc, QC_X, QC_Y);")
        else:
            lines.append(f"        ok = ok && _addScaled(acc, {b[0]}, {b[1]}, s[{i}]);")
    return "\n".join(lines)


def solidity_verifier(vk: dict) -> str:
    """The Solidity source of the ``PlonkVerifier`` contract for a PLONK ``verification_key.json``.

    ``vk`` is the key as snarkjs exports it (``ispc zk export verificationkey``).
    Raises :class:`~ispc_core.errors.RequestError` for a key on another curve
    than bn254 and :class:`~ispc_core.zk.errors.FormatError` for a malformed key
    or one without public inputs.
    """
    n_public, power = _check_key(vk)
    r = BN254.r
    omega = _number(vk.get("w"), "w", r)
    if pow(omega, 1 << power, r) != 1 or (power > 0 and pow(omega, 1 << (power - 1), r) == 1):
        raise FormatError(f"verification key: w is not a primitive 2^{power}-th root of unity")
    k1, k2 = _number(vk.get("k1"), "k1", r), _number(vk.get("k2"), "k2", r)
    points = {k: _g1(vk.get(k), k) for k in KEY_POINTS}
    x2 = _g2(vk.get("X_2"), "X_2")
    (g2x0, g2x1), (g2y0, g2y1) = BN254.g2

    consts = ["    // selector and permutation commitments (G1), in transcript order"]
    for k, (x, y) in points.items():
        consts += [f"    uint256 internal constant {k.upper()}_X = {x};", f"    uint256 internal constant {k.upper()}_Y = {y};"]
    consts.append("    // X_2 = tau G2, and the generator of G2 (x1, x0, y1, y0: the pairing precompile's order)")
    for name, (a, b, c, d) in (("X2", x2), ("G2", (g2x1, g2x0, g2y1, g2y0))):
        consts += [f"    uint256 internal constant {name}_X1 = {a};", f"    uint256 internal constant {name}_X0 = {b};",
                   f"    uint256 internal constant {name}_Y1 = {c};", f"    uint256 internal constant {name}_Y0 = {d};"]
    consts.append("    // where the evaluations are in `proof` (after the nine points A, B, C, Z, T1, T2, T3, Wxi, Wxiw)")
    consts += [f"    uint256 internal constant {e} = {18 + i};" for i, e in enumerate(PROOF_EVALS)]
    key_words = [w for k in KEY_POINTS for w in (f"{k.upper()}_X", f"{k.upper()}_Y")]
    key_stores = "\n".join(f"            mstore(add(t, {hex(32 * i)}), {w})" for i, w in enumerate(key_words))
    return _SOURCE.format(
        n=n_public,
        r=r,
        q=BN254.q,
        log_domain=power,
        domain=1 << power,
        omega=omega,
        k1=k1,
        k2=k2,
        constants="\n".join(consts),
        key_stores=key_stores,
        terms=_commitment_terms(),
    )


_SOURCE = """\
// SPDX-License-Identifier: Apache-2.0
// Written by `ispc zk export solidityverifier` for one PLONK key on bn254.
pragma solidity >=0.8.0 <0.9.0;

/// @title PLONK verifier for one circuit ({n} public inputs, domain 2^{log_domain})
/// @notice verifyProof(proof, publicInputs) recomputes the Keccak Fiat-Shamir challenges, the linearisation
/// and the batched KZG opening of the proof, and checks it with one two-pair pairing product:
///     e(-(Wxi + u Wxiw), X_2) * e(xi Wxi + u xi w Wxiw + F - E, G2) = 1,
/// with the bn254 precompiles (ecAdd 0x06, ecMul 0x07, ecPairing 0x08; modexp 0x05 for one inversion).
/// It returns false, never reverts, on a bad proof.
/// @dev proof = [A, B, C, Z, T1, T2, T3, Wxi, Wxiw (x, y each), a, b, c, s1, s2, zw (evaluations at xi, xi w)].
contract PlonkVerifier {{
    /// scalar field: public inputs and evaluations must be below it
    uint256 internal constant R = {r};
    /// base field: every coordinate must be below it
    uint256 internal constant Q = {q};

    uint256 internal constant N_PUBLIC = {n};
    /// the evaluation domain: n = 2^LOG_DOMAIN points, generated by OMEGA
    uint256 internal constant LOG_DOMAIN = {log_domain};
    uint256 internal constant DOMAIN = {domain};
    uint256 internal constant OMEGA = {omega};
    /// coset shifts of the second and third wire columns
    uint256 internal constant K1 = {k1};
    uint256 internal constant K2 = {k2};

{constants}

    // indices into the challenge array
    uint256 internal constant BETA = 0;
    uint256 internal constant GAMMA = 1;
    uint256 internal constant ALPHA = 2;
    uint256 internal constant XI = 3;
    uint256 internal constant V1 = 4; // v^1 .. v^5 at 4 .. 8
    uint256 internal constant U = 9;
    // indices into the array of values at xi
    uint256 internal constant XI_N = 0; // xi^n
    uint256 internal constant ZH = 1; // Z_H(xi) = xi^n - 1
    uint256 internal constant L1 = 2; // first Lagrange polynomial at xi
    uint256 internal constant PI = 3; // public-input polynomial at xi

    /// @param proof the proof words as `ispc zk export calldata` prints them
    /// @param publicInputs the public inputs, each below R
    function verifyProof(uint256[24] calldata proof, uint256[{n}] calldata publicInputs) public view returns (bool) {{
        if (!_wellFormed(proof, publicInputs)) return false;
        uint256[10] memory ch = _challenges(proof, publicInputs);
        (bool ok, uint256[4] memory ev) = _atXi(ch[XI], publicInputs);
        if (!ok) return false;
        uint256[18] memory s = _scalars(proof, ch, ev);

        // the right-hand point: sum of s[i] times the i-th point of _scalars' list
        uint256[2] memory acc; // (0, 0): the point at infinity
{terms}
        // the left-hand point, negated below: Wxi + u Wxiw
        uint256[2] memory opening;
        ok = ok && _add(opening, proof[14], proof[15]);
        ok = ok && _addScaled(opening, proof[16], proof[17], ch[U]);
        if (!ok) return false;

        uint256[12] memory pairs = [
            opening[0], (Q - opening[1]) % Q, X2_X1, X2_X0, X2_Y1, X2_Y0,
            acc[0], acc[1], G2_X1, G2_X0, G2_Y1, G2_Y0
        ];
        return _pairingIsOne(pairs);
    }}

    /// inputs and evaluations below R, points with coordinates below Q and on y^2 = x^3 + 3 (or (0, 0))
    function _wellFormed(uint256[24] calldata proof, uint256[{n}] calldata publicInputs) internal pure returns (bool) {{
        for (uint256 i = 0; i < N_PUBLIC; i++) {{
            if (publicInputs[i] >= R) return false;
        }}
        for (uint256 i = EVAL_A; i < 24; i++) {{
            if (proof[i] >= R) return false;
        }}
        for (uint256 i = 0; i < EVAL_A; i += 2) {{
            uint256 x = proof[i];
            uint256 y = proof[i + 1];
            if (x >= Q || y >= Q) return false;
            if ((x | y) != 0 && mulmod(y, y, Q) != addmod(mulmod(mulmod(x, x, Q), x, Q), 3, Q)) return false;
        }}
        return true;
    }}

    /// beta, gamma, alpha, xi, v^1..v^5, u: keccak256 of the transcript, mod R, reset after each challenge
    function _challenges(uint256[24] calldata proof, uint256[{n}] calldata publicInputs)
        internal
        pure
        returns (uint256[10] memory ch)
    {{
        uint256 beta;
        uint256 gamma;
        uint256 alpha;
        uint256 xi;
        uint256 v;
        uint256 u;
        assembly {{
            let t := mload(0x40) // scratch space past the free memory pointer
            // beta = H(Qm, Ql, Qr, Qo, Qc, S1, S2, S3, public inputs, A, B, C)
{key_stores}
            let inputs := mul(N_PUBLIC, 0x20)
            calldatacopy(add(t, 0x200), publicInputs, inputs)
            calldatacopy(add(add(t, 0x200), inputs), proof, 0xc0)
            beta := mod(keccak256(t, add(0x2c0, inputs)), R)
            // gamma = H(beta)
            mstore(t, beta)
            gamma := mod(keccak256(t, 0x20), R)
            // alpha = H(beta, gamma, Z)
            mstore(add(t, 0x20), gamma)
            calldatacopy(add(t, 0x40), add(proof, 0xc0), 0x40)
            alpha := mod(keccak256(t, 0x80), R)
            // xi = H(alpha, T1, T2, T3)
            mstore(t, alpha)
            calldatacopy(add(t, 0x20), add(proof, 0x100), 0xc0)
            xi := mod(keccak256(t, 0xe0), R)
            // v = H(xi, a, b, c, s1, s2, zw)
            mstore(t, xi)
            calldatacopy(add(t, 0x20), add(proof, 0x240), 0xc0)
            v := mod(keccak256(t, 0xe0), R)
            // u = H(Wxi, Wxiw)
            calldatacopy(t, add(proof, 0x1c0), 0x80)
            u := mod(keccak256(t, 0x80), R)
        }}
        ch[BETA] = beta;
        ch[GAMMA] = gamma;
        ch[ALPHA] = alpha;
        ch[XI] = xi;
        ch[V1] = v;
        for (uint256 i = V1 + 1; i < V1 + 5; i++) {{
            ch[i] = mulmod(ch[i - 1], v, R);
        }}
        ch[U] = u;
    }}

    /// xi^n, Z_H(xi), L_1(xi) and PI(xi) = -sum_i publicInputs[i] L_(i+1)(xi), where
    /// L_(i+1)(xi) = w^i Z_H(xi) / (n (xi - w^i)); the N_PUBLIC denominators share one inversion.
    /// Not ok if xi is a public row's point (a denominator is zero) or the modexp precompile fails.
    function _atXi(uint256 xi, uint256[{n}] calldata publicInputs) internal view returns (bool ok, uint256[4] memory ev) {{
        uint256 xin = xi;
        for (uint256 i = 0; i < LOG_DOMAIN; i++) {{
            xin = mulmod(xin, xin, R);
        }}
        uint256 zh = addmod(xin, R - 1, R);
        uint256[N_PUBLIC] memory den; // n (xi - w^i), then its inverse
        uint256[N_PUBLIC] memory upTo; // den[0] * ... * den[i]
        uint256 w = 1;
        uint256 prod = 1;
        for (uint256 i = 0; i < N_PUBLIC; i++) {{
            den[i] = mulmod(DOMAIN, addmod(xi, R - w, R), R);
            prod = mulmod(prod, den[i], R);
            upTo[i] = prod;
            w = mulmod(w, OMEGA, R);
        }}
        if (prod == 0) return (false, ev);
        uint256 inv;
        (ok, inv) = _inverse(prod);
        if (!ok) return (false, ev);
        for (uint256 i = N_PUBLIC; i > 0; i--) {{
            // inv = 1 / (den[0] * ... * den[i - 1])
            uint256 d = den[i - 1];
            den[i - 1] = i == 1 ? inv : mulmod(inv, upTo[i - 2], R);
            inv = mulmod(inv, d, R);
        }}
        uint256 pi = 0;
        w = 1;
        for (uint256 i = 0; i < N_PUBLIC; i++) {{
            uint256 li = mulmod(mulmod(w, zh, R), den[i], R);
            if (i == 0) ev[L1] = li;
            pi = addmod(pi, R - mulmod(publicInputs[i], li, R), R);
            w = mulmod(w, OMEGA, R);
        }}
        ev[XI_N] = xin;
        ev[ZH] = zh;
        ev[PI] = pi;
    }}

    /// the scalars of the eighteen points summed into F - E + xi Wxi + u xi w Wxiw, in this order:
    /// Qm, Ql, Qr, Qo, Qc, Z, S3, T1, T2, T3, A, B, C, S1, S2, G1, Wxi, Wxiw
    function _scalars(uint256[24] calldata proof, uint256[10] memory ch, uint256[4] memory ev)
        internal
        pure
        returns (uint256[18] memory s)
    {{
        uint256 perm = _knownPermutationFactors(proof, ch);
        uint256 l1AlphaSq = mulmod(ev[L1], mulmod(ch[ALPHA], ch[ALPHA], R), R);
        // gates: ab Qm + a Ql + b Qr + c Qo + Qc (Qc's 1 is implicit)
        s[0] = mulmod(proof[EVAL_A], proof[EVAL_B], R);
        s[1] = proof[EVAL_A];
        s[2] = proof[EVAL_B];
        s[3] = proof[EVAL_C];
        // permutation: (alpha (a + beta xi + gamma)(b + beta k1 xi + gamma)(c + beta k2 xi + gamma) + L1 alpha^2 + u) Z
        s[5] = addmod(addmod(_shiftedWireFactors(proof, ch), l1AlphaSq, R), ch[U], R);
        //   - alpha beta zw (a + beta s1 + gamma)(b + beta s2 + gamma) S3
        s[6] = (R - mulmod(perm, mulmod(mulmod(ch[ALPHA], ch[BETA], R), proof[EVAL_ZW], R), R)) % R;
        // quotient: -Z_H(xi) (T1 + xi^n T2 + xi^2n T3)
        s[7] = (R - ev[ZH]) % R;
        s[8] = mulmod(s[7], ev[XI_N], R);
        s[9] = mulmod(s[8], ev[XI_N], R);
        // the openings batched with v: v A + v^2 B + v^3 C + v^4 S1 + v^5 S2
        for (uint256 i = 0; i < 5; i++) {{
            s[10 + i] = ch[V1 + i];
        }}
        // the claimed values, -E = -e G1
        s[15] = (R - _batchedEvaluation(proof, ch, ev[PI], perm, l1AlphaSq)) % R;
        // the opening proofs moved to the right-hand pairing: xi Wxi + u xi w Wxiw
        s[16] = ch[XI];
        s[17] = mulmod(mulmod(ch[U], ch[XI], R), OMEGA, R);
    }}

    /// (a + beta s1 + gamma)(b + beta s2 + gamma)
    function _knownPermutationFactors(uint256[24] calldata proof, uint256[10] memory ch) internal pure returns (uint256) {{
        uint256 beta = ch[BETA];
        uint256 gamma = ch[GAMMA];
        return mulmod(
            addmod(addmod(proof[EVAL_A], mulmod(beta, proof[EVAL_S1], R), R), gamma, R),
            addmod(addmod(proof[EVAL_B], mulmod(beta, proof[EVAL_S2], R), R), gamma, R),
            R
        );
    }}

    /// alpha (a + beta xi + gamma)(b + beta k1 xi + gamma)(c + beta k2 xi + gamma)
    function _shiftedWireFactors(uint256[24] calldata proof, uint256[10] memory ch) internal pure returns (uint256) {{
        uint256 bxi = mulmod(ch[BETA], ch[XI], R);
        uint256 gamma = ch[GAMMA];
        return mulmod(
            mulmod(addmod(addmod(proof[EVAL_A], bxi, R), gamma, R), addmod(addmod(proof[EVAL_B], mulmod(bxi, K1, R), R), gamma, R), R),
            mulmod(addmod(addmod(proof[EVAL_C], mulmod(bxi, K2, R), R), gamma, R), ch[ALPHA], R),
            R
        );
    }}

    /// e = -r0 + v a + v^2 b + v^3 c + v^4 s1 + v^5 s2 + u zw, where
    /// r0 = PI(xi) - L1(xi) alpha^2 - alpha zw (c + gamma)(a + beta s1 + gamma)(b + beta s2 + gamma)
    function _batchedEvaluation(
        uint256[24] calldata proof,
        uint256[10] memory ch,
        uint256 pi,
        uint256 perm,
        uint256 l1AlphaSq
    ) internal pure returns (uint256 e) {{
        uint256 last = mulmod(mulmod(perm, addmod(proof[EVAL_C], ch[GAMMA], R), R), mulmod(proof[EVAL_ZW], ch[ALPHA], R), R);
        uint256 r0 = addmod(addmod(pi, R - l1AlphaSq, R), R - last, R);
        e = addmod(R - r0, mulmod(ch[U], proof[EVAL_ZW], R), R);
        for (uint256 i = 0; i < 5; i++) {{
            e = addmod(e, mulmod(ch[V1 + i], proof[EVAL_A + i], R), R);
        }}
    }}

    /// 1 / x mod R as x^(R - 2) (modexp precompile 0x05); x is not zero
    function _inverse(uint256 x) internal view returns (bool ok, uint256 inv) {{
        uint256[6] memory buf = [uint256(0x20), 0x20, 0x20, x, R - 2, R];
        assembly {{
            ok := staticcall(gas(), 0x05, buf, 0xc0, buf, 0x20)
            inv := mload(buf)
        }}
    }}

    /// acc := acc + (x, y); false if the precompile refuses (a point off the curve)
    function _add(uint256[2] memory acc, uint256 x, uint256 y) internal view returns (bool ok) {{
        uint256[4] memory buf = [acc[0], acc[1], x, y];
        assembly {{
            ok := staticcall(gas(), 0x06, buf, 0x80, acc, 0x40)
        }}
    }}

    /// acc := acc + k * (x, y); false if a precompile refuses
    function _addScaled(uint256[2] memory acc, uint256 x, uint256 y, uint256 k) internal view returns (bool ok) {{
        uint256[4] memory buf;
        buf[0] = x;
        buf[1] = y;
        buf[2] = k;
        assembly {{
            ok := staticcall(gas(), 0x07, buf, 0x60, buf, 0x40)
            mstore(add(buf, 0x40), mload(acc))
            mstore(add(buf, 0x60), mload(add(acc, 0x20)))
            ok := and(ok, staticcall(gas(), 0x06, buf, 0x80, acc, 0x40))
        }}
    }}

    /// true iff the product of the two pairings is one (false too if the precompile refuses the points)
    function _pairingIsOne(uint256[12] memory pairs) internal view returns (bool) {{
        uint256[1] memory out;
        bool ok;
        assembly {{
            ok := staticcall(gas(), 0x08, pairs, 0x180, out, 0x20)
        }}
        return ok && out[0] == 1;
    }}
}}
"""
