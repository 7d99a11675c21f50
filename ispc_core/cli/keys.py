"""``ispc setup``: make the keys of a node circuit in the node's key store.

``ispc setup [--circuit contract_execution] [--capacity N] [--scheme groth16] [--curve bn254]``
makes the keys in ``<home>/zkkeys`` with a progress bar; an existing key for the
same constraint system is kept. A circuit derived from a deployed program
(``onnx_inference``) takes ``--resource ID``: its circuits are compiled from the
bytes this node's ledger (or mempool) holds for that id. For Groth16 that is a (development) setup; for
PLONK the keys are *derived* from the node's SRS — the explicit step a verifying
node takes ahead of time, since verification never derives keys for a
transaction's unknown key hash.
"""

from __future__ import annotations

import click

from ispc_core.cli.common import open_node
from ispc_core.cli.progress import stage_progress

#: node circuits with a fixed constraint system, by name -> module
CIRCUIT_MODULES = {"contract_execution": "ispc_core.zk.circuits.contract_execution"}


@click.command("setup")
@click.option("--circuit", default="contract_execution", show_default=True, help="node circuit to make keys for")
@click.option("--capacity", type=int, default=None, help="trace capacity in field elements (default: every capacity)")
@click.option("--scheme", default=None, help="proving scheme (default: proof.scheme)")
@click.option("--curve", default=None, help="curve (default: proof.curve)")
@click.option("--resource", "resource", default=None, help="resource id (hex) of the deployed program, for a circuit derived from it")
@click.option("--force", is_flag=True, help="make new keys even if matching ones exist")
@click.pass_context
def setup(ctx, circuit, capacity, scheme, curve, resource, force) -> None:
    """Make the keys of a node circuit in the node's key store (development setup)."""
    import importlib

    from ispc_core.errors import NotProvided, RequestError
    from ispc_core.specs import ProverServices

    with open_node(ctx) as m:
        scheme = scheme or m.config.proof.scheme
        curve = curve or m.config.proof.curve
        spec = m.plugins.get("ispc_provers", scheme)
        if curve not in spec.curves:
            raise NotProvided(f"prover {scheme!r} does not support curve {curve!r}; choose one of: {', '.join(spec.curves)}")
        cspec = m.plugins.get("ispc_circuits", circuit)  # "no circuit ... choose one of"
        if cspec.members is not None:
            if resource is None:
                raise RequestError(f"circuit {circuit!r} is derived from a deployed program: give --resource ID")
            from ispc_core.node.store import parse_resource_id

            code = m.core.resource_code(parse_resource_id(resource))
            members = [(cid, lambda r=r: r) for cid, r in cspec.members(code, curve)]
        elif circuit not in CIRCUIT_MODULES:
            raise RequestError(f"circuit {circuit!r} has no fixed constraint system to set up ahead of time")
        else:
            if resource is not None:
                raise RequestError(f"circuit {circuit!r} is not derived from a program; --resource does not apply")
            mod = importlib.import_module(CIRCUIT_MODULES[circuit])
            caps = mod.CAPACITIES if capacity is None else (capacity,)
            if capacity is not None and capacity not in mod.CAPACITIES:
                raise RequestError(f"capacity {capacity} is not one of {', '.join(map(str, mod.CAPACITIES))}")
            members = [(mod.circuit_id(cap), lambda cap=cap: mod.compiled(cap, curve)) for cap in caps]
        keystore = m.config.home / "zkkeys"
        keystore.mkdir(parents=True, exist_ok=True)
        prover = spec.factory(ProverServices(home=m.config.home, config=m.config, keystore_dir=keystore))
        setup_fn = getattr(prover, "setup", None)
        derive_fn = getattr(prover, "keys", None)  # PLONK: derive from the SRS and the circuit
        if not callable(setup_fn) and not callable(derive_fn):
            raise NotProvided(f"prover {scheme!r} makes its keys on first use; it has no setup step")
        for cid, build in members:
            click.echo(f"compiling {cid} on {curve} …")
            r1cs = build()
            if callable(setup_fn):
                with stage_progress(f"{scheme} setup {cid} ({len(r1cs.constraints)} constraints)", 7) as progress:
                    vk_hash = setup_fn(cid, r1cs, curve, progress=progress, force=force)
            else:
                click.echo(f"{scheme}: deriving the keys of {cid} from the SRS …", err=True)
                _, meta = derive_fn(cid, r1cs, curve)
                vk_hash = bytes.fromhex(meta["verification_key_hash"])
            click.echo(f"{cid} {scheme}/{curve}: verification key {vk_hash.hex()} in {keystore}")


def register(main: click.Group) -> None:
    """Attach ``setup`` to the ``ispc`` command."""
    main.add_command(setup)
