/*
 * Native Poseidon permutation and sponge for ispc_core.zk.poseidon.
 *
 * C99 + gcc's unsigned __int128, no external libraries. Python ints come in
 * and go out as 4 x 64-bit limbs; the arithmetic runs on 5 x 52-bit limbs in
 * Montgomery form (R = 2^260), generic over any odd modulus p < 2^255
 * (bn254 r: 254 bits, bls12-381 r: 255 bits). Why 52-bit limbs: see
 * "arithmetic" below.
 *
 * The constants are those of the optimized schedule computed in Python
 * (ispc_core/zk/_native/_opt.py): first/last full-round constants, M, P, u,
 * the partial-round scalars k and the sparse matrices S. make_context()
 * converts them to Montgomery form once and returns a capsule; permute() and
 * sponge() take that capsule plus Python ints.
 *
 * Python semantics kept: every input int is reduced mod p (negative values
 * and values >= p as Python's `x % p`); non-int inputs raise TypeError, a
 * wrong state length raises ValueError.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t u64;
typedef int64_t i64;
typedef unsigned __int128 u128;

#define MAX_T 17
#define CAPSULE_NAME "ispc_core.zk._native._poseidon.context"
#define M52 0xFFFFFFFFFFFFFULL

/* A field element: 5 limbs of 52 bits (radix 2^52, little-endian), Montgomery form with R = 2^260. */
typedef struct {
    u64 v[5];
} fe;

typedef struct {
    u64 p[5];   /* modulus, radix 2^52 */
    u64 p64[4]; /* modulus, radix 2^64 */
    u64 n0;     /* -p^-1 mod 2^52 */
    fe r2;      /* R^2 mod p (to Montgomery form) */
    int t, h, rp;
    fe *first, *last, *M, *P, *u, *k, *S; /* all inside `buf` */
    fe *buf;
    PyObject *modulus; /* the Python int, for the slow reduction path */
} ctx_t;

/* ------------------------------------------------------------ arithmetic
 *
 * Why 52-bit limbs in 64-bit words: a product of two limbs is < 2^104, so a
 * whole column of a product (or of a dot product of up to 17 products) adds
 * up in one unsigned __int128 without carry handling -- gcc compiles
 * `acc += (u128)a * b` to mul/add/adc. With 64-bit limbs every step needs a
 * carry chain, which gcc compiles to about 2.5x the instructions.
 *
 * The modulus must be odd and below 2^255 (bn254 and bls12-381 r are). Then
 * 32 p < R, so a Montgomery product (or a dot product of <= 17 terms) of
 * values < p is < 2p before its one conditional subtraction. Values are kept
 * canonical (< p, limbs < 2^52) between operations.
 */

/* r = t - p if t >= p else t, for t < 2p with limbs t0..t3 < 2^52 */
static inline void final_sub(fe *r, u64 t0, u64 t1, u64 t2, u64 t3, u64 t4, const u64 *p)
{
    i64 s;
    u64 d0, d1, d2, d3, d4;
    s = (i64)t0 - (i64)p[0]; d0 = (u64)s & M52;
    s = (i64)t1 - (i64)p[1] + (s >> 52); d1 = (u64)s & M52;
    s = (i64)t2 - (i64)p[2] + (s >> 52); d2 = (u64)s & M52;
    s = (i64)t3 - (i64)p[3] + (s >> 52); d3 = (u64)s & M52;
    s = (i64)t4 - (i64)p[4] + (s >> 52); d4 = (u64)s;
    u64 keep = (u64)(s >> 63); /* all ones: t < p */
    r->v[0] = (t0 & keep) | (d0 & ~keep);
    r->v[1] = (t1 & keep) | (d1 & ~keep);
    r->v[2] = (t2 & keep) | (d2 & ~keep);
    r->v[3] = (t3 & keep) | (d3 & ~keep);
    r->v[4] = (t4 & keep) | (d4 & ~keep);
}

#define MUL(x, y) acc += (u128)(x) * (y)
/* m_k: the multiple of p that clears the low 52 bits of the column */
#define REDUCE_LOW(m)                                                                                                  \
    do {                                                                                                               \
        m = ((u64)acc * n0) & M52;                                                                                     \
        acc += (u128)m * p[0];                                                                                         \
        acc >>= 52;                                                                                                    \
    } while (0)
