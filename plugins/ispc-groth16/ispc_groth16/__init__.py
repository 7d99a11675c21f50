"""ispc-groth16: the Groth16 prover plugin (bn254, bls12-381), laid out after arkworks' ``ark-groth16``.

Modules: :mod:`.data_structures` (keys, proofs, canonical encodings),
:mod:`.r1cs_to_qap` (snarkjs-compatible QAP), :mod:`.generator` (development
setup), :mod:`.prover`, :mod:`.verifier`, :mod:`.keystore` (the node's key
store), :mod:`.files` (snarkjs file operations), :mod:`.backend` (bulk point
work on the fast curve backends), :mod:`.plugin` (registration). See docs/groth16.md.
"""

__version__ = "0.1.0"
