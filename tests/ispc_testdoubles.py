"""Test doubles: a scripted engine, a keyed-hash prover and its circuit.

They live in tests only. The scripted engine runs "programs" written as JSON:
each function is a list of steps, a step is ``[host_function, arg, ...]``
where ``"$N"`` stands for the call's N-th argument and ``"hex:..."`` for bytes,
or one of the special steps ``["trap"]``, ``["spin"]`` (loop until the
deadline) and ``["fuel", N]`` (burn N fuel).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import attrs

from ispc_core import hookimpl
from ispc_core.errors import DeployError, OutOfFuel, ProgramTrap
from ispc_core.node.files import write_atomic
from ispc_core.specs import (
    CircuitSpec,
    EngineResult,
    EngineSpec,
    FunctionSignature,
    ProofArtifact,
    ProverSpec,
    ResourceInfo,
)

MAGIC = b"TESTPROGRAM\n"


def program(functions: dict) -> bytes:
    """The bytes of a scripted test program."""
    return MAGIC + json.dumps({"functions": functions}, sort_keys=True).encode()


def _arg(value, args):
    if isinstance(value, str) and value.startswith("$"):
        return args[int(value[1:])]
    if isinstance(value, str) and value.startswith("hex:"):
        return bytes.fromhex(value[4:])
    return value


class ScriptEngine:
    """Interprets scripted test programs, calling host functions through the context."""

    def __init__(self):
        self.fail_next = None

    def validate(self, code, host_functions):
        if not code.startswith(MAGIC):
            raise DeployError("not a test program")
        try:
            doc = json.loads(code[len(MAGIC):])
        except json.JSONDecodeError as exc:
            raise DeployError(f"malformed test program: {exc}") from None
        known = {f.name for f in host_functions} | {"trap", "spin", "fuel"}
        for fname, steps in doc["functions"].items():
            for step in steps:
                if step[0] not in known:
                    raise DeployError(f"unknown host function {step[0]!r} in {fname}")
        exports = tuple(FunctionSignature(n, ("i64",) * 0, ()) for n in sorted(doc["functions"]))
        return ResourceInfo(kind="test", exports=exports)

    def execute(self, call):
        doc = json.loads(call.code[len(MAGIC):])
        steps = doc["functions"][call.function]
        results = []
        meter = call.context.meter
        for step in steps:
            name, raw = step[0], step[1:]
            if name == "trap":
                raise ProgramTrap(f"trap in {call.function}: unreachable")
            if name == "spin":
                while True:
                    meter.check_deadline()
                    time.sleep(0.001)
            if name == "fuel":
                meter.fuel_used += raw[0]
                if meter.fuel_used > meter.limits.fuel:
                    raise OutOfFuel(f"out of fuel: {meter.fuel_used} used", used=meter.fuel_used, allowed=meter.limits.fuel)
                continue
            results.append(call.context.host.call(name, *[_arg(a, call.args) for a in raw]))
        meter.fuel_used += 10 * len(steps)
        return EngineResult(values=tuple(r for r in results if isinstance(r, int)), usage={"fuel_used": meter.fuel_used})


class TestEnginePlugin:
    """Registers the scripted engine as the ``test`` engine for kind ``test``."""

    __test__ = False

    def __init__(self):
        self.engine = ScriptEngine()

    @hookimpl
    def ispc_engines(self):
        return [EngineSpec(name="test", kinds=("test",), suffixes=(".testprog",), factory=lambda services: self.engine)]


@attrs.frozen
class KeyedInstance:
    circuit_id: str
    version: str
    public_inputs: tuple[int, ...]


TEST_CIRCUIT = "test_circuit.v1"


def _instance(sealed, curve):
    erh = int.from_bytes(sealed.execution_result_hash, "big")
    return KeyedInstance(TEST_CIRCUIT, "v1", (erh, int.from_bytes(sealed.trace_commitment, "big")))


def test_public_inputs(tx, curve, circuit_id=""):
    """(R, T) recomputed from the transaction, as a verifier does."""
    from ispc_core.journal import execution_hashes

    h = execution_hashes(tx, curve)
    return (int.from_bytes(h.execution_result_hash, "big"), int.from_bytes(h.trace_commitment, "big"))


test_public_inputs.__test__ = False


def test_r1cs(circuit_id, curve):
    """A one-constraint system standing for the test circuit (its digest binds the test prover's key)."""
    from ispc_core.zk.fields import get_field
    from ispc_core.zk.r1cs import CircuitBuilder

    cb = CircuitBuilder(get_field(curve))
    r = cb.public_input("R")
    cb.public_input("T")
    cb.constrain(r, 1, r, "R = R")
    return cb.compile()


test_r1cs.__test__ = False


class KeyedHashProver:
    """Test double of a prover: an HMAC over the public inputs with a key in the key store."""

    def __init__(self, keystore_dir):
        self.key_path = keystore_dir / "testproof.key"
        if not self.key_path.exists():
            # atomically: two proof workers starting at once race here, and a plain write_bytes lets
            # the second read the first's truncated file (an empty key, so a proof no verifier accepts)
            write_atomic(self.key_path, hashlib.sha256(str(keystore_dir).encode()).digest())
        self.key = self.key_path.read_bytes()
        self.vk_hash = hashlib.sha256(b"vk" + self.key).digest()
        self.calls = 0

    def _mac(self, inputs):
        return hmac.new(self.key, b"".join(i.to_bytes(32, "big") for i in inputs), hashlib.sha256).digest()

    def prove(self, instance, curve):
        self.calls += 1
        return ProofArtifact(
            proof=self._mac(instance.public_inputs),
            public_inputs=instance.public_inputs,
            proving_scheme="testproof",
            curve=curve,
            verification_key_hash=self.vk_hash,
            circuit_id=instance.circuit_id,
            circuit_version=instance.version,
            constraint_count=len(test_r1cs(TEST_CIRCUIT, curve).constraints),
            generation_time_ms=0,
        )

    def verify(self, artifact):
        return artifact.verification_key_hash == self.vk_hash and hmac.compare_digest(
            artifact.proof, self._mac(artifact.public_inputs)
        )

    def key_info(self, vk_hash):
        if bytes(vk_hash) != self.vk_hash:
            return None
        from ispc_core.zk.formats import write_r1cs

        return {"circuit_id": TEST_CIRCUIT, "r1cs_sha256": hashlib.sha256(write_r1cs(test_r1cs(TEST_CIRCUIT, "bn254"))).hexdigest()}


class TestProverPlugin:
    """Registers the keyed-hash prover as ``testproof`` and its circuit ``test_circuit``."""

    __test__ = False

    def __init__(self):
        self.instances = []

    @hookimpl
    def ispc_provers(self):
        def factory(services):
            prover = KeyedHashProver(services.keystore_dir)
            self.instances.append(prover)
            return prover

        return [ProverSpec(name="testproof", curves=("bn254", "bls12-381"), factory=factory)]

    @hookimpl
    def ispc_circuits(self):
        return [
            CircuitSpec(
                circuit_id="test_circuit", version="v1", applies_to=("test",), instance=_instance,
                public_inputs=test_public_inputs, compile=test_r1cs,
            )
        ]