#define TAKE(r)                                                                                                        \
    do {                                                                                                               \
        r = (u64)acc & M52;                                                                                            \
        acc >>= 52;                                                                                                    \
    } while (0)

/* r = a * b / R mod p: Montgomery multiplication by columns (product
 * scanning), the reduction interleaved. a, b < p; r may alias a or b. */
static inline void fe_mul(fe *r, const fe *a, const fe *b, const ctx_t *c)
{
    const u64 *p = c->p;
    const u64 n0 = c->n0;
    const u64 a0 = a->v[0], a1 = a->v[1], a2 = a->v[2], a3 = a->v[3], a4 = a->v[4];
    const u64 b0 = b->v[0], b1 = b->v[1], b2 = b->v[2], b3 = b->v[3], b4 = b->v[4];
    u64 m0, m1, m2, m3, m4, r0, r1, r2, r3;
    u128 acc = 0;
    MUL(a0, b0);
    REDUCE_LOW(m0);
    MUL(a0, b1); MUL(a1, b0); MUL(m0, p[1]);
    REDUCE_LOW(m1);
    MUL(a0, b2); MUL(a1, b1); MUL(a2, b0); MUL(m0, p[2]); MUL(m1, p[1]);
    REDUCE_LOW(m2);
    MUL(a0, b3); MUL(a1, b2); MUL(a2, b1); MUL(a3, b0); MUL(m0, p[3]); MUL(m1, p[2]); MUL(m2, p[1]);
    REDUCE_LOW(m3);
    MUL(a0, b4); MUL(a1, b3); MUL(a2, b2); MUL(a3, b1); MUL(a4, b0);
    MUL(m0, p[4]); MUL(m1, p[3]); MUL(m2, p[2]); MUL(m3, p[1]);
    REDUCE_LOW(m4);
    MUL(a1, b4); MUL(a2, b3); MUL(a3, b2); MUL(a4, b1); MUL(m1, p[4]); MUL(m2, p[3]); MUL(m3, p[2]); MUL(m4, p[1]);
    TAKE(r0);
    MUL(a2, b4); MUL(a3, b3); MUL(a4, b2); MUL(m2, p[4]); MUL(m3, p[3]); MUL(m4, p[2]);
    TAKE(r1);
    MUL(a3, b4); MUL(a4, b3); MUL(m3, p[4]); MUL(m4, p[3]);
    TAKE(r2);
    MUL(a4, b4); MUL(m4, p[4]);
    TAKE(r3);
    final_sub(r, r0, r1, r2, r3, (u64)acc, p);
}

/* out = sum_j a[j] * x[j] / R mod p for n <= MAX_T terms: the same column
 * scheme with every column summed over all terms, one reduction in total. */
static inline void dot(fe *out, const fe *a, const fe *x, int n, const ctx_t *c)
{
    const u64 *p = c->p;
    const u64 n0 = c->n0;
    u64 m0, m1, m2, m3, m4, r0, r1, r2, r3;
    u128 acc = 0;
    int j;
#define COL(i, k) for (j = 0; j < n; j++) MUL(a[j].v[i], x[j].v[k])
    COL(0, 0);
    REDUCE_LOW(m0);
    COL(0, 1); COL(1, 0); MUL(m0, p[1]);
    REDUCE_LOW(m1);
    COL(0, 2); COL(1, 1); COL(2, 0); MUL(m0, p[2]); MUL(m1, p[1]);
    REDUCE_LOW(m2);
    COL(0, 3); COL(1, 2); COL(2, 1); COL(3, 0); MUL(m0, p[3]); MUL(m1, p[2]); MUL(m2, p[1]);
    REDUCE_LOW(m3);
    COL(0, 4); COL(1, 3); COL(2, 2); COL(3, 1); COL(4, 0);
    MUL(m0, p[4]); MUL(m1, p[3]); MUL(m2, p[2]); MUL(m3, p[1]);
    REDUCE_LOW(m4);
    COL(1, 4); COL(2, 3); COL(3, 2); COL(4, 1); MUL(m1, p[4]); MUL(m2, p[3]); MUL(m3, p[2]); MUL(m4, p[1]);
    TAKE(r0);
    COL(2, 4); COL(3, 3); COL(4, 2); MUL(m2, p[4]); MUL(m3, p[3]); MUL(m4, p[2]);
    TAKE(r1);
    COL(3, 4); COL(4, 3); MUL(m3, p[4]); MUL(m4, p[3]);
    TAKE(r2);
    COL(4, 4); MUL(m4, p[4]);
    TAKE(r3);
#undef COL
    final_sub(out, r0, r1, r2, r3, (u64)acc, p);
}

