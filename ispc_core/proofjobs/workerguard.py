"""Proof workers die with the node: no orphaned pool processes holding the databases open.

A process-pool worker blocked on its call queue (or busy in a proof) does not
notice when the node process is killed with SIGKILL: it holds its copy of the
queue's pipe ends, never sees EOF, and lives on. :func:`install` makes a worker
follow its parent:

* on Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (through ctypes): the kernel
  kills the worker the moment the thread that forked it ends;
* everywhere, a daemon watchdog thread that polls every ``interval`` seconds
  and exits the worker (``os._exit``) once its parent pid changes (it was
  re-parented to init or a subreaper) or the node process is gone.

:func:`guard_pool` installs it as the initializer of a
:class:`concurrent.futures.ProcessPoolExecutor` that has not started its
workers yet (any initializer the pool already had still runs, after it).
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import ctypes.util
import functools
import logging
import os
import signal
import sys
import threading
import time

log = logging.getLogger("ispc.proofjobs")

PR_SET_PDEATHSIG = 1
#: exit status of a worker whose parent died (seen by nobody, but distinct in a post-mortem)
EXIT_ORPHANED = 70

__all__ = ["install", "guard_pool", "set_pdeathsig", "EXIT_ORPHANED"]

_installed = False
_lock = threading.Lock()


def set_pdeathsig(sig: int = signal.SIGKILL) -> bool:
    """Ask the Linux kernel to send ``sig`` to this process when its parent ends; False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            log.debug("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
            return False
    except (OSError, AttributeError) as exc:  # no libc / no prctl (musl builds without it, sandboxes)
        log.debug("prctl unavailable: %s", exc)
        return False
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else (pid reused): treat as gone
        return False
    except OSError:
        return True
    return True


def _watch(parent_pid: int, node_pid: int, interval: float) -> None:
    while True:
        time.sleep(interval)
        if os.getppid() != parent_pid or (node_pid != parent_pid and not _alive(node_pid)):
            os._exit(EXIT_ORPHANED)


def install(node_pid: int | None = None, *, interval: float = 0.5, pdeathsig: bool = True) -> None:
    """Make this (worker) process exit when its parent or the node process ``node_pid`` ends.

    Idempotent. ``pdeathsig=False`` leaves only the portable watchdog (tests use it).
    """
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    parent = os.getppid()
    node = parent if node_pid is None else int(node_pid)
    if pdeathsig:
        set_pdeathsig(signal.SIGKILL)
    # the parent may have died before prctl took effect: then we are already re-parented
    if os.getppid() != parent or parent == 1 or (node != parent and not _alive(node)):
        os._exit(EXIT_ORPHANED)
    threading.Thread(target=_watch, args=(parent, node, interval), name="ispc-parent-watchdog", daemon=True).start()


def _initializer(node_pid: int, interval: float, inner, inner_args) -> None:
    install(node_pid, interval=interval)
    if inner is not None:
        inner(*inner_args)


def guard_pool(pool, *, node_pid: int | None = None, interval: float = 0.5) -> bool:
    """Make the workers of a not-yet-started ``ProcessPoolExecutor`` die with this process.

    Returns False (and changes nothing) for other executors or a pool whose
    workers already run, or whose internals this Python does not have.
    """
    if not isinstance(pool, concurrent.futures.ProcessPoolExecutor):
        return False
    if getattr(pool, "_processes", None) or not hasattr(pool, "_initializer") or not hasattr(pool, "_initargs"):
        log.warning("proof worker pool cannot be guarded: its workers would outlive a killed node")
        return False
    inner, inner_args = pool._initializer, tuple(pool._initargs or ())
    if getattr(inner, "func", None) is _initializer:
        return True
    pool._initializer = functools.partial(_initializer, os.getpid() if node_pid is None else node_pid, interval, inner, inner_args)
    pool._initargs = ()
    return True
