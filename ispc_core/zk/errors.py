"""Typed errors of the ZK layer.

Every error names what was wrong (which point, which coordinate, which
constraint, which section of a file) so a caller can report it without
reading a traceback.
"""

from __future__ import annotations


class ZKError(Exception):
    """Base class of every error raised by ``ispc_core.zk``."""


class FieldError(ZKError, ValueError):
    """A field operation got an invalid argument (e.g. inverse of zero, bad NTT size)."""


class InvalidPoint(ZKError, ValueError):
    """A point from outside failed a check.

    ``check`` names what failed: ``"encoding"``, ``"range"``, ``"on-curve"``
    or ``"subgroup"``; ``group`` is ``"G1"`` or ``"G2"``; ``curve`` the curve name.
    """

    def __init__(self, message: str, *, curve: str = "", group: str = "", check: str = ""):
        super().__init__(message)
        self.curve = curve
        self.group = group
        self.check = check


class UnknownCurve(ZKError, KeyError):
    """A curve name is not one of the known curves; the message lists them."""

    def __init__(self, name: str, known):
        self.name = name
        self.known = sorted(known)
        super().__init__(f"unknown curve {name!r}; known curves: {', '.join(self.known)}")

    def __str__(self) -> str:  # KeyError would repr() the message otherwise
        return self.args[0]


class BackendUnavailable(ZKError, RuntimeError):
    """No backend of the requested kind is registered for a curve."""


class ConstraintUnsatisfied(ZKError, AssertionError):
    """A witness does not satisfy a constraint system.

    ``index`` is the index of the first failing constraint and ``label`` its
    label (if the builder gave it one).
    """

    def __init__(self, message: str, *, index: int = -1, label: str | None = None):
        super().__init__(message)
        self.index = index
        self.label = label


class WitnessError(ZKError, ValueError):
    """Witness generation failed: a wire has no value and no way to compute it, or a hint raised."""


class CircuitError(ZKError, ValueError):
    """A circuit was built wrongly (unknown wire, value out of field, bad gadget argument)."""


class FormatError(ZKError, ValueError):
    """A file or JSON document is malformed: the message names the section/field that is wrong."""
