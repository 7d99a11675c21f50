"""The provable subset: the example contracts fall inside it; everything outside is refused, named."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

from ispc_core.errors import DeployError
from ispc_zkvm.program import ProgramError, decode
from ispc_zkvm.subset import NotProvable, check

CONTRACTS = Path(__file__).resolve().parents[3] / "contracts"


@pytest.mark.parametrize("name", ["token", "counter", "oracle_payment", "adversarial", "rust/counter_rs"])
def test_the_example_contracts_are_inside_the_subset(name):
    program = decode((CONTRACTS / f"{name}.wasm").read_bytes())
    check(program)
    assert program.code and all(ins.height >= 0 for ins in program.code)


def _refused(wat: str) -> NotProvable:
    with pytest.raises(NotProvable) as exc:
        check(decode(wasmtime.wat2wasm(wat)))
    assert isinstance(exc.value, DeployError) and exc.value.code == "not_provable"
    return exc.value


@pytest.mark.parametrize("wat, instruction, function", [
    ('(module (func (export "price") (result i32) f64.const 1.5 f64.const 2 f64.add drop i32.const 0))', "f64.const", "price"),
    ('(module (func (export "half") (param i32) (result i32) local.get 0 f32.convert_i32_s i32.trunc_f32_s))', "f32.convert_i32_s", "half"),
    ('(module (type $t (func (result i32))) (table 1 funcref) (func (export "jump") (result i32) i32.const 0 call_indirect (type $t)))',
     "call_indirect", "jump"),
    ('(module (memory 1) (func (export "wipe") i32.const 0 i32.const 0 i32.const 16 memory.fill))', "memory.fill", "wipe"),
    ('(module (memory 1) (func (export "move") i32.const 0 i32.const 8 i32.const 8 memory.copy))', "memory.copy", "move"),
])
def test_an_instruction_outside_the_subset_is_refused_naming_it_and_its_function(wat, instruction, function):
    err = _refused(wat)
    assert err.instruction == instruction and err.function == function
    assert instruction in str(err) and f"`{function}`" in str(err)


@pytest.mark.parametrize("wat, what", [
    ('(module (func (export "f") (param f64)))', "f64 parameter"),
    ('(module (func (export "f") (local f32)))', "f32 local"),
    ('(module (global f64 (f64.const 0)) (func (export "f")))', "global 0 has type f64"),
    ('(module (func $init) (start $init) (func (export "f")))', "start function"),
    ('(module (import "env" "mem" (memory 1)) (func (export "f")))', "imports a memory"),
])
def test_module_features_outside_the_subset_are_refused(wat, what):
    assert what in str(_refused(wat))


def test_a_rust_contract_with_call_indirect_is_refused():
    err = _refused_bytes((CONTRACTS / "rust" / "panicky_rs.wasm").read_bytes())
    assert err.instruction == "call_indirect"


def _refused_bytes(data: bytes) -> NotProvable:
    with pytest.raises(NotProvable) as exc:
        check(decode(data))
    return exc.value


def test_bytes_the_reader_cannot_follow_are_a_typed_error_not_a_crash():
    good = (CONTRACTS / "counter.wasm").read_bytes()
    for bad in (b"", b"\0asm", good[:-7], b"\0asm\x01\0\0\0\x0a\x05\x01\x03\x00\xff\x0b"):
        with pytest.raises(ProgramError):
            decode(bad)


def test_block_nesting_has_a_fixed_limit_whatever_the_interpreter_allows():
    """Every node must decide alike: nesting up to MAX_NESTING decodes, deeper is refused, also where
    Python's recursion limit is raised, and also far beyond it."""
    import sys

    from ispc_zkvm.program import MAX_NESTING

    def nested(k):
        return wasmtime.wat2wasm("(module (func (export \"f\") " + "(block " * k + ")" * k + "))")

    assert decode(nested(MAX_NESTING)).code
    old = sys.getrecursionlimit()
    try:
        for limit in (old, 20_000):
            sys.setrecursionlimit(limit)
            with pytest.raises(ProgramError, match=f"at most {MAX_NESTING}"):
                decode(nested(MAX_NESTING + 1))
    finally:
        sys.setrecursionlimit(old)
    with pytest.raises(ProgramError, match="nests blocks"):  # a RecursionError inside the reader, or the limit
        decode(nested(5000))


def test_more_sections_than_the_reader_follows_are_refused():
    """pywasm reads at most 32 sections; a module with more (custom sections are free to add) must not be
    decoded partially: the code past them would be code the zkVM never saw."""
    data = bytearray(wasmtime.wat2wasm('(module (func (export "f") (result i32) i32.const 7))'))
    header, body = bytes(data[:8]), bytes(data[8:])
    custom = b"\x00\x02\x01x"  # a custom section named "x", empty
    with pytest.raises(ProgramError, match="beyond the sections"):
        decode(header + custom * 40 + body)
