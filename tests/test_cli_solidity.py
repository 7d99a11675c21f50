"""``ispc zk export solidityverifier``: the contract is byte-identical to snarkjs 0.7.6's for the same
key, compiles with solc (solcjs from tools/node), and in an EVM (pyrevm) accepts a real proof given
as ``ispc zk export calldata`` prints it and rejects tampered ones — Groth16 and PLONK on bn254."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from ispc_core.cli import main
from ispc_core.zk.formats import write_r1cs, write_wtns
from ispc_core.zk.r1cs import CircuitBuilder

NODE_TOOLS = Path(__file__).resolve().parents[1] / "tools" / "node"
SNARKJS = NODE_TOOLS / "node_modules" / ".bin" / "snarkjs"
SOLC = NODE_TOOLS / "node_modules" / "solc"
BN254_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617
BN254_Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583

#: solc standard JSON in on stdin, out on stdout (solcjs is the Emscripten build: no native binary)
SOLC_JS = "const solc = require(process.argv[1]); let s = ''; process.stdin.on('data', d => s += d); process.stdin.on('end', () => process.stdout.write(solc.compile(s)));"


@pytest.fixture(autouse=True, scope="module")
def _node_tools_installed():
    """snarkjs and solc are installed by `make test` (npm ci --prefix tools/node); their absence is a failure."""
    if not SNARKJS.exists() or not SOLC.exists() or shutil.which("node") is None:
        pytest.fail("snarkjs / solc are not installed: run `make test` (it runs npm ci --prefix tools/node)")


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def ok(*args) -> str:
    res = cli(*args)
    assert res.exit_code == 0, (res.output, res.exception)
    return res.stdout


def circuit(curve: str):
    """x public, t = x^5 + … (a chain), out = t public: two public signals."""
    cb = CircuitBuilder(curve)
    x = cb.public_input("x", 3)
    t = x
    for i in range(3):
        t = cb.mul(t, x) + i
    out = cb.public_input("out", cb.get(t))
    cb.assert_equal(t, out, "out")
    return cb.build()


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """Groth16 and PLONK keys and proofs for one bn254 circuit, made with the ispc CLI."""
    d = tmp_path_factory.mktemp("solidity")
    r1cs, wit = circuit("bn254")
    (d / "c.r1cs").write_bytes(write_r1cs(r1cs))
    (d / "c.wtns").write_bytes(write_wtns(r1cs.field, wit))
    home = d / "home"
    ok("--home", home, "zk", "setup", d / "c.r1cs", "-o", d / "groth16")
    ok("--home", home, "srs", "new", "--insecure", "--power", "5", "--curve", "bn254", "-o", d / "s.ptau")
    ok("--home", home, "zk", "setup", "--scheme", "plonk", d / "c.r1cs", "-o", d / "plonk", "--ptau", d / "s.ptau")
    for scheme in ("groth16", "plonk"):
        k = d / scheme
        ok("--home", home, "zk", "prove", "--scheme", scheme, k, d / "c.wtns", "-o", k / "proof.json", "--public", k / "public.json")
    return d


@pytest.fixture(scope="module")
def contracts(keys):
    """scheme → (Solidity source as exported, deployed address, EVM, verifyProof selector)."""
    from pyrevm import EVM

    sources = {}
    for scheme in ("groth16", "plonk"):
        ok("zk", "export", "solidityverifier", keys / scheme / "circuit.zkey", "-o", keys / scheme / "verifier.sol")
        sources[scheme] = (keys / scheme / "verifier.sol").read_text("utf-8")
    request = {
        "language": "Solidity",
        "sources": {f"{s}.sol": {"content": src} for s, src in sources.items()},
        "settings": {"evmVersion": "shanghai", "outputSelection": {"*": {"*": ["evm.bytecode.object", "evm.methodIdentifiers"]}}},
    }
    res = subprocess.run(["node", "-e", SOLC_JS, str(SOLC)], input=json.dumps(request), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    errors = [e["formattedMessage"] for e in out.get("errors", []) if e["severity"] == "error"]
    assert not errors, errors
    evm = EVM()
    deployer = "0x" + "11" * 20
    deployed = {}
    for scheme, name in (("groth16", "Groth16Verifier"), ("plonk", "PlonkVerifier")):
        compiled = out["contracts"][f"{scheme}.sol"][name]["evm"]
        (selector,) = [v for k, v in compiled["methodIdentifiers"].items() if k.startswith("verifyProof(")]
        address = evm.deploy(deployer, bytes.fromhex(compiled["bytecode"]["object"]), gas=30_000_000)
        deployed[scheme] = (sources[scheme], address, evm, bytes.fromhex(selector))
    return deployed


def calldata_words(text: str) -> list[int]:
    """The numbers of ``ispc zk export calldata``'s text, in order (the ABI encoding of static arrays)."""
    doc = json.loads("[" + text.strip().replace("][", "],[") + "]")

    def flat(v):
        return [w for x in v for w in flat(x)] if isinstance(v, list) else [int(v, 16)]

    return flat(doc)


def evm_verify(contracts, scheme: str, words: list[int]) -> bool:
    _, address, evm, selector = contracts[scheme]
    data = selector + b"".join(w.to_bytes(32, "big") for w in words)
    ret = evm.message_call("0x" + "22" * 20, address, calldata=data, gas=10_000_000)
    assert len(ret) == 32 and int.from_bytes(ret, "big") in (0, 1), ret.hex()
    return int.from_bytes(ret, "big") == 1


