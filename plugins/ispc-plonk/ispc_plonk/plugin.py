"""The ``plonk`` prover plugin: registration through the ``ispc_provers`` hook.

Select it with ``proof.scheme = "plonk"`` (curves ``bn254``, ``bls12-381``).
Settings, ``[plugin.plonk]`` in ``ispc.toml``:

``ptau``
    the powers-of-tau file (SRS) to use; relative to the node home; default
    ``<home>/zkkeys/srs.ptau`` (``ispc srs new`` / ``ispc srs import`` write there).
"""

from __future__ import annotations

from ispc_core.hookspecs import hookimpl
from ispc_core.specs import ProverSpec

from .scheme import CURVES_SUPPORTED, PlonkProver

__all__ = ["ispc_provers", "make_prover"]


def make_prover(services) -> PlonkProver:
    """Build the prover from the node's services (key store, configuration)."""
    settings = services.config.plugin_settings("plonk") if services.config is not None else {}
    curve = None
    try:
        curve = services.config.proof.curve
    except AttributeError:
        pass
    return PlonkProver(services.keystore_dir, ptau=settings.get("ptau"), home=services.home, curve=curve)


@hookimpl
def ispc_provers():
    """The ``plonk`` prover (bn254, bls12-381)."""
    return [
        ProverSpec(
            name="plonk",
            curves=CURVES_SUPPORTED,
            factory=make_prover,
            description="PLONK with KZG (snarkjs 0.7.6 compatible proofs, keys and transcript); universal .ptau SRS",
        )
    ]
