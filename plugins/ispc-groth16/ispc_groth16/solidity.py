"""The Solidity verifier of a Groth16 key on bn254: :func:`solidity_verifier`.

The contract is the one ``snarkjs zkey export solidityverifier`` (0.7.6) writes,
byte for byte: :data:`TEMPLATE` is snarkjs' ``templates/verifier_groth16.sol.ejs``
with its EJS tags rewritten for :mod:`ispc_core.zk.templating` (same text, same
whitespace). ``tests/test_solidity.py`` checks the identity against snarkjs
and runs the contract in an EVM.

The contract text comes from snarkjs and keeps snarkjs' licence: it is
GPL-3.0 (Copyright 2021 0KIMS association), as its header says, like every
contract snarkjs generates. This module's code is the project's.

``verifyProof(uint[2] _pA, uint[2][2] _pB, uint[2] _pC, uint[nPublic] _pubSignals)``
takes what ``ispc zk export calldata`` prints (B's coordinates in the EVM's
order: imaginary part first). It needs the bn254 precompiles (ecAdd 0x06,
ecMul 0x07, ecPairing 0x08), so only bn254 keys have a Solidity verifier.
"""

from __future__ import annotations

import re
from typing import Any

from ispc_core.errors import RequestError
from ispc_core.zk.errors import FormatError
from ispc_core.zk.templating import render

__all__ = ["TEMPLATE", "solidity_verifier"]

#: snarkjs' name for bn254 in verification_key.json
EVM_CURVE = "bn128"

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,77}")


def _number(v: Any, what: str) -> str:
    """A decimal string (snarkjs' JSON form of a field element), checked: it is pasted into Solidity."""
    if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        v = str(v)
    if not isinstance(v, str) or not _DECIMAL.fullmatch(v):
        raise FormatError(f"verification key: {what} is not a decimal number")
    return v


def _point(p: Any, what: str, dims: int) -> list:
    if not isinstance(p, (list, tuple)) or len(p) < 2:
        raise FormatError(f"verification key: {what} is not a point")
    if dims == 1:
        return [_number(c, what) for c in p]
    return [_point(c, what, 1) for c in p]


def solidity_verifier(vk: dict) -> str:
    """The Solidity verifier (snarkjs' ``Groth16Verifier`` contract) of a Groth16 ``verification_key.json``.

    ``vk`` is the key as snarkjs exports it (``ispc zk export verificationkey``).
    Raises :class:`~ispc_core.errors.RequestError` for a key on another curve
    than bn254 and :class:`~ispc_core.zk.errors.FormatError` for a malformed key
    or one without public inputs (``uint[0]`` does not compile).
    """
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
        raise FormatError("verification key: no public inputs; a Solidity verifier needs at least one (uint[0] does not compile)")
    values = {
        "vk_alpha_1": _point(vk.get("vk_alpha_1"), "vk_alpha_1", 1),
        "vk_beta_2": _point(vk.get("vk_beta_2"), "vk_beta_2", 2),
        "vk_gamma_2": _point(vk.get("vk_gamma_2"), "vk_gamma_2", 2),
        "vk_delta_2": _point(vk.get("vk_delta_2"), "vk_delta_2", 2),
        "IC": [_point(p, f"IC[{i}]", 1) for i, p in enumerate(ic)],
        "nPublic": n_public,
    }
    return render(TEMPLATE, values)


