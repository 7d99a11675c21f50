"""The step circuit (version 1: one frame — locals, globals, integer arithmetic, branches, select):
honest executions satisfy it; a changed public input, result, read, row or pc has no witness."""

from __future__ import annotations

import hashlib

import attrs
import pytest
import wasmtime

from ispc_core.zk.errors import ConstraintUnsatisfied
from ispc_zkvm.circuit.step import UnsupportedInstruction, compile_program
from ispc_zkvm.program import decode
from ispc_zkvm.replay import run

SUM = '''(module
  (global $g (mut i64) (i64.const 700))
  (global $k i32 (i32.const 3))
  (func (export "sum") (param $n i64) (result i64) (local $acc i64)
    (block $done
      (loop $top
        (br_if $done (i64.eqz (local.get $n)))
        (local.set $acc (i64.add (local.get $acc) (i64.mul (local.get $n) (global.get $g))))
        (local.set $n (i64.sub (local.get $n) (i64.const 1)))
        (br $top)))
    (global.set $g (i64.add (global.get $g) (i64.const 1)))
    (select (local.get $acc) (i64.const 99) (i64.lt_u (local.get $acc) (i64.const 1000))))
  (func (export "clamp") (param $x i32) (param $y i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $x) (local.get $y))
      (then (i32.sub (local.get $x) (local.get $y)))
      (else (i32.add (i32.mul (local.get $y) (global.get $k)) (i32.const -1)))))
  (func (export "flag") (param $a i32) (result i32)
    (block $out (result i32)
      (br $out (i32.ne (i32.le_u (local.get $a) (i32.const 10)) (i32.ge_u (local.get $a) (i32.const 5)))))))'''
CAPACITY = 64


@pytest.fixture(scope="module")
def module():
    data = wasmtime.wat2wasm(SUM)
    program = decode(data)
    return program, hashlib.sha256(data).digest(), compile_program(program, CAPACITY, "bn254")


def _witness(module, function, args):
    program, rid, circuit = module
    ex = run(program, function, args, [], [], max_steps=CAPACITY - 1)
    return ex, circuit.witness(ex, rid)


@pytest.mark.parametrize("function, args, result", [
    ("sum", (0,), 0), ("sum", (1,), 700), ("sum", (2,), 99), ("sum", (3,), 99),  # 2100 and 4200 are >= 1000: 99
    ("clamp", (9, 4), 5), ("clamp", (4, 9), 26), ("clamp", (0, 0), 0xFFFFFFFF), ("flag", (7,), 0), ("flag", (3,), 1), ("flag", (11,), 1),
])
def test_honest_executions_satisfy_the_circuit(module, function, args, result):
    program, rid, circuit = module
    ex, w = _witness(module, function, args)
    circuit.r1cs.check(w)
    public = circuit.r1cs.public_values(w)
    expect = result
    assert ex.results == (expect,)
    n_args = circuit.n_args
    assert public == [int.from_bytes(rid[:16], "big"), int.from_bytes(rid[16:], "big"), ex.function.entry,
                      *(list(ex.args) + [0] * (n_args - len(ex.args))), expect]


def test_a_changed_public_input_has_no_witness(module):
    """Every public input, changed, leaves the honest witness unsatisfied at a named constraint; generating a
    witness for a false result fails as well."""
    program, rid, circuit = module
    ex, w = _witness(module, "sum", (3,))
    n_pub = circuit.r1cs.n_public
    for k in range(2, n_pub):  # rid_hi and rid_lo bind the module (its own key); the rest bind the run
        bad = list(w)
        bad[1 + k] = (bad[1 + k] + 1) % circuit.cb.r
        with pytest.raises(ConstraintUnsatisfied):
            circuit.r1cs.check(bad)
    forged = attrs.evolve(ex, results=(43,))
    with pytest.raises(ConstraintUnsatisfied, match="the returned value is the public result"):
        circuit.r1cs.check(circuit.witness(forged, rid))
    other = attrs.evolve(ex, args=(4,))  # the same run claimed for another argument
    with pytest.raises(ConstraintUnsatisfied):
        circuit.r1cs.check(circuit.witness(other, rid))


def _wire(circuit, name):
    return circuit.r1cs.wire_names.index(name)


def _row_of(ex, op):
    return next(i for i, s in enumerate(ex.steps) if s.op == op)


