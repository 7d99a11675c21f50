"""R1CS: linear combinations, constraints ``A·B = C``, a circuit builder with witness hints.

Wire order follows circom/iden3 so files interoperate: wire 0 is the constant
one, then public outputs, public inputs, private inputs, then internal wires.
The builder allocates wires in any order and renumbers them in :meth:`CircuitBuilder.build`.

Witness generation: every wire has either a value or a *hint* — a function
``hint(get) -> int`` where ``get(x)`` evaluates an earlier wire or linear
combination. The same circuit code therefore runs without values (to derive
the constraint system for a setup) and with values (to make a witness).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence, Union

from .errors import CircuitError, ConstraintUnsatisfied, WitnessError
from .fields import BN254_FR, PrimeField, get_field

__all__ = ["LC", "R1CS", "CircuitBuilder", "Constraint"]


class LC:
    """A linear combination ``sum coeff_i * wire_i`` (wire 0 = constant one), coefficients mod r."""

    __slots__ = ("terms", "r")

    def __init__(self, terms: dict[int, int] | None = None, r: int = BN254_FR.modulus):
        self.r = r
        self.terms = {w: c % r for w, c in (terms or {}).items() if c % r}

    @classmethod
    def const(cls, v: int, r: int) -> "LC":
        """The constant ``v``."""
        return cls({0: v}, r)

    def _lift(self, other) -> "LC":
        if isinstance(other, LC):
            if other.r != self.r:
                raise CircuitError("linear combinations over different fields")
            return other
        if isinstance(other, int):
            return LC.const(other, self.r)
        raise CircuitError(f"cannot combine a linear combination with {type(other).__name__}")

    def __add__(self, other) -> "LC":
        o = self._lift(other)
        t = dict(self.terms)
        for w, c in o.terms.items():
            t[w] = t.get(w, 0) + c
        return LC(t, self.r)

    __radd__ = __add__

    def __neg__(self) -> "LC":
        return LC({w: -c for w, c in self.terms.items()}, self.r)

    def __sub__(self, other) -> "LC":
        return self + (-self._lift(other))

    def __rsub__(self, other) -> "LC":
        return self._lift(other) - self

    def __mul__(self, k) -> "LC":
        if not isinstance(k, int):
            raise CircuitError("a linear combination can only be multiplied by a constant int; use builder.mul")
        return LC({w: c * k for w, c in self.terms.items()}, self.r)

    __rmul__ = __mul__

    def is_constant(self) -> bool:
        """True if only wire 0 appears."""
        return all(w == 0 for w in self.terms)

    def evaluate(self, values: Sequence[int] | dict) -> int:
        """Value under a full assignment (``values[wire]``)."""
        return sum(c * values[w] for w, c in self.terms.items()) % self.r

    def __repr__(self) -> str:
        return "LC(" + " + ".join(f"{c}*w{w}" for w, c in sorted(self.terms.items())) + ")"


Operand = Union[LC, int]


@dataclass
class Constraint:
    """``A · B = C`` over wire indices; ``label`` names it in errors."""

    a: dict[int, int]
    b: dict[int, int]
    c: dict[int, int]
    label: str | None = None


def _eval(terms: dict[int, int], w: Sequence[int], r: int) -> int:
    return sum(c * w[i] for i, c in terms.items()) % r


@dataclass
class R1CS:
    """A compiled constraint system in circom wire order."""

    field: PrimeField
    n_wires: int
    n_pub_out: int
    n_pub_in: int
    n_prv_in: int
    constraints: list[Constraint]
    wire_names: list[str] = field(default_factory=list)
    wire2label: list[int] = field(default_factory=list)
    n_labels: int = 0

    @property
    def n_public(self) -> int:
        """Number of public wires (outputs + public inputs), excluding wire 0."""
        return self.n_pub_out + self.n_pub_in

    def public_values(self, witness: Sequence[int]) -> list[int]:
        """The public signals (``witness[1 : 1 + n_public]``), as in snarkjs ``public.json``."""
        return list(witness[1 : 1 + self.n_public])

    def check(self, witness: Sequence[int]) -> None:
        """Raise :class:`ConstraintUnsatisfied` naming the first failing constraint (or a bad witness)."""
        r = self.field.modulus
        if len(witness) != self.n_wires:
            raise ConstraintUnsatisfied(f"witness has {len(witness)} values, the circuit {self.n_wires} wires")
        if witness[0] != 1:
            raise ConstraintUnsatisfied("witness[0] (the constant-one wire) is not 1", index=-1)
        for i, v in enumerate(witness):
            if not isinstance(v, int) or not 0 <= v < r:
                raise ConstraintUnsatisfied(f"witness value {i} is not a field element")
        for i, con in enumerate(self.constraints):
            a, b, c = _eval(con.a, witness, r), _eval(con.b, witness, r), _eval(con.c, witness, r)
            if a * b % r != c:
                name = f" ({con.label})" if con.label else ""
                raise ConstraintUnsatisfied(
                    f"constraint {i}{name} fails: A={a}, B={b}, A*B != C={c}", index=i, label=con.label
                )

    def is_satisfied(self, witness: Sequence[int]) -> bool:
        """True if :meth:`check` passes."""
        try:
            self.check(witness)
        except ConstraintUnsatisfied:
            return False
        return True


_KINDS = ("one", "out", "pub", "prv", "int")


class CircuitBuilder:
    """Build an R1CS and its witness together.

    ``field`` is a :class:`PrimeField` or a curve name ("bn254", "bls12-381").
    """

    def __init__(self, field: PrimeField | str = BN254_FR):
        self.field = get_field(field) if isinstance(field, str) else field
        self.r = self.field.modulus
        self._kind: list[str] = ["one"]
        self._names: list[str] = ["one"]
        self._values: list[int | None] = [1]
        self._hints: list[Callable | None] = [None]
        self._constraints: list[Constraint] = []

    # ---- wires ---------------------------------------------------------------
    @property
    def one(self) -> LC:
        """The constant-one wire."""
        return LC({0: 1}, self.r)

    def const(self, v: int) -> LC:
        """A constant as a linear combination."""
        return LC.const(v, self.r)

    def _alloc(self, kind: str, name: str, value, hint) -> LC:
        if value is not None:
            if not isinstance(value, int):
                raise CircuitError(f"wire {name!r}: value must be an int, got {type(value).__name__}")
            value %= self.r
        if hint is not None and not callable(hint):
            raise CircuitError(f"wire {name!r}: hint must be callable")
        self._kind.append(kind)
        self._names.append(name)
        self._values.append(value)
        self._hints.append(hint)
        return LC({len(self._kind) - 1: 1}, self.r)

    def public_output(self, name: str, value: int | None = None, hint=None) -> LC:
        """Allocate a public output wire (first in the public signals)."""
        return self._alloc("out", name, value, hint)

    def public_input(self, name: str, value: int | None = None) -> LC:
        """Allocate a public input wire."""
        return self._alloc("pub", name, value, None)

    def private_input(self, name: str, value: int | None = None) -> LC:
        """Allocate a private input wire."""
        return self._alloc("prv", name, value, None)

    def witness(self, name: str, value: int | None = None, hint=None) -> LC:
        """Allocate an internal wire with a value or a hint ``hint(get) -> int``."""
        return self._alloc("int", name, value, hint)

    # ---- constraints ------------------------------------------------------------
    def _lc(self, x: Operand) -> LC:
        if isinstance(x, LC):
            return x
        if isinstance(x, int):
            return self.const(x)
        raise CircuitError(f"expected a linear combination or int, got {type(x).__name__}")

    def constrain(self, a: Operand, b: Operand, c: Operand, label: str | None = None) -> None:
        """Add the constraint ``a * b = c``."""
        a, b, c = self._lc(a), self._lc(b), self._lc(c)
        n = len(self._kind)
        for lc in (a, b, c):
            for w in lc.terms:
                if not 0 <= w < n:
                    raise CircuitError(f"constraint {label or len(self._constraints)} uses unknown wire {w}")
        self._constraints.append(Constraint(dict(a.terms), dict(b.terms), dict(c.terms), label))

    def assert_equal(self, a: Operand, b: Operand, label: str | None = None) -> None:
        """Constrain ``a == b`` (as ``(a - b) * 1 = 0``)."""
        self.constrain(self._lc(a) - self._lc(b), self.one, 0, label or "assert_equal")

    def mul(self, a: Operand, b: Operand, name: str = "mul", label: str | None = None) -> LC:
        """A new wire ``w = a * b`` with its constraint."""
        a, b = self._lc(a), self._lc(b)
        if a.is_constant() or b.is_constant():
            k = a.terms.get(0, 0) if a.is_constant() else b.terms.get(0, 0)
            return (b if a.is_constant() else a) * k
        w = self.witness(name, hint=lambda get: get(a) * get(b))
        self.constrain(a, b, w, label or name)
        return w

    # ---- witness -------------------------------------------------------------------
    def get(self, x: Operand) -> int:
        """Value of a wire / linear combination, computing hints as needed."""
        lc = self._lc(x)
        return sum(c * self._value(w) for w, c in lc.terms.items()) % self.r

    def _value(self, w: int) -> int:
        v = self._values[w]
        if v is None:
            h = self._hints[w]
            if h is None:
                raise WitnessError(f"wire {w} ({self._names[w]!r}) has no value and no hint")
            try:
                v = int(h(self.get)) % self.r
            except WitnessError:
                raise
            except Exception as e:
                raise WitnessError(f"hint of wire {w} ({self._names[w]!r}) failed: {e!r}") from e
            self._values[w] = v
        return v

    def _order(self) -> list[int]:
        return sorted(range(len(self._kind)), key=lambda w: (_KINDS.index(self._kind[w]), w))

    def compile(self) -> R1CS:
        """The constraint system with wires renumbered in circom order."""
        order = self._order()
        new = {old: i for i, old in enumerate(order)}

        def ren(t):
            return {new[w]: c for w, c in t.items()}

        cons = [Constraint(ren(c.a), ren(c.b), ren(c.c), c.label) for c in self._constraints]
        counts = {k: self._kind.count(k) for k in _KINDS}
        return R1CS(
            field=self.field,
            n_wires=len(order),
            n_pub_out=counts["out"],
            n_pub_in=counts["pub"],
            n_prv_in=counts["prv"],
            constraints=cons,
            wire_names=[self._names[w] for w in order],
            wire2label=list(range(len(order))),
            n_labels=len(order),
        )

    def witness_values(self) -> list[int]:
        """Full witness in circom wire order (computes every hint).

        Hints run in allocation order (outputs last, as their hints usually
        read internal wires), so dependency chains never recurse deeply.
        """
        for w in range(len(self._kind)):
            if self._kind[w] != "out":
                self._value(w)
        return [self._value(w) for w in self._order()]

    def build(self) -> tuple[R1CS, list[int]]:
        """``(compile(), witness_values())``."""
        return self.compile(), self.witness_values()
