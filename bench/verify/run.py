"""Verification benchmark: what another node pays to check a proven token transfer, part by part, and a block of them.

Per curve (Groth16, ``proof.curve`` bn254 then bls12-381):

1. node home **A** (default configuration) deploys ``contracts/token.wasm`` and
   splits alice's genesis output into ``block + 6`` native outputs of her own
   (one plain signed transaction, mined), so that ``block`` proven transfers
   ``transfer(1)`` alice → bob can all wait in one mempool and make ONE block;
2. node home **B** joins the same chain (``overrides=A.chain_overrides()`` and
   the same curve), gets A's key store (``zkkeys/`` copied: keys never travel
   with a transaction), receives the deploy and split transactions with
   ``B.submit_transaction`` and mines them (B's block 1 has A's block hash);
3. A makes the transfers (one proof each, the slow part of the run, not
   measured) and B measures, medians of ``--reps`` ``time.perf_counter`` runs
   after one warm-up:

   * ONE transfer split into its checks, each called as ``Verifier.verify``
     calls it: ``check_structure`` (the journal decodes); ``check_signatures``
     (the id, caller signature, executor attestation, signed inputs); the
     journal check (``verification_context`` + ``check_entries`` +
     ``check_effects`` + ``check_hashes``, also each alone); ``check_proof``
     with and without the pairing, and the plugin's ``verify`` (the pairing
     alone); and the whole ``Verifier(B).verify(tx)``. The first, cold
     ``verify`` (it compiles the pinned circuit once per process for its
     ``.r1cs`` digest and loads the key) is reported apart;
   * the block: ``Verifier.verify`` over the ``block`` transactions in order
     without admitting them, then ONE timed pass of ``B.submit_transaction``
     over them in order (verification + mempool write; it cannot be repeated:
     a second pass is a double spend), then ``B.mine()`` must put all of them
     in one block whose hash equals A's;
   * the block batch-verified: ``Verifier.verify_many`` over the block (one
     ``verify_batch`` of its proofs, same reports as one by one), the pairings
     alone (``Groth16Prover.verify_batch`` of 1, 16 and ``block`` artifacts vs
     ``verify`` one by one, and ``block`` with one bad proof, bisected), and a
     third node C admitting the block with ONE ``Manager.submit_transactions``
     (its block must equal A's too).

The journal check is reported as a fraction of the pairing and of the whole
proof check (issue 10: it must stay a small fraction of the pairing).

Writes ``results.json`` and ``RESULTS.md`` beside this file.
``--profile`` prints cProfile tables of the journal check and of ``verify``.
Usage: ``python bench/verify/run.py [--curves bn254,bls12-381] [--block 64] [--reps 15] [--profile]``
"""

from __future__ import annotations

import argparse
import datetime
import inspect
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchenv import cpu_model  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TOKEN = ROOT / "contracts" / "token.wasm"


def median_s(fn, reps: int, setup=None) -> float:
    """Median wall time of ``fn(setup())`` over ``reps`` runs after one warm-up (``setup`` untimed)."""
    times = []
    for i in range(reps + 1):
        arg = setup() if setup else None
        t0 = time.perf_counter()
        fn(arg) if setup else fn()
        if i:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def split_alice(m, pieces: int):
    """A signed native transaction turning alice's one confirmed output into ``pieces`` outputs of hers."""
    from ispc_core.node import txcodec
    from ispc_core.proto import transaction_pb2 as pb

    alice = m.address("alice")
    (utxo,) = m.node.spendable_utxos(alice)
    each = utxo.amount // pieces
    outs = [txcodec.native_output(alice, each) for _ in range(pieces - 1)]
    outs.append(txcodec.native_output(alice, utxo.amount - each * (pieces - 1)))
    tx = pb.Transaction(chain_id=m.config.node.chain_id.encode(), inputs=[pb.TxInput(outpoint=utxo.outpoint)], outputs=outs)
    key = m.node.keys.get("alice")
    txcodec.sign_inputs(tx, lambda i, t: key)
    return tx


