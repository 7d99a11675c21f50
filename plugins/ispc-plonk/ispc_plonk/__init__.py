"""ispc-plonk: PLONK with KZG commitments, compatible with snarkjs 0.7.6 (bn254 and bls12-381).

Modules: :mod:`~ispc_plonk.circuit` (R1CS → PLONK gates as snarkjs),
:mod:`~ispc_plonk.keys` (deterministic circuit keys from an SRS),
:mod:`~ispc_plonk.prover` (round by round), :mod:`~ispc_plonk.verifier`,
:mod:`~ispc_plonk.transcript` (Keccak Fiat–Shamir), :mod:`~ispc_plonk.zkey`
(snarkjs ``.zkey`` read/write), :mod:`~ispc_plonk.scheme` (the node-facing
prover object), :mod:`~ispc_plonk.plugin` (the hook).
"""

__version__ = "0.1.0"