/* r = a + b mod p. a, b < p (2p < 2^256). */
static inline void fe_add(fe *r, const fe *a, const fe *b, const ctx_t *c)
{
    u64 s0, s1, s2, s3, s4;
    s0 = a->v[0] + b->v[0];
    s1 = a->v[1] + b->v[1] + (s0 >> 52);
    s2 = a->v[2] + b->v[2] + (s1 >> 52);
    s3 = a->v[3] + b->v[3] + (s2 >> 52);
    s4 = a->v[4] + b->v[4] + (s3 >> 52);
    final_sub(r, s0 & M52, s1 & M52, s2 & M52, s3 & M52, s4, c->p);
}

static inline void fe_pow5(fe *x, const ctx_t *c)
{
    fe x2, x4;
    fe_mul(&x2, x, x, c);
    fe_mul(&x4, &x2, &x2, c);
    fe_mul(x, &x4, x, c);
}

/* 1 if a >= p (a given as 64-bit limbs) */
static int geq_p(const u64 a[4], const u64 p[4])
{
    for (int i = 3; i >= 0; i--) {
        if (a[i] != p[i])
            return a[i] > p[i];
    }
    return 1;
}

static void limbs64_to_fe(const u64 l[4], fe *f)
{
    f->v[0] = l[0] & M52;
    f->v[1] = ((l[0] >> 52) | (l[1] << 12)) & M52;
    f->v[2] = ((l[1] >> 40) | (l[2] << 24)) & M52;
    f->v[3] = ((l[2] >> 28) | (l[3] << 36)) & M52;
    f->v[4] = l[3] >> 16;
}

static void fe_to_limbs64(const fe *f, u64 l[4])
{
    l[0] = f->v[0] | (f->v[1] << 52);
    l[1] = (f->v[1] >> 12) | (f->v[2] << 40);
    l[2] = (f->v[2] >> 24) | (f->v[3] << 28);
    l[3] = (f->v[3] >> 36) | (f->v[4] << 16);
}

/* ------------------------------------------------------------ permutation */

static void full_round(fe *x, const fe *rc, const fe *A, const ctx_t *c)
{
    const int t = c->t;
    fe y[MAX_T];
    for (int i = 0; i < t; i++) {
        fe_add(&x[i], &x[i], &rc[i], c);
        fe_pow5(&x[i], c);
    }
    for (int i = 0; i < t; i++)
        dot(&y[i], &A[i * t], x, t, c);
    memcpy(x, y, sizeof(fe) * (size_t)t);
}

static void permute_mont(fe *x, const ctx_t *c)
{
    const int t = c->t, h = c->h, w = 2 * t - 1;
    for (int r = 0; r < h; r++)
        full_round(x, &c->first[r * t], r == h - 1 ? c->P : c->M, c);
    for (int i = 0; i < t; i++)
        fe_add(&x[i], &x[i], &c->u[i], c);
    for (int r = 0; r < c->rp; r++) {
        const fe *s = &c->S[r * w];
        fe y0, tmp;
        fe_pow5(&x[0], c);
        fe_add(&x[0], &x[0], &c->k[r], c);
        dot(&y0, s, x, t, c); /* s00 x0 + row . x[1:] */
        for (int i = 1; i < t; i++) {
            fe_mul(&tmp, &s[t - 1 + i], &x[0], c);
            fe_add(&x[i], &x[i], &tmp, c);
        }
        x[0] = y0;
    }
    for (int r = 0; r < h; r++)
        full_round(x, &c->last[r * t], c->M, c);
}

/* ------------------------------------------------------------ int <-> fe */

/* Non-negative int below 2^256 -> 32 little-endian bytes. 0 on success,
 * 1 if it does not fit (negative or too large; no exception left set),
 * -1 on another error. */
