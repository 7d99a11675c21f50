"""2-D spatial operators: Conv, MaxPool, AveragePool, GlobalAveragePool, and BatchNormalization folded.

* **Conv** (constant kernel and bias; strides, pads, dilations, groups,
  ``auto_pad``): every output is a linear combination of its window with
  the quantized kernel — **no constraint**; output scale ``e + s``, rescaled
  when the next operator needs it. With committed weights the kernel and bias
  are private wires: one product per tap.
* **MaxPool**: the window's maximum by ``k − 1`` pairwise maxima
  ``m = b + [a − b >= 0]·(a − b)``, each a signed range check of ``a − b``
  and one product: ``b + 2`` constraints per pair (``b`` the width of
  ``|a| + |b|``). Padded positions are left out (ONNX pads MaxPool with −∞).
* **AveragePool**, **GlobalAveragePool**: the window's sum times the
  quantized ``1/count`` (``count`` excludes pads unless
  ``count_include_pad``): no constraint, scale ``e + s``.
* **BatchNormalization** (inference, constant statistics):
  ``x·a + c`` per channel with ``a = γ/√(var + ε)``, ``c = β − mean·a``: no constraint.
"""

from __future__ import annotations

import itertools

import numpy as np

from ispc_core.zk.fixedpoint import signed_range

from .errors import ModelError, UnsupportedOperator

__all__ = ["lower_spatial", "conv_integer", "SPATIAL"]

SPATIAL = ("Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization")


