"""`ispc demo` runs the main job end to end and names what it lacks."""

from __future__ import annotations

from click.testing import CliRunner

from ispc_core.cli import main


def test_demo_runs_end_to_end(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the demo home goes under the working directory
    result = CliRunner().invoke(main, ["--proof-mode", "off", "demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "alice calls token.transfer(250)" in out
    assert "event transfer" in out
    assert "increment(7) -> 12  state version 2" in out
    assert "output y [1, 8]" in out
    assert "balances now: alice 999750, bob 250" in out
    assert (tmp_path / ".ispc-demo" / "ledger.sqlite").exists()
    # node B on the same chain admits A's transactions (a deploy and its calls per program), mines the same balances
    node_b = out[out.index("== node B"):]
    assert "accepts unproven executions (development chain)" in out
    models = out.count("-- deployed ONNX model ")
    assert models >= 2  # mlp.onnx and cnn.onnx at least
    assert node_b.count(" accepted ") == 2 + 3 + 2 * models and "REFUSED" not in node_b
    assert node_b.count("deploy    accepted  [deployer's signature]") == 2 + models
    assert "transfer  accepted  [no proof (development chain)]" in node_b
    assert "balances on B: alice 999750, bob 250  (the same as on A)" in node_b
    assert (tmp_path / ".ispc-demo-b" / "ledger.sqlite").exists()
    # the forged transfer is refused, naming the check, and changes nothing
    assert "node B refuses it (signatures): the caller signature is by a key that is not the caller's" in node_b
    assert "node B unchanged: mempool 0, height 1, attacker balance 0" in node_b


def test_demo_proves_the_onnx_computation(tmp_path, monkeypatch):
    """With proofs on (Groth16, the default) and the wasm engine off, to keep it short: every ONNX call is
    proven with onnx_inference.v1, node B accepts it as a proven computation and refuses a forged inference."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ISPC_DISABLE_PLUGINS", "wasm")
    result = CliRunner().invoke(main, ["demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    models = out.count("-- deployed ONNX model ")
    assert models >= 2
    assert out.count("proof groth16/bn254 circuit onnx_inference.v1/") == models
    assert out.count("onnxruntime's float outputs differ by at most") == models
    node_b = out[out.index("== node B"):]
    assert node_b.count("run       accepted  [computation proven: onnx_inference.v1]") == models
    assert "REFUSED" not in node_b
    assert "node B refuses it (proof): public input 18 is not the value recomputed from the transaction" in node_b


def test_demo_names_missing_plugins(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ISPC_DISABLE_PLUGINS", "wasm")
    result = CliRunner().invoke(main, ["demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "no engine 'wasm' is installed" in result.output and "ispc-wasm is installed but disabled" in result.output
    assert "skipped: WebAssembly token contract" in result.output
    assert "output y [1, 8]" in result.output  # what it can still run, it runs


def test_demo_keeps_the_key_store_and_refuses_a_foreign_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    keys = tmp_path / ".ispc-demo" / "zkkeys"
    keys.mkdir(parents=True)
    (keys / "srs.ptau").write_bytes(b"kept")
    (tmp_path / ".ispc-demo" / "ledger.sqlite").write_bytes(b"old ledger")
    result = CliRunner().invoke(main, ["--proof-mode", "off", "demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (keys / "srs.ptau").read_bytes() == b"kept"
    assert (tmp_path / ".ispc-demo" / "ledger.sqlite").read_bytes() != b"old ledger"

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    result = CliRunner().invoke(main, ["--home", str(foreign), "demo"])
    assert result.exit_code != 0 and "was not made by ispc demo" in result.output
    assert (foreign / "notes.txt").read_text() == "mine"