static int int_to_bytes(PyObject *o, unsigned char buf[32])
{
#if PY_VERSION_HEX >= 0x030D0000
    Py_ssize_t n = PyLong_AsNativeBytes(o, buf, 32,
                                        Py_ASNATIVEBYTES_LITTLE_ENDIAN | Py_ASNATIVEBYTES_UNSIGNED_BUFFER |
                                            Py_ASNATIVEBYTES_REJECT_NEGATIVE);
    if (n < 0) {
        if (PyErr_ExceptionMatches(PyExc_ValueError)) {
            PyErr_Clear();
            return 1;
        }
        return -1;
    }
    return n > 32 ? 1 : 0;
#else
    if (_PyLong_AsByteArray((PyLongObject *)o, buf, 32, 1, 0) < 0) {
        if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
            PyErr_Clear();
            return 1;
        }
        return -1;
    }
    return 0;
#endif
}

static void bytes_to_limbs(const unsigned char b[32], u64 v[4])
{
    for (int i = 0; i < 4; i++) {
        u64 w = 0;
        for (int j = 7; j >= 0; j--)
            w = (w << 8) | b[8 * i + j];
        v[i] = w;
    }
}

/* Python int -> Montgomery form, reduced mod p like Python's `o % p`.
 * `what`/`index` name the argument in error messages. */
static int load(const ctx_t *c, PyObject *o, fe *out, const char *what, Py_ssize_t index)
{
    unsigned char buf[32];
    u64 l[4];
    fe a;
    if (!PyLong_Check(o)) {
        PyErr_Format(PyExc_TypeError, "poseidon: %s[%zd] must be an int, not %.100s", what, index,
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    int rc = int_to_bytes(o, buf);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        bytes_to_limbs(buf, l);
        if (geq_p(l, c->p64))
            rc = 1;
    }
    if (rc == 1) { /* slow path: negative, >= p or >= 2^256 */
        PyObject *red = PyNumber_Remainder(o, c->modulus);
        if (red == NULL)
            return -1;
        rc = int_to_bytes(red, buf);
        Py_DECREF(red);
        if (rc != 0) {
            if (rc == 1)
                PyErr_SetString(PyExc_SystemError, "poseidon: reduced value does not fit 256 bits");
            return -1;
        }
        bytes_to_limbs(buf, l);
    }
    limbs64_to_fe(l, &a);
    fe_mul(out, &a, &c->r2, c);
    return 0;
}

/* Montgomery form -> Python int in [0, p) */
static PyObject *store(const ctx_t *c, const fe *x)
{
    static const fe one_plain = {{1, 0, 0, 0, 0}};
    fe a;
    u64 l[4];
    unsigned char buf[32];
    fe_mul(&a, x, &one_plain, c);
    fe_to_limbs64(&a, l);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++)
            buf[8 * i + j] = (unsigned char)(l[i] >> (8 * j));
#if PY_VERSION_HEX >= 0x030D0000
    return PyLong_FromUnsignedNativeBytes(buf, 32, Py_ASNATIVEBYTES_LITTLE_ENDIAN);
#else
    return _PyLong_FromByteArray(buf, 32, 1, 0);
#endif
}

/* ------------------------------------------------------------ context */

static void ctx_free(ctx_t *c)
{
    if (c == NULL)
        return;
    free(c->buf);
    Py_XDECREF(c->modulus);
    free(c);
}

static void capsule_destructor(PyObject *cap)
{
    ctx_free((ctx_t *)PyCapsule_GetPointer(cap, CAPSULE_NAME));
}

static ctx_t *get_ctx(PyObject *cap)
{
    if (!PyCapsule_IsValid(cap, CAPSULE_NAME)) {
        PyErr_SetString(PyExc_TypeError, "poseidon: expected a context from make_context()");
        return NULL;
    }
    return (ctx_t *)PyCapsule_GetPointer(cap, CAPSULE_NAME);
}

/* Convert a list of `n` ints (each in [0, p)) to Montgomery form into dst. */
static int load_table(const ctx_t *c, PyObject *seq, Py_ssize_t n, fe *dst, const char *what)
{
    PyObject *fast = PySequence_Fast(seq, "poseidon: constant tables must be sequences of ints");
    if (fast == NULL)
        return -1;
    if (PySequence_Fast_GET_SIZE(fast) != n) {
        PyErr_Format(PyExc_ValueError, "poseidon: table %s has %zd entries, expected %zd", what,
                     PySequence_Fast_GET_SIZE(fast), n);
        Py_DECREF(fast);
        return -1;
    }
    PyObject **items = PySequence_Fast_ITEMS(fast);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (load(c, items[i], &dst[i], what, i) < 0) {
            Py_DECREF(fast);
            return -1;
        }
    }
    Py_DECREF(fast);
    return 0;
}

