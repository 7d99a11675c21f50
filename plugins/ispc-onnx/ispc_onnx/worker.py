"""The inference worker: a child process that builds onnxruntime sessions and runs them.

Started by :mod:`ispc_onnx.guard` as ``python -m ispc_onnx.worker <fd>``,
where ``<fd>`` is its end of a Unix socket pair. It serves one request at a
time (see :mod:`ispc_onnx.wire`) and keeps the sessions its parent tells it
to keep; the parent decides which (it mirrors this process's session table
exactly). Whatever a model does to this process (``SIGFPE`` from an integer
division overflow in an onnxruntime kernel, a segfault, an abort, running out
of memory) ends only this process; the engine turns the death into a typed
error and starts a new worker.

Requests (pickled dicts, key ``op``):

``run``   ``key``, ``code`` (model bytes, or None when the session is loaded),
          ``keep`` (keep the session afterwards), ``drop`` (keys to forget
          first), ``outputs`` (names), ``inputs`` (:func:`ispc_onnx.wire.pack_array` tuples),
          ``deadline`` (``time.monotonic()`` value or None).
``load``  ``key``, ``code``, ``keep``, ``drop``: build the session only. With
          ``inspect`` set, first parse and check the model (``onnx.checker``,
          shape inference) and reply with its signature metadata as JSON.

The worker leaves when its socket closes (its parent is gone).
"""

from __future__ import annotations

import json
import socket
import sys
from typing import Any

import numpy as np
import onnxruntime as ort

from ispc_core.errors import IspcError
from ispc_onnx import tensorcodec, wire
from ispc_onnx.runtime import Watchdog, create_session


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Worker:
    """The worker's state: its socket, its sessions and its deadline watchdog."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sessions: dict[bytes, ort.InferenceSession] = {}
        self.watchdog = Watchdog()

    def serve(self) -> None:
        """Answer requests until the parent closes the socket."""
        while True:
            try:
                frame = wire.recv_frame(self.sock)
            except wire.WireError:
                return
            try:
                request = wire.decode_request(frame)
                reply = self.handle(request)
            except Exception as exc:  # noqa: BLE001 - reported to the parent, never fatal here
                reply = wire.encode_reply({"ok": False, "error": "internal", "message": _first_line(exc)})
            try:
                wire.send_frame(self.sock, reply)
            except OSError:
                return

    def handle(self, request: dict[str, Any]) -> bytes:
        """One request's reply bytes."""
        for key in request.get("drop", ()):
            self.sessions.pop(key, None)
        op = request["op"]
        key = request["key"]
        description = b""
        if request.get("inspect"):
            try:
                description, operators = self._inspect(request["code"])
            except IspcError as exc:
                return wire.encode_reply({"ok": False, "error": "load", "message": str(exc)})
            request = {**request, "operators": operators}
        session = self.sessions.get(key)
        if session is None:
            if request.get("code") is None:
                return wire.encode_reply({"ok": False, "error": "internal", "message": "session not loaded"})
            try:
                session = create_session(request["code"], tuple(request.get("operators", ())))
            except IspcError as exc:
                return wire.encode_reply({"ok": False, "error": "load", "message": str(exc)})
            if request.get("keep", True):
                self.sessions[key] = session
        if op == "load":
            return wire.encode_reply({"ok": True}, description)
        try:
            return self._run(session, request)
        finally:
            if not request.get("keep", True):
                self.sessions.pop(key, None)

    @staticmethod
    def _inspect(code: bytes) -> tuple[bytes, list[str]]:
        """Parse and check a model (onnx's checker and shape inference are native code too).

        Returns the JSON of its :class:`~ispc_onnx.model.ModelSignature` metadata
        and its operators; raises :class:`~ispc_core.errors.DeployError`.
        """
        from ispc_onnx.model import parse_model, signature_of  # imports onnx: only workers that inspect pay

        signature = signature_of(parse_model(code))
        return json.dumps(signature.to_metadata()).encode("utf-8"), list(signature.operators)

    def _run(self, session: ort.InferenceSession, request: dict[str, Any]) -> bytes:
        run_options = ort.RunOptions()
        run_options.log_severity_level = 3
        deadline = request.get("deadline")
        item = self.watchdog.arm(deadline, run_options) if deadline is not None else None
        try:
            feeds = dict(wire.unpack_array(packed) for packed in request["inputs"])
            outputs = session.run(list(request["outputs"]), feeds, run_options)
        except Exception as exc:  # onnxruntime raises its own pybind exception types
            fired = self.watchdog.disarm(item) if item is not None else False
            if fired or run_options.terminate:
                return wire.encode_reply({"ok": False, "error": "deadline", "message": "terminated"})
            return wire.encode_reply({"ok": False, "error": "run", "message": _first_line(exc)})
        if item is not None:
            self.watchdog.disarm(item)
        named = [(name, np.asarray(value)) for name, value in zip(request["outputs"], outputs)]
        try:
            payload = tensorcodec.encode_tensors(named)
        except IspcError as exc:
            return wire.encode_reply({"ok": False, "error": "run", "message": f"cannot encode the outputs: {exc}"})
        return wire.encode_reply({"ok": True}, payload)


def main(argv: list[str]) -> int:
    """Entry point: ``python -m ispc_onnx.worker <socket fd>``."""
    sock = socket.socket(fileno=int(argv[1]))
    Worker(sock).serve()
    return 0


if __name__ == "__main__":  # pragma: no cover - runs in the child process
    sys.exit(main(sys.argv))