@pytest.mark.parametrize("op", ["i64.add", "i64.mul", "i64.sub", "i64.eqz", "i64.lt_u", "select"])
def test_a_row_whose_result_is_changed_by_one_fails_at_that_row(module, op):
    program, rid, circuit = module
    ex, w = _witness(module, "sum", (3,))
    i = _row_of(ex, op)
    bad = list(w)
    r = _wire(circuit, f"row{i}.R")
    bad[r] = bad[r] + 1
    with pytest.raises(ConstraintUnsatisfied, match=rf"row {i}|row{i}\."):
        circuit.r1cs.check(bad)


def test_a_changed_read_is_caught_by_the_frame_memory(module):
    """A local read claimed with another value (and the row's result made consistent with it) breaks the
    memory checker: the read must return the last write."""
    program, rid, circuit = module
    ex, w = _witness(module, "sum", (3,))
    i = _row_of(ex, "local.get")
    rows = [dict(r) for r in _rows(circuit, ex, rid)]
    rows[i]["A"] += 1
    rows[i]["R"] += 1
    with pytest.raises(ConstraintUnsatisfied, match="frame"):
        circuit.r1cs.check(_with_rows(circuit, ex, rid, rows))


def test_a_changed_pc_or_descriptor_is_caught_by_the_program_rom(module):
    program, rid, circuit = module
    ex, _ = _witness(module, "sum", (3,))
    i = _row_of(ex, "i64.sub")
    for field, delta in (("imm", 1), ("addr_w", 1), ("target", 1), ("kind", None)):
        rows = [dict(r) for r in _rows(circuit, ex, rid)]
        if field == "kind":
            rows[i]["kind"] = "i64.add"  # the row claims another instruction at the same pc
        else:
            rows[i][field] += delta
        with pytest.raises(ConstraintUnsatisfied):
            circuit.r1cs.check(_with_rows(circuit, ex, rid, rows))


def _rows(circuit, ex, rid):
    captured = {}
    real = circuit.cb.witness_values

    def grab():
        captured["rows"] = [dict(r) for r in circuit._rows]
        return real()

    circuit.cb.witness_values = grab
    try:
        circuit.witness(ex, rid)
    finally:
        circuit.cb.witness_values = real
    return captured["rows"]


def _with_rows(circuit, ex, rid, rows):
    real = circuit.cb.witness_values

    def swap():
        circuit._rows = rows
        return real()

    circuit.cb.witness_values = swap
    try:
        return circuit.witness(ex, rid)
    finally:
        circuit.cb.witness_values = real


def test_an_execution_longer_than_the_capacity_is_refused_before_proving(module):
    from ispc_zkvm.interpreter import StepLimitExceeded

    program, rid, circuit = module
    ex = run(program, "sum", (40,), [], [], max_steps=10_000)
    with pytest.raises(StepLimitExceeded, match=rf"{len(ex.steps)} steps; the circuit's capacity is {CAPACITY - 1}"):
        circuit.witness(ex, rid)


@pytest.mark.parametrize("wat, instruction", [
    ('(module (func (export "f") (param i32) (result i32) local.get 0 i32.const 3 i32.div_u))', "i32.div_u"),
    ('(module (func $g (result i32) i32.const 1) (func (export "f") (result i32) call $g))', "call"),
    ('(module (memory 1) (func (export "f") (result i32) i32.const 0 i32.load))', "i32.load"),
])
def test_instructions_of_later_stages_are_refused_by_name(wat, instruction):
    with pytest.raises(UnsupportedInstruction) as exc:
        compile_program(decode(wasmtime.wat2wasm(wat)), 16, "bn254")
    assert exc.value.instruction == instruction and instruction in str(exc.value)


def test_groth16_proves_and_verifies_a_run_and_rejects_a_changed_result(module):
    from ispc_groth16.generator import generate_parameters
    from ispc_groth16.prover import create_proof, prepare_proving_key
    from ispc_groth16.verifier import prepare_verifying_key, verify_proof

    program, rid, circuit = module
    ex, w = _witness(module, "clamp", (9, 4))
    pk = generate_parameters(circuit.r1cs, "bn254")
    proof = create_proof(prepare_proving_key(pk), w)
    pvk = prepare_verifying_key(pk.vk)
    public = circuit.r1cs.public_values(w)
    assert verify_proof(pvk, proof, public)
    for k in range(len(public)):
        bad = list(public)
        bad[k] = (bad[k] + 1) % circuit.cb.r
        assert not verify_proof(pvk, proof, bad)