PyDoc_STRVAR(make_context_doc,
             "make_context(modulus, t, half_full_rounds, partial_rounds, first, last, M, P, u, k, S)\n"
             "--\n\n"
             "Precompute one Poseidon instance (constants of the optimized schedule,\n"
             "matrices flattened row-major, S flattened rows of 2t-1) in Montgomery form.\n"
             "Returns an opaque capsule for permute() and sponge().");

static PyObject *py_make_context(PyObject *self, PyObject *args)
{
    PyObject *modulus, *first, *last, *M, *P, *u, *k, *S;
    int t, h, rp;
    (void)self;
    if (!PyArg_ParseTuple(args, "O!iiiOOOOOOO:make_context", &PyLong_Type, &modulus, &t, &h, &rp, &first, &last,
                          &M, &P, &u, &k, &S))
        return NULL;
    if (t < 2 || t > MAX_T) {
        PyErr_Format(PyExc_ValueError, "poseidon: width t must be in 2..%d, got %d", MAX_T, t);
        return NULL;
    }
    if (h < 1 || rp < 0 || rp > 100000) {
        PyErr_SetString(PyExc_ValueError, "poseidon: bad round numbers");
        return NULL;
    }
    ctx_t *c = calloc(1, sizeof(ctx_t));
    if (c == NULL)
        return PyErr_NoMemory();
    c->t = t;
    c->h = h;
    c->rp = rp;
    Py_INCREF(modulus);
    c->modulus = modulus;

    /* modulus: odd, 3 <= p < 2^256 */
    unsigned char buf[32];
    int rc = int_to_bytes(modulus, buf);
    if (rc != 0) {
        if (rc == 1)
            PyErr_SetString(PyExc_ValueError, "poseidon: modulus must be a positive int below 2^256");
        goto fail;
    }
    bytes_to_limbs(buf, c->p64);
    if (!(c->p64[0] & 1) || (c->p64[0] < 3 && !c->p64[1] && !c->p64[2] && !c->p64[3])) {
        PyErr_SetString(PyExc_ValueError, "poseidon: modulus must be an odd prime");
        goto fail;
    }
    if (c->p64[3] >> 63) {
        PyErr_SetString(PyExc_ValueError, "poseidon: modulus must be below 2^255");
        goto fail;
    }
    fe pf;
    limbs64_to_fe(c->p64, &pf);
    memcpy(c->p, pf.v, sizeof(c->p));
    /* n0 = -p^-1 mod 2^52 (Newton iteration mod 2^64) */
    u64 inv = 1;
    for (int i = 0; i < 7; i++)
        inv *= 2 - c->p64[0] * inv;
    c->n0 = ((u64)0 - inv) & M52;
    /* R^2 = 2^520 mod p: 1 doubled 520 times mod p (plain arithmetic on values < p) */
    fe acc = {{1, 0, 0, 0, 0}};
    for (int i = 0; i < 520; i++)
        fe_add(&acc, &acc, &acc, c);
    c->r2 = acc;

    Py_ssize_t tt = t, n_first = (Py_ssize_t)h * t, n_m = tt * tt, n_s = (Py_ssize_t)rp * (2 * tt - 1);
    Py_ssize_t total = 2 * n_first + 2 * n_m + tt + rp + n_s;
    c->buf = malloc(sizeof(fe) * (size_t)(total > 0 ? total : 1));
    if (c->buf == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    c->first = c->buf;
    c->last = c->first + n_first;
    c->M = c->last + n_first;
    c->P = c->M + n_m;
    c->u = c->P + n_m;
    c->k = c->u + tt;
    c->S = c->k + rp;
    if (load_table(c, first, n_first, c->first, "first") < 0 || load_table(c, last, n_first, c->last, "last") < 0 ||
        load_table(c, M, n_m, c->M, "M") < 0 || load_table(c, P, n_m, c->P, "P") < 0 ||
        load_table(c, u, tt, c->u, "u") < 0 || load_table(c, k, rp, c->k, "k") < 0 ||
        load_table(c, S, n_s, c->S, "S") < 0)
        goto fail;

    PyObject *cap = PyCapsule_New(c, CAPSULE_NAME, capsule_destructor);
    if (cap == NULL)
        goto fail;
    return cap;
fail:
    ctx_free(c);
    return NULL;
}

/* ------------------------------------------------------------ permute / sponge */

PyDoc_STRVAR(permute_doc,
             "permute(context, state) -> list[int]\n"
             "--\n\n"
             "The Poseidon permutation of `state` (a sequence of t ints, each reduced mod p).");

static PyObject *py_permute(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "permute() takes 2 arguments (%zd given)", nargs);
        return NULL;
    }
    ctx_t *c = get_ctx(args[0]);
    if (c == NULL)
        return NULL;
    PyObject *fast = PySequence_Fast(args[1], "poseidon: state must be a sequence of ints");
    if (fast == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    if (n != c->t) {
        PyErr_Format(PyExc_ValueError, "poseidon: state has %zd elements, the context has width t=%d", n, c->t);
        Py_DECREF(fast);
        return NULL;
    }
    fe x[MAX_T];
    PyObject **items = PySequence_Fast_ITEMS(fast);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (load(c, items[i], &x[i], "state", i) < 0) {
            Py_DECREF(fast);
            return NULL;
        }
    }
    Py_DECREF(fast);
    permute_mont(x, c);
    PyObject *out = PyList_New(n);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = store(c, &x[i]);
        if (v == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, v);
    }
    return out;
}