def _geometry(name, in_hw, kernel, at):
    """Output size and the begin pads of each spatial axis."""
    nd = len(in_hw)
    strides = list(at.get("strides", [1] * nd))
    dil = list(at.get("dilations", [1] * nd))
    auto = at.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    pads = list(at.get("pads", [0] * (2 * nd)))
    out, begin = [], []
    for i in range(nd):
        span = dil[i] * (kernel[i] - 1) + 1
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            o = -(-in_hw[i] // strides[i])
            total = max((o - 1) * strides[i] + span - in_hw[i], 0)
            b = total // 2 if auto == "SAME_UPPER" else total - total // 2
            out.append(o)
            begin.append(b)
            continue
        if auto == "VALID":
            pb = pe = 0
        elif auto == "NOTSET":
            pb, pe = pads[i], pads[i + nd]
        else:
            raise ModelError(f"node {name!r}: auto_pad {auto!r}", node=name)
        num = in_hw[i] + pb + pe - span
        if num < 0:
            raise ModelError(f"node {name!r}: the kernel is larger than the padded input", node=name)
        o = num // strides[i] + 1
        out.append(o)
        begin.append(pb)
    return out, begin, strides, dil


def _window(pos, kernel, begin, strides, dil, in_hw):
    """Input coordinates of one output's window, and how many taps fall in the padding."""
    taps = []
    padded = 0
    for off in itertools.product(*[range(k) for k in kernel]):
        c = tuple(pos[i] * strides[i] - begin[i] + off[i] * dil[i] for i in range(len(kernel)))
        if all(0 <= c[i] < in_hw[i] for i in range(len(kernel))):
            taps.append((off, c))
        else:
            padded += 1
    return taps, padded


def lower_spatial(L, node, name: str, args: list, at: dict, Value, obj, quant) -> list:
    op = node.op_type
    x = args[0]
    if not isinstance(x, Value):
        raise UnsupportedOperator(name, op, "a constant input (it should have been folded)")
    if op == "BatchNormalization":
        if any(not isinstance(a, np.ndarray) for a in args[1:5]):
            raise UnsupportedOperator(name, op, "statistics computed at run time")
        if at.get("training_mode", 0):
            raise UnsupportedOperator(name, op, "training mode")
        gamma, beta, mean, var = (np.asarray(a, dtype=np.float64) for a in args[1:5])
        a = gamma / np.sqrt(var + float(at.get("epsilon", 1e-5)))
        c = beta - mean * a
        shape = (-1,) + (1,) * (len(x.shape) - 2)
        return [L.add(L.mul_const(x, a.reshape(shape), name), c.reshape(shape), name)]
    if len(x.shape) != 4:
        raise UnsupportedOperator(name, op, f"an input of rank {len(x.shape)} (only 2-D images, N×C×H×W)")
    N, C, H, W = x.shape
    if op == "GlobalAveragePool":
        at = {"kernel_shape": [H, W]}
        op = "AveragePool"
    if op == "Conv":
        return [_conv(L, name, x, args, at, Value, obj, quant)]
    if at.get("ceil_mode", 0):
        raise UnsupportedOperator(name, op, "ceil_mode 1")
    kernel = list(at["kernel_shape"])
    if op == "MaxPool":
        if len(node.output) > 1 and node.output[1]:
            raise UnsupportedOperator(name, op, "the Indices output")
        return [_maxpool(L, name, x, kernel, at, Value, obj)]
    return [_avgpool(L, name, x, kernel, at, Value, obj, quant)]


def conv_integer(L, name: str, x, w: np.ndarray, bias: np.ndarray | None, at: dict):
    """An integer convolution (ConvInteger, QLinearConv): integer ``x`` at scale 0, an integer kernel
    and an integer bias taken as they are — exact, no constraint, output at scale 0."""
    from .values import Value, obj, quant

    return _conv(L, name, x, [x, w, bias], at, Value, obj, quant, wscale=0)


def _conv(L, name, x, args, at, Value, obj, quant, wscale=None):
    w = args[1]
    if not isinstance(w, np.ndarray):
        raise UnsupportedOperator(name, "Conv", "a kernel computed at run time")
    bias = args[2] if len(args) > 2 else None
    if bias is not None and not isinstance(bias, np.ndarray):
        raise UnsupportedOperator(name, "Conv", "a bias computed at run time")
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 4:
        raise UnsupportedOperator(name, "Conv", f"a kernel of rank {w.ndim} (only 2-D convolutions)")
    x = L.ensure(x, name)
    N, C, H, W = x.shape
    M, Cg, kH, kW = w.shape
    group = int(at.get("group", 1))
    if C != Cg * group or M % group:
        raise ModelError(f"node {name!r}: {C} channels, kernel {list(w.shape)} and group {group} do not match", node=name)
    (oH, oW), begin, strides, dil = _geometry(name, (H, W), (kH, kW), at)
    s = L.s if wscale is None else wscale
    wq = quant(w, s)
    dw = np.abs(w - wq.astype(float) / 2.0**s)
    rmax = x.realmax()
    shape = (N, M, oH, oW)
    lc, bound, hard, err = obj(shape), obj(shape), obj(shape), np.zeros(shape)
    bq = quant(np.zeros(M) if bias is None else np.asarray(bias, dtype=np.float64), x.scale + s)
    db = np.zeros(M) if bias is None else np.abs(np.asarray(bias, dtype=np.float64) - bq.astype(float) / 2.0 ** (x.scale + s))
    per_group = M // group
    commit = getattr(L, "commit_weights", False)
    if commit:  # committed weights: the kernel and bias are private wires, one product per tap, sized
        wl = L.weights(wq, name)  # as if every weight had the largest magnitude (the circuit depends on it only)
        bl = L.weights(bq, name + ".bias") if bias is not None else None
        wq_sized = np.full(wq.shape, max(abs(int(v)) for v in wq.reshape(-1)), dtype=object)
        bq_sized = np.full(bq.shape, max((abs(int(v)) for v in bq.reshape(-1)), default=0), dtype=object)
    else:
        wq_sized, bq_sized = wq, bq
    for n_, m in itertools.product(range(N), range(M)):
        g = m // per_group
        chans = range(g * Cg, (g + 1) * Cg)
        for oh, ow in itertools.product(range(oH), range(oW)):
            taps, _ = _window((oh, ow), (kH, kW), begin, strides, dil, (H, W))
            xs, cs = [], []
            bd = hd = 0
            e = 0.0
            for ci, c in enumerate(chans):
                for (kh, kw), (ih, iw) in taps:
                    k = int(wq[m, ci, kh, kw])
                    if not k and not dw[m, ci, kh, kw] and not commit:
                        continue
                    src = (n_, c, ih, iw)
                    xs.append(x.lc[src] if not commit else L.cb.mul(x.lc[src], wl[m, ci, kh, kw], f"{name}[{n_}, {m}, {oh}, {ow}].tap", f"{name}: x*w"))
                    cs.append(k if not commit else 1)
                    bd += abs(int(wq_sized[m, ci, kh, kw])) * int(x.bound[src])
                    hd += abs(int(wq_sized[m, ci, kh, kw])) * int(x.hard[src])
                    e += abs(k) / 2.0**s * x.err[src] + dw[m, ci, kh, kw] * rmax[src]
            o = (n_, m, oh, ow)
            b = int(bq[m])
            lc[o] = L.lincomb(xs, cs, b) if not commit else L.lincomb(xs, cs) + (bl[m] if bl is not None else 0)
            bb = abs(int(bq_sized[m]))
            bound[o], hard[o], err[o] = bd + bb, hd + bb, e + db[m]
    return Value(lc, bound, hard, err, x.scale + s)


def _maxpool(L, name, x, kernel, at, Value, obj):
    x = L.ensure(x, name)
    N, C, H, W = x.shape
    if at.get("storage_order", 0):
        raise UnsupportedOperator(name, "MaxPool", "storage_order 1")
    (oH, oW), begin, strides, dil = _geometry(name, (H, W), kernel, at)
    shape = (N, C, oH, oW)
    lc, bound, hard, err = obj(shape), obj(shape), obj(shape), np.zeros(shape)
    cb = L.cb
    for n_, c, oh, ow in itertools.product(range(N), range(C), range(oH), range(oW)):
        taps, _ = _window((oh, ow), kernel, begin, strides, dil, (H, W))
        if not taps:
            raise ModelError(f"node {name!r}: output [{oh}, {ow}] has a window entirely in the padding", node=name)
        src = [(n_, c) + t[1] for t in taps]
        m, mb, mh = x.lc[src[0]], int(x.bound[src[0]]), int(x.hard[src[0]])
        for j, p in enumerate(src[1:], 1):
            a, ab, ah = x.lc[p], int(x.bound[p]), int(x.hard[p])
            d = a - m
            bits = L._bits(ab + mb, name)
            tag = f"{name}[{n_}, {c}, {oh}, {ow}].max{j}"
            ge = signed_range(cb, d, bits, tag)
            m = m + cb.mul(ge, d, tag + ".sel", f"{tag}: [a>=m]*(a-m)")
            mb, mh = max(mb, ab), max(mh, ah)
        o = (n_, c, oh, ow)
        lc[o], bound[o], hard[o] = m, mb, mh
        err[o] = max(x.err[p] for p in src)
    return Value(lc, bound, hard, err, x.scale)


def _avgpool(L, name, x, kernel, at, Value, obj, quant):
    x = L.ensure(x, name)
    N, C, H, W = x.shape
    (oH, oW), begin, strides, dil = _geometry(name, (H, W), kernel, at)
    include = bool(at.get("count_include_pad", 0))
    s = L.s
    rmax = x.realmax()
    shape = (N, C, oH, oW)
    lc, bound, hard, err = obj(shape), obj(shape), obj(shape), np.zeros(shape)
    for n_, c, oh, ow in itertools.product(range(N), range(C), range(oH), range(oW)):
        taps, padded = _window((oh, ow), kernel, begin, strides, dil, (H, W))
        count = len(taps) + (padded if include else 0)
        if not count:
            raise ModelError(f"node {name!r}: output [{oh}, {ow}] averages nothing", node=name)
        k = int(round(2.0**s / count))
        dk = abs(1.0 / count - k / 2.0**s)
        src = [(n_, c) + t[1] for t in taps]
        o = (n_, c, oh, ow)
        lc[o] = L.lincomb([x.lc[p] for p in src], [k] * len(src))
        bound[o] = k * sum(int(x.bound[p]) for p in src)
        hard[o] = k * sum(int(x.hard[p]) for p in src)
        err[o] = sum(k / 2.0**s * x.err[p] + dk * rmax[p] for p in src)
    return Value(lc, bound, hard, err, x.scale + s)