def proof_words(keys, scheme: str) -> list[int]:
    k = keys / scheme
    return calldata_words(ok("zk", "export", "calldata", k / "public.json", k / "proof.json"))


@pytest.mark.parametrize("scheme", ["groth16", "plonk"])
def test_contract_is_byte_identical_to_snarkjs(keys, contracts, scheme, tmp_path):
    res = subprocess.run(
        [str(SNARKJS), "zkey", "export", "solidityverifier", keys / scheme / "circuit.zkey", tmp_path / "theirs.sol"],
        capture_output=True, text=True, timeout=300,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    theirs = (tmp_path / "theirs.sol").read_bytes()
    assert (keys / scheme / "verifier.sol").read_bytes() == theirs
    assert ok("zk", "export", "solidityverifier", keys / scheme / "circuit.zkey").encode("utf-8") == theirs  # stdout


@pytest.mark.parametrize("scheme", ["groth16", "plonk"])
def test_contract_accepts_the_proof_in_an_evm(keys, contracts, scheme):
    assert evm_verify(contracts, scheme, proof_words(keys, scheme))


@pytest.mark.parametrize("scheme", ["groth16", "plonk"])
def test_contract_rejects_tampered_proofs(keys, contracts, scheme):
    words = proof_words(keys, scheme)
    n_proof = 8 if scheme == "groth16" else 24
    public_at = n_proof
    wrong_public = list(words)
    wrong_public[public_at + 1] = (wrong_public[public_at + 1] + 1) % BN254_R  # another `out`
    assert not evm_verify(contracts, scheme, wrong_public)
    out_of_field = list(words)
    out_of_field[public_at] += BN254_R  # the same value mod r: not aliased (field check / transcript)
    assert not evm_verify(contracts, scheme, out_of_field)
    negated = list(words)
    negated[1] = BN254_Q - negated[1]  # A → −A: still on the curve, but the wrong proof
    assert not evm_verify(contracts, scheme, negated)
    if scheme == "plonk":
        evals = list(words)
        evals[18] = (evals[18] + 1) % BN254_R  # eval_a
        assert not evm_verify(contracts, scheme, evals)
        off_curve = list(words)
        off_curve[3] = (off_curve[3] + 1) % BN254_Q  # B's y
        assert not evm_verify(contracts, scheme, off_curve)
    else:
        swapped = list(words)
        swapped[2:6] = [swapped[3], swapped[2], swapped[5], swapped[4]]  # B's coefficients in the wrong order
        assert not evm_verify(contracts, scheme, swapped)


def test_bls12_381_keys_are_refused_naming_the_curve(tmp_path):
    r1cs, _ = circuit("bls12-381")
    (tmp_path / "c.r1cs").write_bytes(write_r1cs(r1cs))
    ok("--home", tmp_path / "home", "zk", "setup", tmp_path / "c.r1cs", "-o", tmp_path / "keys")
    res = cli("zk", "export", "solidityverifier", tmp_path / "keys" / "circuit.zkey", "-o", tmp_path / "v.sol")
    assert res.exit_code == 1 and res.stderr.count("\n") == 1, res.output
    assert res.stderr.startswith("error: ") and "bls12-381" in res.stderr and "bn254" in res.stderr
    assert not (tmp_path / "v.sol").exists()


def test_plonk_bls12_381_and_keys_without_public_inputs_are_refused():
    from ispc_core.errors import RequestError
    from ispc_core.zk.errors import FormatError
    from ispc_groth16.solidity import solidity_verifier as groth16_solidity
    from ispc_plonk.solidity import solidity_verifier as plonk_solidity

    with pytest.raises(RequestError, match="bls12-381"):
        plonk_solidity({"protocol": "plonk", "curve": "bls12381", "nPublic": 1})
    with pytest.raises(FormatError, match="no public inputs"):
        plonk_solidity({"protocol": "plonk", "curve": "bn128", "nPublic": 0, "power": 3})
    with pytest.raises(FormatError, match="no public inputs"):
        groth16_solidity({"protocol": "groth16", "curve": "bn128", "nPublic": 0, "IC": [["1", "2", "1"]]})
    with pytest.raises(FormatError, match="not a decimal number"):  # values are pasted into Solidity: checked
        groth16_solidity({"protocol": "groth16", "curve": "bn128", "nPublic": 1, "IC": [["1", "2"], ["1; }", "2"]],
                          "vk_alpha_1": ["1", "2"], "vk_beta_2": [["1", "2"], ["1", "2"]],
                          "vk_gamma_2": [["1", "2"], ["1", "2"]], "vk_delta_2": [["1", "2"], ["1", "2"]]})


def test_malformed_and_missing_keys(tmp_path, keys):
    res = cli("zk", "export", "solidityverifier", tmp_path / "missing.zkey")
    assert res.exit_code == 2 and res.stderr.startswith("error: malformed input: ")
    (tmp_path / "junk.zkey").write_bytes(b"zkey junk")
    res = cli("zk", "export", "solidityverifier", tmp_path / "junk.zkey", "-o", tmp_path / "v.sol")
    assert res.exit_code == 2 and res.stderr.count("\n") == 1 and not (tmp_path / "v.sol").exists()
    raw = bytearray((keys / "groth16" / "circuit.zkey").read_bytes())
    raw[len(raw) // 2] ^= 0x40
    (tmp_path / "bad.zkey").write_bytes(bytes(raw))
    assert cli("zk", "export", "solidityverifier", tmp_path / "bad.zkey").exit_code == 2
