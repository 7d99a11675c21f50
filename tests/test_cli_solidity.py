"""``ispc zk export solidityverifier``: the project's own Groth16 and PLONK verifier contracts (bn254).

They compile with solc (solcjs from tools/node) and, deployed in an EVM (pyrevm), accept a real proof
given as ``ispc zk export calldata`` prints it and reject tampered ones. They are drop-ins for the
contracts ``snarkjs zkey export solidityverifier`` writes: same contract names, same ``verifyProof``
ABI, and the same verdict as snarkjs' contract for the same key on every case (snarkjs runs here only,
as in the other interop tests; none of its text is in ours).
"""

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
CONTRACT = {"groth16": "Groth16Verifier", "plonk": "PlonkVerifier"}
#: words of the proof before the public inputs in verifyProof's calldata
PROOF_WORDS = {"groth16": 8, "plonk": 24}
#: gas of one verifyProof transaction (intrinsic and calldata cost included), with margin: a regression guard
GAS_CEILING = {"groth16": 260_000, "plonk": 330_000}

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


def snarkjs_contract(zkey: Path, out: Path) -> str:
    res = subprocess.run([str(SNARKJS), "zkey", "export", "solidityverifier", zkey, out], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    return out.read_text("utf-8")


class Deployed:
    """Our and snarkjs' verifier contracts for both keys, compiled in one solc run, in one EVM."""

    def __init__(self, keys: Path):
        from pyrevm import EVM

        self.sources = {}
        for scheme in ("groth16", "plonk"):
            k = keys / scheme
            ok("zk", "export", "solidityverifier", k / "circuit.zkey", "-o", k / "verifier.sol")
            self.sources[("ours", scheme)] = (k / "verifier.sol").read_text("utf-8")
            self.sources[("snarkjs", scheme)] = snarkjs_contract(k / "circuit.zkey", k / "snarkjs_verifier.sol")
        request = {
            "language": "Solidity",
            "sources": {f"{who}_{s}.sol": {"content": src} for (who, s), src in self.sources.items()},
            "settings": {
                "evmVersion": "shanghai",
                "optimizer": {"enabled": True, "runs": 200},
                "outputSelection": {"*": {"*": ["evm.bytecode.object", "evm.methodIdentifiers"]}},
            },
        }
        res = subprocess.run(["node", "-e", SOLC_JS, str(SOLC)], input=json.dumps(request), capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr
        out = json.loads(res.stdout)
        errors = [e["formattedMessage"] for e in out.get("errors", []) if e["severity"] == "error"]
        assert not errors, errors
        self.warnings = [e["formattedMessage"] for e in out.get("errors", []) if e["severity"] == "warning" and e.get("sourceLocation", {}).get("file", "").startswith("ours_")]
        self.evm = EVM()
        self.contracts = {}
        for (who, scheme) in self.sources:
            compiled = out["contracts"][f"{who}_{scheme}.sol"][CONTRACT[scheme]]["evm"]
            (signature,) = [k for k in compiled["methodIdentifiers"] if k.startswith("verifyProof(")]
            selector = bytes.fromhex(compiled["methodIdentifiers"][signature])
            address = self.evm.deploy("0x" + "11" * 20, bytes.fromhex(compiled["bytecode"]["object"]), gas=30_000_000)
            self.contracts[(who, scheme)] = (address, selector, signature)

    def verify(self, who: str, scheme: str, words: list[int]) -> bool:
        address, selector, _ = self.contracts[(who, scheme)]
        data = selector + b"".join(w.to_bytes(32, "big") for w in words)
        ret = self.evm.message_call("0x" + "22" * 20, address, calldata=data, gas=10_000_000)
        assert len(ret) == 32 and int.from_bytes(ret, "big") in (0, 1), ret.hex()  # a verdict, not a revert
        return int.from_bytes(ret, "big") == 1

    def gas(self, who: str, scheme: str, words: list[int]) -> int:
        assert self.verify(who, scheme, words)
        return self.evm.result.gas_used


@pytest.fixture(scope="module")
def deployed(keys):
    return Deployed(keys)


def calldata_words(text: str) -> list[int]:
    """The numbers of ``ispc zk export calldata``'s text, in order (the ABI encoding of static arrays)."""
    doc = json.loads("[" + text.strip().replace("][", "],[") + "]")

    def flat(v):
        return [w for x in v for w in flat(x)] if isinstance(v, list) else [int(v, 16)]

    return flat(doc)


def proof_words(keys, scheme: str) -> list[int]:
    k = keys / scheme
    return calldata_words(ok("zk", "export", "calldata", k / "public.json", k / "proof.json"))


def cases(keys, scheme: str) -> dict[str, tuple[list[int], bool]]:
    """name → (verifyProof's words, whether the proof is valid): the real proof and tampered ones."""
    words = proof_words(keys, scheme)
    at = PROOF_WORDS[scheme]

    def tampered(**changes):
        w = list(words)
        for i, v in changes.items():
            w[int(i[1:])] = v
        return w

    out = {
        "real proof": (words, True),
        "changed public input": (tampered(**{f"w{at + 1}": (words[at + 1] + 1) % BN254_R}), False),
        "public input + r": (tampered(**{f"w{at}": words[at] + BN254_R}), False),  # same value mod r: not aliased
        "negated A": (tampered(w1=BN254_Q - words[1]), False),  # still on the curve, but the wrong proof
        "A off the curve": (tampered(w1=(words[1] + 1) % BN254_Q), False),
    }
    if scheme == "groth16":
        # B's coefficients in the wrong order (x1 <-> x0, y1 <-> y0)
        out["swapped B coordinates"] = (tampered(w2=words[3], w3=words[2], w4=words[5], w5=words[4]), False)
        out["C coordinate + q"] = (tampered(w6=words[6] + BN254_Q), False)
    else:
        out["changed evaluation"] = (tampered(w18=(words[18] + 1) % BN254_R), False)  # eval_a
        out["evaluation + r"] = (tampered(w23=words[23] + BN254_R), False)  # eval_zw, the same mod r
        out["point off the curve"] = (tampered(w3=(words[3] + 1) % BN254_Q), False)  # B's y
        out["swapped opening proofs"] = (tampered(w14=words[16], w15=words[17], w16=words[14], w17=words[15]), False)
    return out


def test_contracts_are_ours_and_compile_cleanly(deployed):
    for scheme in ("groth16", "plonk"):
        src = deployed.sources[("ours", scheme)]
        assert src.startswith("// SPDX-License-Identifier: Apache-2.0\n")
        assert src.count("SPDX-License-Identifier") == 1  # the one above, no other licence
        assert "snarkjs" not in src.lower() and "copyright" not in src.lower()
        assert f"contract {CONTRACT[scheme]} " in src
        # the same ABI as snarkjs' contract: a drop-in replacement
        assert deployed.contracts[("ours", scheme)][2] == deployed.contracts[("snarkjs", scheme)][2]
    assert not deployed.warnings, deployed.warnings


def test_stdout_is_the_file(keys, deployed):
    for scheme in ("groth16", "plonk"):
        assert ok("zk", "export", "solidityverifier", keys / scheme / "circuit.zkey") == deployed.sources[("ours", scheme)]


@pytest.mark.parametrize("scheme", ["groth16", "plonk"])
def test_contract_accepts_the_proof_and_rejects_tampered_ones(keys, deployed, scheme):
    verdicts = {name: deployed.verify("ours", scheme, words) for name, (words, _) in cases(keys, scheme).items()}
    assert verdicts == {name: valid for name, (_, valid) in cases(keys, scheme).items()}


@pytest.mark.parametrize("scheme", ["groth16", "plonk"])
def test_same_verdict_as_snarkjs_contract(keys, deployed, scheme):
    for name, (words, valid) in cases(keys, scheme).items():
        assert deployed.verify("snarkjs", scheme, words) == deployed.verify("ours", scheme, words) == valid, name


@pytest.mark.parametrize("scheme", ["groth16", "plonk"])
def test_gas(keys, deployed, scheme, capsys):
    words = proof_words(keys, scheme)
    ours, theirs = deployed.gas("ours", scheme, words), deployed.gas("snarkjs", scheme, words)
    with capsys.disabled():
        print(f"\n{scheme} verifyProof gas: ours {ours}, snarkjs {theirs}")
    assert ours < GAS_CEILING[scheme]


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
    with pytest.raises(FormatError, match="not a decimal number"):  # values end up in Solidity source: checked
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
