"""Guarded inference: the engine's side of its worker processes.

Every onnxruntime session of the engine is built and run in a child process
(:mod:`ispc_onnx.worker`), never in the node's process. A model can end its
worker — with ``SIGFPE`` (onnxruntime's integer ``Div`` of the minimum value
by −1, also during constant folding at session build), a segfault, an abort,
or the out-of-memory killer — but not the node: the dead worker is reported
as :class:`WorkerDied` naming the signal, and the next request gets a fresh
worker.

* :class:`InferenceWorker` — one child process and its socket. It knows
  exactly which sessions the child holds (the child loads and drops only when
  told), so a request carries the model bytes only when needed.
* :class:`WorkerPool` — at most ``size`` workers; a request takes an idle one
  (preferring one that already holds the model), starts one, or waits.

A worker that does not answer by the request's deadline plus :data:`GRACE_S`
is killed (:class:`WorkerTimeout`): a single operator that ignores
onnxruntime's terminate flag cannot hold the node past its deadline.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from typing import Any

from ispc_onnx import wire

#: How long past its deadline a silent worker is given before it is killed.
GRACE_S = 0.5

#: What a signal death most likely means, for the error message.
SIGNAL_CAUSES = {
    signal.SIGFPE: "an arithmetic fault in an operator kernel (such as integer division of the minimum value by -1)",
    signal.SIGSEGV: "an invalid memory access inside onnxruntime",
    signal.SIGBUS: "an invalid memory access inside onnxruntime",
    signal.SIGILL: "an illegal instruction inside onnxruntime",
    signal.SIGABRT: "onnxruntime aborted",
    signal.SIGKILL: "it was killed (out of memory, or by another process)",
}


class WorkerDied(Exception):
    """The worker process ended (or broke the protocol) while serving a request.

    ``signal_name`` is ``"SIGFPE"`` etc. when a signal ended it, else empty.
    """

    def __init__(self, message: str, *, signal_name: str = "", returncode: int | None = None) -> None:
        super().__init__(message)
        self.signal_name = signal_name
        self.returncode = returncode


class WorkerTimeout(Exception):
    """The worker gave no reply by the deadline (plus grace) and was killed."""


def _child_env() -> dict[str, str]:
    """The worker's environment: the parent's, with the parent's import path."""
    env = dict(os.environ)
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def describe_death(returncode: int | None) -> tuple[str, str]:
    """``(signal name, sentence)`` for a worker's exit status."""
    if returncode is not None and returncode < 0:
        try:
            sig = signal.Signals(-returncode)
        except ValueError:
            return f"signal {-returncode}", f"the inference worker was ended by signal {-returncode}"
        cause = SIGNAL_CAUSES.get(sig, "a fatal fault inside onnxruntime")
        return sig.name, f"the inference worker was ended by {sig.name}: {cause}"
    return "", f"the inference worker exited unexpectedly (exit status {returncode})"


class InferenceWorker:
    """One worker process. Not thread-safe: the pool hands it to one request at a time."""

    def __init__(self) -> None:
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._stderr = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ispc_onnx.worker", str(child_sock.fileno())],
                pass_fds=(child_sock.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
                env=_child_env(),
                start_new_session=True,  # terminal signals (Ctrl-C) go to the node, not its workers
            )
        finally:
            child_sock.close()
        self.sock = parent_sock
        #: keys of the sessions the child holds
        self.loaded: set[bytes] = set()
        #: keys the child must forget with the next request
        self.pending_drops: set[bytes] = set()
        self.dead = False
        self._finalizer = weakref.finalize(self, _reap, self.proc, self.sock, self._stderr)

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self.proc.pid

    def request(self, message: dict[str, Any], deadline: float | None) -> tuple[dict[str, Any], bytes]:
        """Send one request and wait for its reply until ``deadline`` (+ grace).

        Raises :class:`WorkerDied` or :class:`WorkerTimeout`; the worker is
        unusable afterwards (``dead``).
        """
        drops = list(self.pending_drops)
        message = {**message, "drop": drops}
        try:
            wire.send_frame(self.sock, wire.encode_request(message))
        except OSError:
            raise self._death() from None
        self.pending_drops.difference_update(drops)
        wait_until = None if deadline is None else deadline + GRACE_S
        try:
            frame = wire.recv_frame(self.sock, wait_until)
        except wire.WireError as exc:
            if exc.timed_out:
                self.kill()
                raise WorkerTimeout("the inference did not stop and its worker was killed") from None
            raise self._death() from None
        try:
            return wire.parse_reply(frame)
        except wire.WireError as exc:
            self.kill()
            raise WorkerDied(f"the inference worker sent a malformed reply ({exc}) and was killed") from None

    def _death(self) -> WorkerDied:
        """Collect a dead worker's exit status and describe it."""
        self.dead = True
        try:
            returncode = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # alive but not talking: end it
            self.kill()
            returncode = self.proc.returncode
        name, sentence = describe_death(returncode)
        detail = self._stderr_tail()
        if detail and not name:
            sentence += f" ({detail})"
        self._close()
        return WorkerDied(sentence, signal_name=name, returncode=returncode)

    def _stderr_tail(self) -> str:
        try:
            self._stderr.seek(0)
            lines = [ln.strip() for ln in self._stderr.read()[-4096:].decode("utf-8", "replace").splitlines() if ln.strip()]
        except (OSError, ValueError):
            return ""
        return lines[-1] if lines else ""

    def kill(self) -> None:
        """End the worker now (SIGKILL) and release its resources."""
        self.dead = True
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
            pass
        self._close()

    def _close(self) -> None:
        self._finalizer()


