"""R1CS → PLONK gates, exactly as snarkjs 0.7.6 ``plonk_setup.js`` does it.

Every public signal ``s`` (1..nPublic) first gets a gate ``q_L = 1`` on wire
``a = s``; these rows carry the public inputs (``PI(X) = -sum pub_j L_j(X)``).
Then each R1CS constraint ``A · B = C`` becomes one gate, after linear
combinations are *reduced* to the 1 (multiplication) or 3 (sum) wires a gate
has room for: surplus terms are folded two at a time, front first, into new
wires by **addition gates** ``-c1 w1 - c2 w2 + w_new = 0`` (recorded as
"plonkAdditions" ``(w1, w2, c1, c2)``: the prover computes
``w_new = c1 w1 + c2 w2``). Terms are taken in increasing wire order (the
iteration order of a JavaScript object with integer keys). Cases:

* ``A`` or ``B`` is empty → the sum gate of ``C`` (``C = 0``);
* ``A`` is a constant ``k`` → the sum gate of ``k B - C``; likewise ``B``;
* otherwise the multiplication gate
  ``q_M = a b, q_L = a k_B, q_R = k_A b, q_O = -c, q_C = k_A k_B - k_C``.

snarkjs compares coefficients with ``0n`` while they are field buffers, so
that test never fires: a term with a zero coefficient (e.g. from ``k B - C``
cancelling) still occupies a wire, and an LC is "constant" only if it has no
signal term at all. This is reproduced, so keys match snarkjs bit for bit.

The domain is ``2^max(3, ceil(log2(#gates)))``; unused rows are zero gates on
wire 0. Wire 0 (the constant one in R1CS) is never used with a non-zero
coefficient here, and the prover gives it the value 0 as snarkjs does.

The permutation: walking rows ``i`` and, in each, columns a, b, c (position
``p = i``, ``n + i``, ``2n + i``), every position of a signal points to the
identity value of the previous position of that signal, the first to the last
(identity values ``w^i``, ``k1 w^i``, ``k2 w^i`` with ``k1 = 2``, ``k2 = 3``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ispc_core.zk.errors import CircuitError
from ispc_core.zk.fields import PrimeField
from ispc_core.zk.r1cs import R1CS

__all__ = ["PlonkCircuit", "from_r1cs", "k1_k2"]


@dataclass
class PlonkCircuit:
    """A PLONK constraint system: gate rows, selector values, wiring and the additions.

    ``sl, sr, so`` are the signal ids of wires a, b, c per gate (numpy int64);
    ``q`` holds the selector columns ``qm, ql, qr, qo, qc`` (lists of ints,
    one per gate). ``n_vars`` counts R1CS wires plus addition wires;
    ``gate_source[i]`` is the R1CS constraint index that produced gate ``i``
    (-1 for public-input gates).
    """

    field: PrimeField
    n_vars: int
    n_r1cs_vars: int
    n_public: int
    sl: np.ndarray
    sr: np.ndarray
    so: np.ndarray
    q: dict[str, list[int]]
    additions: list[tuple[int, int, int, int]]
    gate_source: list[int] = field(default_factory=list)
    constraint_labels: list[str | None] = field(default_factory=list)

    @property
    def n_gates(self) -> int:
        """Number of gate rows (before padding)."""
        return len(self.sl)

    @property
    def power(self) -> int:
        """log2 of the domain size (at least 3, as snarkjs)."""
        n = self.n_gates
        p = max(0, (n - 1).bit_length()) if n > 1 else 0
        return max(p, 3)

    @property
    def domain_size(self) -> int:
        """The evaluation domain size ``n = 2^power``."""
        return 1 << self.power

    def k1_k2(self) -> tuple[int, int]:
        """The coset constants of the permutation (2 and 3, checked)."""
        return k1_k2(self.field, self.power)

    def selector_evals(self, name: str) -> np.ndarray:
        """Selector ``name`` on the domain (zero-padded), as a field array."""
        vals = self.q[name] + [0] * (self.domain_size - self.n_gates)
        return self.field.to_array(vals)

    def sigma_evals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``S_sigma1..3`` on the domain (field arrays), built as snarkjs' ``writeSigma``."""
        f = self.field
        n = self.domain_size
        k1, k2 = self.k1_k2()
        sig = np.zeros(3 * n, dtype=np.int64)
        sig[: self.n_gates] = self.sl
        sig[n : n + self.n_gates] = self.sr
        sig[2 * n : 2 * n + self.n_gates] = self.so
        # visiting order: row-major over (row, column)
        pos = np.arange(3 * n, dtype=np.int64).reshape(3, n).T.reshape(-1)
        sigs = sig[pos]
        order = np.argsort(sigs, kind="stable")
        ps = pos[order]  # positions grouped by signal, in visiting order
        ss = sigs[order]
        prev = np.empty_like(ps)
        prev[1:] = ps[:-1]
        starts = np.ones(len(ss), dtype=bool)
        starts[1:] = ss[1:] != ss[:-1]
        # the first occurrence of a signal takes the last occurrence
        ends = np.empty(len(ss), dtype=bool)
        ends[:-1] = starts[1:]
        ends[-1] = True
        prev[starts] = ps[ends]
        perm = np.empty(3 * n, dtype=np.int64)
        perm[ps] = prev
        from ispc_core.zk.ntt import powers

        w = powers(f, f.root_of_unity(n), n)
        ident = np.concatenate([w, w * f.to_array([k1]), w * f.to_array([k2])])
        out = ident[perm]
        return out[:n], out[n : 2 * n], out[2 * n :]

    def extend_witness(self, witness) -> list[int]:
        """The values of all ``n_vars`` signals: the R1CS witness (wire 0 set to 0) and the addition wires."""
        r = self.field.modulus
        if len(witness) != self.n_r1cs_vars:
            raise CircuitError(f"witness has {len(witness)} values, the circuit {self.n_r1cs_vars} wires")
        vals = [int(v) % r for v in witness]
        vals[0] = 0
        for s1, s2, c1, c2 in self.additions:
            vals.append((c1 * vals[s1] + c2 * vals[s2]) % r)
        return vals