# snarkjs 0.7.6 templates/verifier_groth16.sol.ejs (GPL-3.0), tags rewritten; trailing spaces are significant
TEMPLATE = """// SPDX-License-Identifier: GPL-3.0
/*
    Copyright 2021 0KIMS association.

    This file is generated with [snarkJS](https://github.com/iden3/snarkjs).

    snarkJS is a free software: you can redistribute it and/or modify it
    under the terms of the GNU General Public License as published by
    the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.

    snarkJS is distributed in the hope that it will be useful, but WITHOUT
    ANY WARRANTY; without even the implied warranty of MERCHANTABILITY
    or FITNESS FOR A PARTICULAR PURPOSE. See the GNU General Public
    License for more details.

    You should have received a copy of the GNU General Public License
    along with snarkJS. If not, see <https://www.gnu.org/licenses/>.
*/

pragma solidity >=0.7.0 <0.9.0;

contract Groth16Verifier {
    // Scalar field size
    uint256 constant r    = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    // Base field size
    uint256 constant q   = 21888242871839275222246405745257275088696311157297823662689037894645226208583;

    // Verification Key data
    uint256 constant alphax  = <%= vk_alpha_1[0] %>;
    uint256 constant alphay  = <%= vk_alpha_1[1] %>;
    uint256 constant betax1  = <%= vk_beta_2[0][1] %>;
    uint256 constant betax2  = <%= vk_beta_2[0][0] %>;
    uint256 constant betay1  = <%= vk_beta_2[1][1] %>;
    uint256 constant betay2  = <%= vk_beta_2[1][0] %>;
    uint256 constant gammax1 = <%= vk_gamma_2[0][1] %>;
    uint256 constant gammax2 = <%= vk_gamma_2[0][0] %>;
    uint256 constant gammay1 = <%= vk_gamma_2[1][1] %>;
    uint256 constant gammay2 = <%= vk_gamma_2[1][0] %>;
    uint256 constant deltax1 = <%= vk_delta_2[0][1] %>;
    uint256 constant deltax2 = <%= vk_delta_2[0][0] %>;
    uint256 constant deltay1 = <%= vk_delta_2[1][1] %>;
    uint256 constant deltay2 = <%= vk_delta_2[1][0] %>;

    <% for i in range(len(IC)) %>
    uint256 constant IC<%= i %>x = <%= IC[i][0] %>;
    uint256 constant IC<%= i %>y = <%= IC[i][1] %>;
    <% end %>
 
    // Memory data
    uint16 constant pVk = 0;
    uint16 constant pPairing = 128;

    uint16 constant pLastMem = 896;

    function verifyProof(uint[2] calldata _pA, uint[2][2] calldata _pB, uint[2] calldata _pC, uint[<%= len(IC)-1 %>] calldata _pubSignals) public view returns (bool) {
        assembly {
            function checkField(v) {
                if iszero(lt(v, r)) {
                    mstore(0, 0)
                    return(0, 0x20)
                }
            }
            
            // G1 function to multiply a G1 value(x,y) to value in an address
            function g1_mulAccC(pR, x, y, s) {
                let success
                let mIn := mload(0x40)
                mstore(mIn, x)
                mstore(add(mIn, 32), y)
                mstore(add(mIn, 64), s)

                success := staticcall(sub(gas(), 2000), 7, mIn, 96, mIn, 64)

                if iszero(success) {
                    mstore(0, 0)
                    return(0, 0x20)
                }

                mstore(add(mIn, 64), mload(pR))
                mstore(add(mIn, 96), mload(add(pR, 32)))

                success := staticcall(sub(gas(), 2000), 6, mIn, 128, pR, 64)

                if iszero(success) {
                    mstore(0, 0)
                    return(0, 0x20)
                }
            }

            function checkPairing(pA, pB, pC, pubSignals, pMem) -> isOk {
                let _pPairing := add(pMem, pPairing)
                let _pVk := add(pMem, pVk)

                mstore(_pVk, IC0x)
                mstore(add(_pVk, 32), IC0y)

                // Compute the linear combination vk_x
                <% for i in range(1, nPublic + 1) %>
                g1_mulAccC(_pVk, IC<%= i %>x, IC<%= i %>y, calldataload(add(pubSignals, <%= (i-1)*32 %>)))
                <% end %>

                // -A
                mstore(_pPairing, calldataload(pA))
                mstore(add(_pPairing, 32), mod(sub(q, calldataload(add(pA, 32))), q))

                // B
                mstore(add(_pPairing, 64), calldataload(pB))
                mstore(add(_pPairing, 96), calldataload(add(pB, 32)))
                mstore(add(_pPairing, 128), calldataload(add(pB, 64)))
                mstore(add(_pPairing, 160), calldataload(add(pB, 96)))

                // alpha1
                mstore(add(_pPairing, 192), alphax)
                mstore(add(_pPairing, 224), alphay)

                // beta2
                mstore(add(_pPairing, 256), betax1)
                mstore(add(_pPairing, 288), betax2)
                mstore(add(_pPairing, 320), betay1)
                mstore(add(_pPairing, 352), betay2)

                // vk_x
                mstore(add(_pPairing, 384), mload(add(pMem, pVk)))
                mstore(add(_pPairing, 416), mload(add(pMem, add(pVk, 32))))


                // gamma2
                mstore(add(_pPairing, 448), gammax1)
                mstore(add(_pPairing, 480), gammax2)
                mstore(add(_pPairing, 512), gammay1)
                mstore(add(_pPairing, 544), gammay2)

                // C
                mstore(add(_pPairing, 576), calldataload(pC))
                mstore(add(_pPairing, 608), calldataload(add(pC, 32)))

                // delta2
                mstore(add(_pPairing, 640), deltax1)
                mstore(add(_pPairing, 672), deltax2)
                mstore(add(_pPairing, 704), deltay1)
                mstore(add(_pPairing, 736), deltay2)


                let success := staticcall(sub(gas(), 2000), 8, _pPairing, 768, _pPairing, 0x20)

                isOk := and(success, mload(_pPairing))
            }

            let pMem := mload(0x40)
            mstore(0x40, add(pMem, pLastMem))

            // Validate that all evaluations ∈ F
            <% for i in range(nPublic) %>
            checkField(calldataload(add(_pubSignals, <%= i*32 %>)))
            <% end %>

            // Validate all evaluations
            let isValid := checkPairing(_pA, _pB, _pC, _pubSignals, pMem)

            mstore(0, isValid)
             return(0, 0x20)
         }
     }
 }
"""