def _reap(proc: subprocess.Popen, sock: socket.socket, stderr: Any) -> None:
    """Close the socket (the worker leaves on EOF), then make sure the process is gone."""
    try:
        sock.close()
    except OSError:
        pass
    try:
        proc.wait(timeout=1)
    except subprocess.TimeoutExpired:
        proc.kill()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass
    try:
        stderr.close()
    except OSError:
        pass


class WorkerPool:
    """At most ``size`` inference workers, started on demand."""

    def __init__(self, size: int = 2) -> None:
        self.size = max(1, int(size))
        self._idle: list[InferenceWorker] = []
        self._all: list[InferenceWorker] = []
        self._starting = 0
        self._cond = threading.Condition()
        self._closed = False
        self._pid = os.getpid()
        #: workers started so far (a crash costs one)
        self.started = 0

    def _forget_if_forked(self) -> None:
        """In a forked child, the parent's workers are not ours to talk to: start afresh."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._idle, self._all, self._starting = [], [], 0

    def acquire(self, key: bytes | None, deadline: float | None) -> InferenceWorker:
        """An idle worker (preferring one that holds ``key``), a new one, or the next one freed.

        Raises :class:`WorkerTimeout` if none is free by ``deadline``.
        """
        with self._cond:
            self._forget_if_forked()
            while True:
                if self._closed:
                    raise WorkerDied("the engine is closed")
                if self._idle:
                    for i, worker in enumerate(self._idle):
                        if key in worker.loaded:
                            return self._idle.pop(i)
                    return self._idle.pop()
                if len(self._all) + self._starting < self.size:
                    self._starting += 1
                    break
                timeout = None if deadline is None else deadline - time.monotonic()
                if timeout is not None and timeout <= 0:
                    raise WorkerTimeout(f"no inference worker (of {self.size}) became free before the deadline")
                self._cond.wait(timeout)
        try:
            worker = InferenceWorker()
        except BaseException:
            with self._cond:
                self._starting -= 1
                self._cond.notify()
            raise
        with self._cond:
            self._starting -= 1
            self._all.append(worker)
            self.started += 1
        return worker

    def release(self, worker: InferenceWorker) -> None:
        """Give a worker back (a dead one is forgotten; its slot frees)."""
        with self._cond:
            if worker.dead or self._closed:
                if worker in self._all:
                    self._all.remove(worker)
                if not worker.dead:
                    worker.kill()
            else:
                self._idle.append(worker)
            self._cond.notify()

    def drop(self, key: bytes) -> None:
        """Make every worker forget the session of ``key`` (with its next request)."""
        with self._cond:
            for worker in self._all:
                if key in worker.loaded:
                    worker.loaded.discard(key)
                    worker.pending_drops.add(key)

    def pids(self) -> list[int]:
        """Process ids of the live workers."""
        with self._cond:
            return [w.pid for w in self._all if not w.dead]

    def close(self) -> None:
        """End every worker."""
        with self._cond:
            self._closed = True
            workers, self._all, self._idle = self._all, [], []
            self._cond.notify_all()
        for worker in workers:
            worker.kill()