PyDoc_STRVAR(sponge_doc,
             "sponge(context, xs) -> int\n"
             "--\n\n"
             "Sponge of width t, rate t-1: state = [len(xs), 0, ...]; for each chunk of t-1\n"
             "elements (the last zero-padded; an empty list is one zero chunk) add it into\n"
             "cells 1..t-1 and permute; return cell 0.");

#define SPONGE_STACK 64
#define SPONGE_RELEASE_GIL_CHUNKS 16

static PyObject *py_sponge(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "sponge() takes 2 arguments (%zd given)", nargs);
        return NULL;
    }
    ctx_t *c = get_ctx(args[0]);
    if (c == NULL)
        return NULL;
    PyObject *fast = PySequence_Fast(args[1], "poseidon: sponge input must be a sequence of ints");
    if (fast == NULL)
        return NULL;
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    const int rate = c->t - 1;
    fe stack[SPONGE_STACK];
    fe *xs = n <= SPONGE_STACK ? stack : malloc(sizeof(fe) * (size_t)n);
    if (xs == NULL) {
        Py_DECREF(fast);
        return PyErr_NoMemory();
    }
    PyObject **items = PySequence_Fast_ITEMS(fast);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (load(c, items[i], &xs[i], "xs", i) < 0) {
            if (xs != stack)
                free(xs);
            Py_DECREF(fast);
            return NULL;
        }
    }
    Py_DECREF(fast);

    /* state[0] = len(xs) (< 2^63 < p for the supported fields; reduced anyway) */
    fe st[MAX_T];
    memset(st, 0, sizeof(st));
    PyObject *len_obj = PyLong_FromSsize_t(n);
    if (len_obj == NULL || load(c, len_obj, &st[0], "len", 0) < 0) {
        Py_XDECREF(len_obj);
        if (xs != stack)
            free(xs);
        return NULL;
    }
    Py_DECREF(len_obj);

    Py_ssize_t chunks = n == 0 ? 1 : (n + rate - 1) / rate;
    PyThreadState *ts = NULL;
    if (chunks >= SPONGE_RELEASE_GIL_CHUNKS)
        ts = PyEval_SaveThread();
    for (Py_ssize_t ch = 0; ch < chunks; ch++) {
        for (int i = 0; i < rate; i++) {
            Py_ssize_t j = ch * rate + i;
            if (j < n)
                fe_add(&st[1 + i], &st[1 + i], &xs[j], c);
        }
        permute_mont(st, c);
    }
    if (ts != NULL)
        PyEval_RestoreThread(ts);
    if (xs != stack)
        free(xs);
    return store(c, &st[0]);
}

/* ------------------------------------------------------------ module */

static PyMethodDef methods[] = {
    {"make_context", py_make_context, METH_VARARGS, make_context_doc},
    {"permute", (PyCFunction)(void (*)(void))py_permute, METH_FASTCALL, permute_doc},
    {"sponge", (PyCFunction)(void (*)(void))py_sponge, METH_FASTCALL, sponge_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "_poseidon",
    "Native Poseidon permutation and sponge (Montgomery arithmetic, 52-bit limbs).",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__poseidon(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddIntConstant(m, "MAX_T", MAX_T) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
