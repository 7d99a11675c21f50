"""What a verification returns: one :class:`Check` per rule, and the verdict."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class Check:
    """One check of a verification: its name, whether it passed, and why."""

    name: str
    ok: bool
    detail: str = ""
    #: for a malformed journal or call record: the entry's index (None: the call record) and the field
    entry: int | None = None
    field: str = ""


@attrs.frozen
class VerificationReport:
    """The verdict: ``valid`` is True only if every check passed; ``reason`` names the first failure.

    ``circuit`` is the proof's circuit id (empty without a proof) and
    ``proves_computation`` whether that circuit proves the program's
    computation (``False``: binding-only, the executing node is trusted).
    """

    valid: bool
    reason: str
    checks: list[Check]
    tx_id: bytes = b""
    circuit: str = ""
    proves_computation: bool = False

    @property
    def failed(self) -> Check | None:
        """The first failed check, or None."""
        return next((c for c in self.checks if not c.ok), None)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "tx_id": self.tx_id.hex(),
            "valid": self.valid,
            "reason": self.reason,
            "circuit": self.circuit,
            "proves_computation": self.proves_computation,
            "trust": trust_note(self.circuit, self.proves_computation),
            "checks": [attrs.asdict(c) for c in self.checks],
        }


def trust_note(circuit: str, proves_computation: bool) -> str:
    """One sentence on what an accepted proof under ``circuit`` means."""
    if not circuit:
        return "no proof: accepted only on a chain that accepts unproven executions (development)"
    if proves_computation:
        return "the proof shows the program produced this journal and these return values"
    return (
        "binding-only: the proof binds the call, journal and effects, but a node holding the proving key "
        "could fabricate a whole journal; the journal check catches every inconsistency with the ledger and "
        "the effects, not a journal the program would never have produced — the executing node is trusted"
    )


class CheckFailed(Exception):
    """Raised inside a check module to stop at the first failure; becomes a failed :class:`Check`."""

    def __init__(self, name: str, detail: str, *, entry: int | None = None, field: str = ""):
        super().__init__(f"{name}: {detail}")
        self.name = name
        self.detail = detail
        self.entry = entry
        self.field = field
