"""circom/snarkjs file formats: iden3 binary ``.r1cs`` and ``.wtns``, snarkjs JSON documents."""

from .r1cs_file import read_r1cs, write_r1cs
from .snarkjs_json import (
    Groth16Proof,
    Groth16VerificationKey,
    curve_from_snarkjs,
    groth16_proof_from_json,
    groth16_proof_to_json,
    groth16_vk_from_json,
    groth16_vk_to_json,
    public_from_json,
    public_to_json,
)
from .wtns import read_wtns, write_wtns

__all__ = [
    "read_r1cs",
    "write_r1cs",
    "read_wtns",
    "write_wtns",
    "Groth16Proof",
    "Groth16VerificationKey",
    "curve_from_snarkjs",
    "groth16_proof_from_json",
    "groth16_proof_to_json",
    "groth16_vk_from_json",
    "groth16_vk_to_json",
    "public_from_json",
    "public_to_json",
]