def _profile(title: str, fn) -> None:
    import cProfile
    import io
    import pstats

    prof = cProfile.Profile()
    prof.runcall(fn)
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(18)
    print(f"--- cProfile {title} (by own time)\n" + "\n".join(buf.getvalue().splitlines()[4:]), flush=True)


def run_curve(curve: str, block: int, reps: int, block_reps: int, profile: bool = False) -> dict:
    from ispc_core.context import CallRequest
    from ispc_core.coordinator import Manager
    from ispc_core.node import txcodec
    from ispc_core.verification import Verifier
    from ispc_core.verification.journal import check_effects, check_entries, check_hashes, verification_context
    from ispc_core.verification.ledger_rules import check_ledger_rules
    from ispc_core.verification.proofs import artifact_from_zk, check_proof, circuits_of, the_proof
    from ispc_core.verification.signatures import check_signatures
    from ispc_core.verification.structure import check_structure

    tmp = Path(tempfile.mkdtemp(prefix="ispc-bench-verify-"))
    try:
        A = Manager.open(tmp / "A", overrides={"proof.curve": curve})
        rid = A.deploy(TOKEN).resource_id
        setup_txs = [tx for _, tx in A.node.mempool.list()]  # the deploy transaction
        split = split_alice(A, block + 6)
        A.node.submit(split)
        setup_txs.append(split)
        a1 = A.mine()
        bob = A.address("bob")

        t0 = time.perf_counter()
        txs, prove_s = [], []
        for _ in range(block):
            res = A.call(CallRequest(rid, "transfer", (1,), caller="alice", input_data=bob))
            txs.append(res.transaction)
            prove_s.append(res.timings_us.get("prove", 0) / 1e6)
        generate_s = time.perf_counter() - t0

        B = Manager.open(tmp / "B", overrides={**A.chain_overrides(), "proof.curve": curve})
        shutil.copytree(tmp / "A" / "zkkeys", tmp / "B" / "zkkeys", dirs_exist_ok=True)
        for tx in setup_txs:
            B.submit_transaction(tx)
        b1 = B.mine()
        assert b1.hash == a1.hash, "B's block 1 differs from A's"

        v = Verifier(B)
        tx = txs[0]
        tx_id = txcodec.tx_id(tx)

        t0 = time.perf_counter()
        cold = v.verify(tx)
        cold_s = time.perf_counter() - t0
        assert cold.valid, cold.reason
        print(f"  {curve}: {cold.circuit}; " + "; ".join(f"{c.name} ok" for c in cold.checks), flush=True)

        # --- the parts, called as Verifier.verify / _check_execution call them
        # as Verifier.verify calls it (the tip is read there too); only the keywords this version takes
        wanted = set(inspect.signature(check_structure).parameters)

        def structure():
            known = {
                "chain_id": lambda: B.node.ledger.chain_id,
                "max_journal_bytes": lambda: B.config.limits.max_trace_bytes,
                "max_code_bytes": lambda: B.config.limits.max_model_bytes,
                "tip": lambda: B.node.ledger.snapshot().height,
            }
            return check_structure(tx, **{k: f() for k, f in known.items() if k in wanted})

        calls = structure()
        chain = v.chain()
        kind = v.resource_kind(bytes(tx.execution.resource_id))
        functions = {f.name: f for f in B.core.host_functions}
        oracle_keys = [k.hex() for k in chain.oracle_keys]
        zk = the_proof(tx)
        pinned = {p.kind: tuple(p.circuits) for p in chain.circuits}.get(kind, ())
        circuits = circuits_of(B.plugins)
        trusted = tuple(bytes(k) for k in chain.trusted_executors)
        prover = v.prover_for(zk.proving_scheme, zk.curve)
        artifact = artifact_from_zk(zk)

        def ctx():
            return verification_context(B.node, B.config, tx, B.core._evidence, oracle_keys)

        def ctx_entries():
            c = ctx()
            check_entries(c, calls, functions)
            return c

        def journal():
            c = ctx()
            check_entries(c, calls, functions)
            check_effects(c, tx, B.node.ledger)
            check_hashes(tx, [zk.curve])

        def proof(pairing: bool):
            check_proof(tx, kind=kind, pinned=pinned, circuits=circuits, prover_for=v.prover_for,
                        trusted_executors=trusted, accept_unproven=chain.accept_unproven, check_pairing=pairing)

        one = {
            "tx_id": median_s(lambda: txcodec.tx_id(tx), reps),
            "structure": median_s(structure, reps),
            "signatures": median_s(lambda: check_signatures(tx, tx_id), reps),
            "resource_and_rules": median_s(lambda: (v.resource_kind(bytes(tx.execution.resource_id)), v.chain()), reps),
            "journal": median_s(journal, reps),
            "journal.context": median_s(ctx, reps),
            "journal.entries": median_s(lambda c: check_entries(c, calls, functions), reps, setup=ctx),
            "journal.effects": median_s(lambda c: check_effects(c, tx, B.node.ledger), reps, setup=ctx_entries),
            "journal.hashes": median_s(lambda: check_hashes(tx, [zk.curve]), reps),
            "proof": median_s(lambda: proof(True), reps),
            "proof_no_pairing": median_s(lambda: proof(False), reps),
            "pairing": median_s(lambda: prover.verify(artifact), reps),
            "ledger": median_s(lambda: check_ledger_rules(B.node, tx, tx_id), reps),
            "verify": median_s(lambda: v.verify(tx), reps),
        }
        if profile:
            _profile(f"{curve}: journal check x200", lambda: [journal() for _ in range(200)])
            _profile(f"{curve}: Verifier.verify x50", lambda: [v.verify(tx) for _ in range(50)])
        one["verify_cold"] = cold_s
        one["journal_entries_count"] = len(calls)
        one["journal_functions"] = [c.function for c in calls]
        one["journal_bytes"] = sum(e.ByteSize() for e in tx.execution.journal)
        one["tx_bytes"] = len(txcodec.encode(tx))

        # --- the block
        per_verify: list[list[float]] = [[] for _ in txs]

        def verify_all():
            for i, t in enumerate(txs):
                s0 = time.perf_counter()
                r = v.verify(t)
                per_verify[i].append(time.perf_counter() - s0)
                assert r.valid, r.reason

        block_verify_s = median_s(verify_all, block_reps)

        # --- the block batch-verified (issue 14 item 3): Verifier.verify_many, and the pairings alone
        many = v.verify_many(txs)
        assert all(r.valid for r in many) and [r.to_json() for r in many] == [v.verify(t).to_json() for t in txs]
        block_many_s = median_s(lambda: v.verify_many(txs), block_reps)
        arts = [artifact_from_zk(the_proof(t)) for t in txs]
        pairings = {}
        for k in sorted({1, 16, block} & set(range(1, block + 1))):
            sub = arts[:k]
            assert prover.verify_batch(sub) == [True] * k
            pairings[k] = {
                "one_by_one_s": median_s(lambda: [prover.verify(a) for a in sub], block_reps),
                "batch_s": median_s(lambda: prover.verify_batch(sub), block_reps),
            }
        bad = list(arts)
        if block > 1:  # tx 0's proof where another transaction's public inputs are expected
            bad[block // 2] = attrs.evolve(arts[block // 2], proof=arts[0].proof)
        assert prover.verify_batch(bad) == [block == 1 or i != block // 2 for i in range(block)]
        one_bad_s = median_s(lambda: prover.verify_batch(bad), block_reps)
        per_submit = []
        t0 = time.perf_counter()
        for t in txs:
            s0 = time.perf_counter()
            B.submit_transaction(t)
            per_submit.append(time.perf_counter() - s0)
        submit_s = time.perf_counter() - t0
        b2 = B.mine()
        a2 = A.mine()
        assert b2 is not None and len(b2.tx_ids) == block, f"B mined {0 if b2 is None else len(b2.tx_ids)} of {block}"
        assert b2.hash == a2.hash, "B's block of transfers differs from A's"
        # a third node C admits the same block with ONE Manager.submit_transactions (one batch of pairings)
        C = Manager.open(tmp / "C", overrides={**A.chain_overrides(), "proof.curve": curve})
        shutil.copytree(tmp / "A" / "zkkeys", tmp / "C" / "zkkeys", dirs_exist_ok=True)
        assert all(a.ok for a in C.submit_transactions(setup_txs))
        assert C.mine().hash == a1.hash
        C.verifier.verify(txs[0])  # warm (circuit digest, key) as B was
        t0 = time.perf_counter()
        admitted = C.submit_transactions(txs)
        submit_many_s = time.perf_counter() - t0
        assert all(a.ok for a in admitted), [str(a.error) for a in admitted if not a.ok][:3]
        c2 = C.mine()
        assert c2.hash == a2.hash, "C's block of transfers differs from A's"
        C.close()
        A.close()
        B.close()
        return {
            "curve": curve,
            "circuit": cold.circuit,
            "one": one,
            "block": {
                "n": block,
                "verify_s": block_verify_s,
                "verify_median_s": statistics.median(statistics.median(p[1:]) for p in per_verify),
                "submit_s": submit_s,
                "submit_median_s": statistics.median(per_submit),
                "same_block_hash_as_A": True,
                "verify_many_s": block_many_s,
                "submit_many_s": submit_many_s,
                "pairings": pairings,
                "batch_one_bad_s": one_bad_s,
            },
            "generate_s": generate_s,
            "prove_median_s": statistics.median(prove_s),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ms(x: float) -> str:
    return f"{1000 * x:.3f}"


def write_md(out: Path, rows: list[dict], meta: dict) -> None:
    lines = [
        "# Verification of proven token transfers (Groth16, contract_execution.v1)",
        "",
        f"Measured {meta['date']} on {meta['machine']}. `python bench/verify/run.py` "
        f"(median of {meta['reps']} timed runs after one warm-up; the block: median of {meta['block_reps']} passes; "
        f"total run {meta['total_s']:.0f} s; 1-minute load average {meta['loadavg_1min'][0]} before, "
        f"{meta['loadavg_1min'][1]} after).",
        "",
        "Node A proves `transfer(1)` calls of `contracts/token.wasm` (alice → bob); node B, a separately "
        "initialised home on the same chain with A's key store copied, verifies them without running the program. "
        "Each part is the function `Verifier.verify` calls, called the same way.",
        "",
        "## One transfer (ms)",
        "",
        "| part | " + " | ".join(r["curve"] for r in rows) + " |",
        "|---|" + "---:|" * len(rows),
    ]
    parts = [
        ("tx_id", "transaction id (sha256 of the unsigned form)"),
        ("structure", "structure (`check_structure`: call record, journal decodes, tip read)"),
        ("signatures", "signatures (`check_signatures`: 1 signed input, caller, executor)"),
        ("resource_and_rules", "resource kind + chain rules (ledger reads)"),
        ("journal", "**journal** (`verification_context` + `check_entries` + `check_effects` + `check_hashes`)"),
        ("journal.context", "· `verification_context`"),
        ("journal.entries", "· `check_entries` (each host call's verifier hook)"),
        ("journal.effects", "· `check_effects` (outputs/inputs/events/return data explained)"),
        ("journal.hashes", "· `check_hashes` (request hash, Poseidon trace commitment, result hash)"),
        ("proof_no_pairing", "proof check without the pairing (`check_proof(check_pairing=False)`)"),
        ("pairing", "pairing alone (the prover's `verify`)"),
        ("proof", "**proof** (`check_proof`, with the pairing)"),
        ("ledger", "ledger rules (`check_ledger_rules`: ledger + mempool reads)"),
        ("verify", "**whole `Verifier(B).verify(tx)`** (incl. ledger rules)"),
        ("verify_cold", "first `verify` in the process (compiles the pinned circuit for its r1cs digest, loads the key)"),
    ]
    for key, label in parts:
        lines.append(f"| {label} | " + " | ".join(ms(r["one"][key]) for r in rows) + " |")
    lines.append("| journal / pairing | " + " | ".join(f"**{r['one']['journal'] / r['one']['pairing']:.2f}**" for r in rows) + " |")
    lines.append("| journal / proof check | " + " | ".join(f"{r['one']['journal'] / r['one']['proof']:.2f}" for r in rows) + " |")
    lines.append(
        "| journal entries / their bytes / tx bytes | "
        + " | ".join(f"{r['one']['journal_entries_count']} / {r['one']['journal_bytes']} / {r['one']['tx_bytes']}" for r in rows)
        + " |"
    )
    lines += [
        "",
        f"## A block of {rows[0]['block']['n']} transfers",
        "",
        "| | " + " | ".join(r["curve"] for r in rows) + " |",
        "|---|" + "---:|" * len(rows),
        "| `Verifier.verify` over the block, no admission (s) | " + " | ".join(f"{r['block']['verify_s']:.3f}" for r in rows) + " |",
        "| · per transaction: mean / median (ms) | " + " | ".join(f"{ms(r['block']['verify_s'] / r['block']['n'])} / {ms(r['block']['verify_median_s'])}" for r in rows) + " |",
        "| `B.submit_transaction` of each in order, one pass (s) | " + " | ".join(f"{r['block']['submit_s']:.3f}" for r in rows) + " |",
        "| · median per transaction (ms) | " + " | ".join(ms(r["block"]["submit_median_s"]) for r in rows) + " |",
        "| transactions per second admitted | " + " | ".join(f"{r['block']['n'] / r['block']['submit_s']:.0f}" for r in rows) + " |",
        "| B's block equals A's (hash) | " + " | ".join("yes" if r["block"]["same_block_hash_as_A"] else "no" for r in rows) + " |",
        "| **`Verifier.verify_many` over the block (one batch of pairings), no admission (s)** | " + " | ".join(f"{r['block']['verify_many_s']:.3f}" for r in rows) + " |",
        "| · speed-up over `Verifier.verify` one by one | " + " | ".join(f"{r['block']['verify_s'] / r['block']['verify_many_s']:.2f}×" for r in rows) + " |",
        "| **`C.submit_transactions` of the block, one call (s)** | " + " | ".join(f"{r['block']['submit_many_s']:.3f}" for r in rows) + " |",
        "| · transactions per second admitted | " + " | ".join(f"{r['block']['n'] / r['block']['submit_many_s']:.0f}" for r in rows) + " |",
        "| (not verification) A's proving time per transfer, median (s) | " + " | ".join(f"{r['prove_median_s']:.2f}" for r in rows) + " |",
        "",
    ]
    ks = sorted(rows[0]["block"]["pairings"], key=int)
    lines += [
        "## The pairings alone: `Groth16Prover.verify_batch` vs `verify` one by one (ms)",
        "",
        "One key; k proofs (decoding with subgroup checks included in both). The batch is one multi-pairing of "
        "k + 3 pairs with 128-bit random scalars (`ispc_groth16.batch`).",
        "",
        "| k | " + " | ".join(f"{r['curve']} one by one | {r['curve']} batch | {r['curve']} batch / one proof" for r in rows) + " |",
        "|---:|" + "---:|---:|---:|" * len(rows),
    ]
    for k in ks:
        cells = []
        for r in rows:
            p = r["block"]["pairings"][k]
            one = r["block"]["pairings"][ks[0]]["one_by_one_s"]
            cells.append(f"{ms(p['one_by_one_s'])} | {ms(p['batch_s'])} | {p['batch_s'] / one:.1f}×")
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    lines.append(f"| {ks[-1]}, one of them bad (bisected) | " + " | ".join(
        f"— | {ms(r['block']['batch_one_bad_s'])} | {r['block']['batch_one_bad_s'] / r['block']['pairings'][ks[0]]['one_by_one_s']:.1f}×"
        for r in rows) + " |")
    lines.append("")
    fns = ", ".join(f"`{f}`" for f in rows[0]["one"]["journal_functions"])
    worst = max(r["one"]["journal"] / r["one"]["pairing"] for r in rows)
    lines += [
        "## Notes",
        "",
        f"* The journal check is at most **{worst:.1%} of the pairing** here (issue 10 asks for a small fraction). "
        f"A transfer's journal has {rows[0]['one']['journal_entries_count']} host calls ({fns}); the check is linear in them.",
        "* Where the journal check's time goes (`--profile`, cProfile, at the time of writing): about half is the two "
        "Poseidon sponges of `check_hashes` (the trace commitment of the journal and the execution result hash, "
        "native C); the rest is ~10 SQLite reads (the snapshot block, `balance_at`, the spent outputs, state heads) "
        "and the canonical encoding of the outputs in `check_effects`. Nothing in it is worth optimising next to "
        "the pairing.",
        "* The proof check without the pairing recomputes the eight public inputs from the transaction "
        "(`CircuitSpec.public_inputs`), which computes the same two Poseidon sponges again on purpose (nothing is "
        "taken from the journal check); it also looks the key up in the local key store (cached) and compares the "
        "r1cs digest (compiled once per process).",
        "* The pairing column is the Groth16 plugin's `verify`: decoding the proof (with subgroup checks of its "
        "points, in Python on bn254) and garaga's `multi_pairing`. It is the largest part on both curves; the whole "
        "`verify` adds the signatures (three ECDSA verifications: the signed input, the caller, the executor) and the "
        "ledger rules, which verify the same three signatures again (`ispc_core.node.rules.check_transaction`, "
        "the ledger's own check, also run when a block is mined): about 0.1 ms, not worth sharing.",
        "* The cold first `verify` includes the process's first imports on the first curve (bn254 runs first) and "
        "compiling the pinned circuit once for its `.r1cs` digest; later verifications hit the cache.",
        "* The block: alice's genesis output is first split (one signed native transaction, mined on both nodes) so "
        "that the transfers spend different outputs and can all be pending at once; B verifies and admits them in "
        "A's order and mines them into a block with the same hash as A's. `submit_transaction` is the verification "
        "plus the ledger rules against the growing mempool plus the mempool write; one pass only, since a second "
        "would be a double spend.",
        "* Batch verification (issue 14 item 3): `Verifier.verify_many` runs every check but the pairing per "
        "transaction and then ONE `Groth16Prover.verify_batch` of the block's proofs (one multi-pairing of k + 3 "
        "pairs, 128-bit random scalars, soundness error 2^-128); its reports equal those of `verify` one by one "
        "(asserted above). `Manager.submit_transactions` does the same batch and then admits in order. What is left "
        "per proof in a batch: decoding it with its subgroup checks (about 1.1 ms on bn254, mostly B's G2 check in "
        "Python) and one Miller loop per proof in the multi-pairing (garaga: about 0.75 ms per pair on bn254); the "
        "random scalings (a 128-bit G1 multiplication per proof, one MSM of the C's, one input MSM for the batch) "
        "cost about 0.1 ms per proof. So 64 proofs cost about 26× one on bn254 (the issue's goal of ≤ 5× needs the "
        "decoding and the Miller loops faster: the native backend of item 1, a later session). With one bad proof "
        "the bisection re-checks ~2·log2(k) halves and then verifies the bad one alone: still below one by one.",
        "* The machine is a 2-core VM shared with other work: single timings move by ±50 % under load (the load "
        "average is recorded above); medians are used throughout.",
    ]
    out.write_text("\n".join(lines).rstrip() + "\n")


def _versions() -> str:
    from importlib import metadata

    found = []
    for name in ("garaga", "coincurve", "protobuf"):
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return (", " + ", ".join(found)) if found else ""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--curves", default="bn254,bls12-381")
    ap.add_argument("--block", type=int, default=64)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--block-reps", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="print cProfile tables of the journal check and of verify")
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    load_before = os.getloadavg()[0]
    rows = []
    for curve in args.curves.split(","):
        print(f"{curve}: proving {args.block} transfers on A, then verifying on B", flush=True)
        rows.append(run_curve(curve, args.block, args.reps, args.block_reps, args.profile))
        one = rows[-1]["one"]
        print(f"  verify {ms(one['verify'])} ms, journal {ms(one['journal'])} ms, pairing {ms(one['pairing'])} ms, "
              f"block verify {rows[-1]['block']['verify_s']:.3f} s, submit {rows[-1]['block']['submit_s']:.3f} s", flush=True)
    meta = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.machine()}"
        + _versions(),
        "reps": args.reps,
        "block_reps": args.block_reps,
        "total_s": time.perf_counter() - t0,
        "loadavg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    out = Path(args.out)
    out.with_name("results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    write_md(out, rows, meta)
    print(out.read_text())


if __name__ == "__main__":
    main()