def k1_k2(f: PrimeField, power: int) -> tuple[int, int]:
    """snarkjs' ``getK1K2``: k1 = 2, k2 = 3, checked to give distinct cosets of the 2^power domain."""
    r = f.modulus
    n = 1 << power
    k1, k2 = 2, 3
    # k not in H  <=>  k^n != 1;  k2/k1 not in H likewise
    if pow(k1, n, r) == 1 or pow(k2, n, r) == 1 or pow(k2 * pow(k1, -1, r) % r, n, r) == 1:
        raise CircuitError(f"k1={k1}, k2={k2} do not give distinct cosets of a 2^{power} domain")
    return k1, k2


def from_r1cs(r1cs: R1CS) -> PlonkCircuit:
    """Convert an R1CS to PLONK gates exactly as snarkjs' ``plonk_setup`` (see the module docstring)."""
    f = r1cs.field
    r = f.modulus
    n_public = r1cs.n_pub_out + r1cs.n_pub_in
    sl: list[int] = []
    sr: list[int] = []
    so: list[int] = []
    qm: list[int] = []
    ql: list[int] = []
    qr: list[int] = []
    qo: list[int] = []
    qc: list[int] = []
    src: list[int] = []
    additions: list[tuple[int, int, int, int]] = []
    n_vars = r1cs.n_wires
    cur = -1

    def push(a, b, c, m, l, rr, o, k):
        sl.append(a)
        sr.append(b)
        so.append(c)
        qm.append(m % r)
        ql.append(l % r)
        qr.append(rr % r)
        qo.append(o % r)
        qc.append(k % r)
        src.append(cur)

    def reduce_coefs(lc: dict[int, int], max_c: int):
        nonlocal n_vars
        k = 0
        cs: list[list[int]] = []
        for s in sorted(lc):
            v = lc[s] % r
            if s == 0:
                k = (k + v) % r
            else:  # snarkjs keeps zero coefficients here (its `!= 0n` test never fires on field buffers)
                cs.append([s, v])
        while len(cs) > max_c:
            c1 = cs.pop(0)
            c2 = cs.pop(0)
            so_ = n_vars
            n_vars += 1
            push(c1[0], c2[0], so_, 0, -c1[1], -c2[1], 1, 0)
            additions.append((c1[0], c2[0], c1[1], c2[1]))
            cs.append([so_, 1])
        s_ = [c[0] for c in cs] + [0] * (max_c - len(cs))
        coefs = [c[1] for c in cs] + [0] * (max_c - len(cs))
        return k, s_, coefs

    def add_sum(lc):
        k, s_, c = reduce_coefs(lc, 3)
        push(s_[0], s_[1], s_[2], 0, c[0], c[1], c[2], k)

    def add_mul(la, lb, lc):
        ka, sa, ca = reduce_coefs(la, 1)
        kb, sb, cb = reduce_coefs(lb, 1)
        kc, sc, cc = reduce_coefs(lc, 1)
        push(sa[0], sb[0], sc[0], ca[0] * cb[0], ca[0] * kb, ka * cb[0], -cc[0], ka * kb - kc)

    def lc_type(lc: dict[int, int]) -> str:
        # as snarkjs with field-buffer coefficients: any signal term makes it "n" (even a zero
        # coefficient), else a constant term makes it "k", else it is "0"
        if any(s != 0 for s in lc):
            return "n"
        return "k" if 0 in lc else "0"

    def join(lc1: dict[int, int], k: int, lc2: dict[int, int]) -> dict[int, int]:
        res: dict[int, int] = {}
        for s, v in lc1.items():
            res[s] = (res.get(s, 0) + k * v) % r
        for s, v in lc2.items():
            res[s] = (res.get(s, 0) - v) % r
        return res  # zero results are kept, as snarkjs' normalize() never removes field buffers

    for s in range(1, n_public + 1):
        push(s, 0, 0, 0, 1, 0, 0, 0)
    for ci, con in enumerate(r1cs.constraints):
        cur = ci
        la = {s: v % r for s, v in con.a.items()}
        lb = {s: v % r for s, v in con.b.items()}
        lc = {s: v % r for s, v in con.c.items()}
        ta, tb = lc_type(la), lc_type(lb)
        if ta == "0" or tb == "0":
            add_sum(lc)
        elif ta == "k":
            add_sum(join(lb, la[0], lc))
        elif tb == "k":
            add_sum(join(la, lb[0], lc))
        else:
            add_mul(la, lb, lc)
    return PlonkCircuit(
        field=f,
        n_vars=n_vars,
        n_r1cs_vars=r1cs.n_wires,
        n_public=n_public,
        sl=np.array(sl, dtype=np.int64),
        sr=np.array(sr, dtype=np.int64),
        so=np.array(so, dtype=np.int64),
        q={"qm": qm, "ql": ql, "qr": qr, "qo": qo, "qc": qc},
        additions=additions,
        gate_source=src,
        constraint_labels=[c.label for c in r1cs.constraints],
    )
