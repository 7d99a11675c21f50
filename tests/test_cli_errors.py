"""Every bad input to the ``ispc`` command line is one ``error: ...`` line (exit 1, or 2 for usage), never a traceback.

The classes are handled in one place (:mod:`ispc_core.cli.errors`): text that is
not UTF-8, input nested too deeply, output paths that cannot be written,
numbers out of range, typed errors of the ZK layer, click's usage errors, and
guest-controlled text that would otherwise print more than one line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ispc_core.cli import main
from ispc_core.cli.errors import one_line
from ispc_testdoubles import program
from test_cli import PROGRAM, TESTS_DIR, make_engine_distribution

DEEP = "[" * 100_000 + "]" * 100_000

FORGED = "x\nerror: forged line"

EXTRA = {
    "boom" + FORGED: [["trap"]],
    "topic": [["event.emit", "t\nerror: forged topic", "hex:00"]],
}


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A CLI environment: the test engine installed, proofs off, a fresh node home, a deployed program."""
    for var in ("ISPC_STRICT_PLUGINS", "ISPC_LOAD_PLUGINS", "ISPC_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.syspath_prepend(str(make_engine_distribution(tmp_path / "site")))
    monkeypatch.setenv("ISPC_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ISPC_PROOF_MODE", "off")
    monkeypatch.setenv("ISPC_CHAIN_ACCEPT_UNPROVEN", "true")  # a development chain: unproven executions are admitted
    prog = tmp_path / "contract.testprog"
    prog.write_bytes(program({**PROGRAM, **EXTRA}))
    return tmp_path


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def ok(*args) -> str:
    res = run(*args)
    assert res.exit_code == 0, (res.output, res.exception)
    return res.stdout


_PENDING_AFTER_DEPLOY: list = []


def deploy(env) -> str:
    """Init the home and deploy the test program; remembers the mempool as it is then (a deploy may be a transaction)."""
    ok("init")
    rid = ok("deploy", env / "contract.testprog").strip()
    _PENDING_AFTER_DEPLOY[:] = json.loads(ok("mempool", "list", "--json"))
    return rid


def one_error(res, *fragments, code: int = 1) -> str:
    """``res`` failed with exit ``code`` and one ``error: `` line, the last on stderr (progress lines may precede it)."""
    assert res.exit_code == code, (res.exit_code, res.output, res.exception)
    assert isinstance(res.exception, SystemExit), res.exception  # not an uncaught exception
    lines = res.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error")]
    assert len(errors) == 1 and lines[-1] == errors[0] and errors[0].startswith("error: "), res.stderr
    for fragment in fragments:
        assert fragment in lines[-1], (fragment, lines[-1])
    assert "Traceback" not in res.output
    return lines[-1]


def nothing_pending():
    """The failed command added nothing to the mempool."""
    assert json.loads(ok("mempool", "list", "--json")) == _PENDING_AFTER_DEPLOY


# --- text that is not UTF-8 (argv bytes decode to lone surrogates) ---------------------------------


def test_non_utf8_function_name(env):
    rid = deploy(env)
    one_error(run("call", rid, "\udcff\udcfe"), "not valid UTF-8", "\\xff\\xfe")
    nothing_pending()


def test_non_utf8_str_argument(env):
    rid = deploy(env)
    one_error(run("call", rid, "hello", "str:\udcff"), "not valid UTF-8")
    nothing_pending()


@pytest.mark.parametrize("command", ["show", "wait"])
def test_non_utf8_proof_job_id(env, command):
    deploy(env)
    one_error(run("proofs", command, "\udcffab"))


def test_non_utf8_input_file(env):
    rid = deploy(env)
    bad = env / "bad.json"
    bad.write_bytes(b'{"x": "\xff"}')
    one_error(run("call", rid, "--input", bad), "bad.json", "not UTF-8")
    nothing_pending()


def test_non_utf8_argv_through_the_console_script(tmp_path):
    """The real ``ispc`` process, given raw non-UTF-8 bytes in argv."""
    site = make_engine_distribution(tmp_path / "site")
    (tmp_path / "c.testprog").write_bytes(program(PROGRAM))
    ispc = Path(sys.executable).with_name("ispc")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ISPC_")}
    path = [str(site), str(TESTS_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
    environ.update(PYTHONPATH=os.pathsep.join(path), ISPC_HOME=str(tmp_path / "home"), ISPC_PROOF_MODE="off", ISPC_CHAIN_ACCEPT_UNPROVEN="true")
    subprocess.run([str(ispc), "init"], capture_output=True, env=environ, timeout=120, check=True)
    rid = subprocess.run([str(ispc), "deploy", str(tmp_path / "c.testprog")], capture_output=True, env=environ, timeout=120)
    assert rid.returncode == 0, rid.stderr
    proc = subprocess.run(
        [os.fsencode(ispc), b"call", rid.stdout.strip(), b"\xff\xfe"], capture_output=True, env=environ, timeout=120
    )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.decode("utf-8", "replace").splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: not valid UTF-8"), proc.stderr


# --- nested too deeply ------------------------------------------------------------------------------


def test_deeply_nested_input_file(env):
    rid = deploy(env)
    deep = env / "deep.json"
    deep.write_text(DEEP)
    one_error(run("call", rid, "--input", deep), "deep.json", "nested more than 256 levels")
    nothing_pending()


@pytest.mark.parametrize("which", [0, 1, 2])
def test_deeply_nested_zk_verify_file(tmp_path, which):
    paths = []
    for i in range(3):
        p = tmp_path / f"f{i}.json"
        p.write_text(DEEP if i == which else '{"protocol": "groth16"}')
        paths.append(p)
    one_error(run("zk", "verify", *paths), "malformed input", "nested more than 256 levels", code=2)


def test_deep_json_after_py_ecc_raised_the_recursion_limit(tmp_path):
    """py_ecc sets the recursion limit to 100000 on import; deep JSON must still be one line, not a segfault."""
    deep = tmp_path / "deep.json"
    deep.write_text(DEEP)
    script = (
        "import sys, py_ecc; from ispc_core.cli import main; "
        f"main(['zk', 'verify', {str(deep)!r}, {str(deep)!r}, {str(deep)!r}])"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert proc.stderr.splitlines() == [proc.stderr.strip()] and "nested more than" in proc.stderr


# --- output paths that cannot be written ------------------------------------------------------------


@pytest.fixture
def a_file(tmp_path) -> Path:
    """A regular file: nothing can be created "inside" it."""
    p = tmp_path / "plainfile"
    p.write_text("x")
    return p


def test_tx_export_unwritable_output(env, a_file):
    rid = deploy(env)
    tx_id = json.loads(ok("call", rid, "hello", "--json"))["tx_id"]
    one_error(run("tx", "export", tx_id, "-o", a_file / "tx.bin"), str(a_file / "tx.bin"))
    one_error(run("tx", "export", tx_id, "-o", env), "is a directory", code=2)  # refused by the option type


def test_zk_setup_unwritable_output(tmp_path, a_file):
    from ispc_core.zk.formats import write_r1cs
    from ispc_core.zk.r1cs import CircuitBuilder

    cb = CircuitBuilder("bn254")
    x = cb.public_input("x", 3)
    cb.assert_equal(cb.mul(x, x), cb.public_input("y", 9), "square")
    r1cs, _ = cb.build()
    (tmp_path / "c.r1cs").write_bytes(write_r1cs(r1cs))
    one_error(run("--home", tmp_path / "home", "zk", "setup", tmp_path / "c.r1cs", "-o", a_file / "keys"), "plainfile")
    assert not (a_file.parent / "keys").exists()


def test_srs_new_unwritable_output(tmp_path, a_file):
    line = one_error(run("--home", tmp_path / "home", "srs", "new", "--insecure", "--power", "2", "-o", a_file / "s.ptau"))
    assert "plainfile" in line


# --- numbers out of range, unknown names, usage errors ----------------------------------------------


@pytest.mark.parametrize("nonce", ["-1", str(1 << 64), "99999999999999999999999999"])
def test_nonce_out_of_range(env, nonce):
    rid = deploy(env)
    one_error(run("call", rid, "hello", "--nonce", nonce), "--nonce", code=2)
    nothing_pending()


def test_largest_nonce_is_accepted(env):
    rid = deploy(env)
    ok("call", rid, "hello", "--nonce", str((1 << 64) - 1))


def test_unknown_curve_in_sync_mode(env):
    rid = deploy(env)
    one_error(run("--proof-mode", "sync", "--curve", "nosuchcurve", "call", rid, "hello"), "unknown curve 'nosuchcurve'")
    nothing_pending()


def test_usage_errors_are_one_line(env):
    rid = deploy(env)
    one_error(run("call", rid, "hello", "--bogus"), "No such option", "--bogus", code=2)
    one_error(run("call", "--bogus", rid), "--bogus", code=2)
    one_error(run("--proof-mode", "sometimes", "mine"), "--proof-mode", code=2)
    one_error(run("tx", "show"), "TX_ID", code=2)


# --- guest-controlled text cannot forge lines ---------------------------------------------------------


def test_guest_message_with_a_newline_is_escaped(env):
    rid = deploy(env)
    line = one_error(run("call", rid, "boom" + FORGED), "trap in boom")
    assert "\\nerror: forged line" in line


def test_event_topic_with_a_newline_is_escaped(env):
    rid = deploy(env)
    out = ok("call", rid, "topic")
    assert "event t\\nerror: forged topic 00" in out
    assert not any(line.startswith("error:") for line in out.splitlines())
    assert json.loads(ok("call", rid, "topic", "--json"))["events"][0]["topic"] == "t\nerror: forged topic"


@pytest.mark.parametrize(
    "text, shown",
    [("a\nb", "a\\nb"), ("a\r\nb", "a\\r\\nb"), ("\x1b[31m", "\\x1b[31m"), ("a\u2028b", "a\\u2028b"), ("\udcff", "\\udcff"), ("plain é", "plain é")],
)
def test_one_line(text, shown):
    assert one_line(text) == shown


# --- srs prints error:, like every command ------------------------------------------------------------


def test_srs_errors_are_error_lines(tmp_path):
    home = tmp_path / "home"
    one_error(run("--home", home, "srs", "new", "--power", "2"), "--insecure", code=2)
    one_error(run("--home", home, "srs", "info"), "no SRS at")
    one_error(run("--home", home, "srs", "info", tmp_path / "missing.ptau"), "no SRS at")
    ok("--home", home, "srs", "new", "--insecure", "--power", "2", "-o", tmp_path / "s.ptau")
    one_error(run("--home", home, "srs", "new", "--insecure", "--power", "2", "-o", tmp_path / "s.ptau"), "exists", "--force")
    (tmp_path / "junk.ptau").write_bytes(b"junk")
    one_error(run("--home", home, "srs", "import", tmp_path / "junk.ptau", "-o", tmp_path / "t.ptau"))
    assert not (tmp_path / "t.ptau").exists()


def test_srs_new_prints_a_line_per_stage_without_a_tty(tmp_path):
    res = run("--home", tmp_path / "home", "srs", "new", "--insecure", "--power", "2", "-o", tmp_path / "s.ptau")
    assert res.exit_code == 0, res.output
    stages = [line for line in res.stderr.splitlines() if line.startswith("srs new: ")]
    assert len(stages) == 2 and "generating 2^2" in stages[0] and "writing" in stages[1]


# --- item 9: async without an executor, negative arguments ---------------------------------------------


def test_async_with_an_executor_nobody_provides_is_refused(env):
    rid = deploy(env)
    res = run("--proof-mode", "async", "--set", "proof.executor=nobody", "call", rid, "hello")
    one_error(res, "proof.executor = 'nobody'", "no proof job was queued")
    assert ok("proofs", "list", "--json").strip() == "[]"
    nothing_pending()


def test_negative_call_arguments_are_arguments(env):
    rid = deploy(env)
    bob = json.loads(ok("balance", "bob", "--json"))["address"]
    # a negative amount reaches the program (and is refused there), it is not parsed as an option
    res = run("call", rid, "pay", "0x" + bob, "-7", "--caller", "alice")
    one_error(res, "amount must be positive, got -7")
    data = json.loads(ok("call", rid, "hello", "-7", "-12", "--json"))
    assert data["return_data"] == "abcd"
