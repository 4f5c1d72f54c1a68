"""Vectorised float64 math for the Numba backend's loop nests: exp, expm1, log, log1p and tanh
as functions LLVM vectorises where a loop nest calls them (Numba from PyPI has no vector math
library: np.exp in a compiled loop is a call of the C library's, one entry at a time).

Contract: each function here is self-contained (it uses only `np` and the others here), is
emitted verbatim into the modules whose nests call it (`Rule.vector`), under `DECORATOR`:
inlined by LLVM, so that a nest over large float64 arrays (`symgrad.passes.fuse` marks them
`vector`) runs its entries 8 at a time. Every `if` chooses between values already computed (a
vector select), there are no calls, loops or exceptions, and no fastmath: IEEE arithmetic,
exact products by Cody-Waite constants. The nest must use `error_model="numpy"` (log1p divides
by zero in lanes whose result it does not use). The algorithms are fdlibm's (musl's), tanh a
fitted polynomial below 0.625 and 1 - 2 / (exp(2|x|) + 1) above; measured against mpmath on
10^6 points each, every result is within 1 ulp (tests/test_runtime.py samples them), and
special values (nan, infinities, signed zeros, subnormals, overflow) are NumPy's.
"""

import numpy as np

DECORATOR = '@numba.njit(forceinline=True, error_model="numpy", cache=True)'
NJIT = (
    "_vcos",
    "_vexp",
    "_vexp_core",
    "_vexpm1",
    "_vlog",
    "_vlog1p",
    "_vlog_edges",
    "_vlog_kernel",
    "_vlog_split",
    "_vkcos",
    "_vksin",
    "_vpow2",
    "_vreduce_pio2",
    "_vscale",
    "_vsin",
    "_vtanh",
    "_vtwo_sum",
)  # every function here, emitted under DECORATOR


def _vpow2(k):
    """2.0**k for integer -1022 <= k <= 1023, built from the exponent bits."""
    return np.int64((k + 1023) << 52).view(np.float64)


def _vscale(y, k):
    """y * 2**k for -1078 <= k <= 1025 (one rounding, even into subnormals)."""
    k1 = k >> 1
    return y * _vpow2(k1) * _vpow2(k - k1)


def _vexp_core(xc):
    """(k, hi, lo, q) with exp(xc) = 2**k * (1 + hi + (q - lo)), |hi - lo| <= ln2/2."""
    round_shift = 6755399441055744.0  # 1.5*2**52: (v + S) - S rounds v to an integer
    inv_ln2 = 1.44269504088896338700e00
    ln2_hi = 6.93147180369123816490e-01  # 0x3fe62e42fee00000: k*ln2_hi exact
    ln2_lo = 1.90821492927058770002e-10
    p1 = 1.66666666666666019037e-01  # fdlibm Remez: R(r) = r - r^2*(p1 + ...)
    p2 = -2.77777777770155933842e-03
    p3 = 6.61375632143793436117e-05
    p4 = -1.65339022054652515390e-06
    p5 = 4.13813679705723846039e-08
    kf = (xc * inv_ln2 + round_shift) - round_shift
    hi = xc - kf * ln2_hi  # exact
    lo = kf * ln2_lo
    r = hi - lo
    rr = r * r
    c = r - rr * (p1 + rr * (p2 + rr * (p3 + rr * (p4 + rr * p5))))
    q = r * c / (2.0 - c)  # exp(r) - 1 - r
    return int(kf), hi, lo, q


def _vexp(x):
    """exp(x): fdlibm's reduction x = k ln2 + r, |r| <= ln2/2, exp(r) = 1 + r +
    r*c/(2-c), c = r - (Remez degree-5 polynomial in r^2), times 2**k built
    from exponent bits.  Max error 0.87 ulp (10^6 points vs mpmath)."""
    arg_max = 710.0  # exp(710) = inf; clamping keeps k in range
    arg_min = -746.0  # exp(-746) = 0
    xc = x
    if not (xc > arg_min):  # also NaN -> clamped, fixed below
        xc = arg_min
    if xc > arg_max:
        xc = arg_max
    k, hi, lo, q = _vexp_core(xc)
    y = 1.0 + (q - lo + hi)
    res = _vscale(y, k)  # over/underflows naturally to inf / 0
    if x != x:
        res = x
    return res


def _vexpm1(x):
    """expm1(x): fdlibm's reduction x = k ln2 + r with rounding correction,
    rational approximation with a degree-5 polynomial in r^2/2 (Q1..Q5), and
    k-dependent reconstruction.  Max error 0.82 ulp (10^6 points vs mpmath)."""
    round_shift = 6755399441055744.0  # 1.5*2**52
    inv_ln2 = 1.44269504088896338700e00
    ln2_hi = 6.93147180369123816490e-01
    ln2_lo = 1.90821492927058770002e-10
    q1 = -3.33333333333331316428e-02
    q2 = 1.58730158725481460165e-03
    q3 = -7.93650757867487942473e-05
    q4 = 4.00821782732936239552e-06
    q5 = -2.01099218183624371326e-07
    arg_max = 710.0
    arg_min = -40.0  # expm1(x) rounds to -1 for x < -38.9
    tiny = 5.551115123125783e-17  # 2**-54: expm1(x) rounds to x
    xc = x
    if not (xc > arg_min):
        xc = arg_min
    if xc > arg_max:
        xc = arg_max
    kf = (xc * inv_ln2 + round_shift) - round_shift
    k = int(kf)
    hi = xc - kf * ln2_hi
    lo = kf * ln2_lo
    r = hi - lo
    c = (hi - r) - lo  # rounding error of r
    hfx = 0.5 * r
    hxs = r * hfx
    r1 = 1.0 + hxs * (q1 + hxs * (q2 + hxs * (q3 + hxs * (q4 + hxs * q5))))
    t = 3.0 - r1 * hfx
    e = hxs * ((r1 - t) / (6.0 - r * t))
    res0 = r - (r * e - hxs)  # k == 0
    e = r * (e - c) - c
    e = e - hxs  # now expm1(x) = 2**k * (r - e + 1) - 1
    res_m1 = 0.5 * (r - e) - 0.5  # k == -1
    if r < -0.25:  # k == 1
        res_p1 = -2.0 * (e - (r + 0.5))
    else:
        res_p1 = 1.0 + 2.0 * (r - e)
    res_far = _vscale(r - e + 1.0, k) - 1.0  # k < 0 or k > 56
    km = min(max(k, 2), 56)  # 2 <= k <= 56: fold the -1 in before scaling
    two_k = _vpow2(km)
    two_mk = _vpow2(-km)
    if km < 20:
        res_mid = (r - e + (1.0 - two_mk)) * two_k
    else:
        res_mid = (r - (e + two_mk) + 1.0) * two_k
    res = res_mid
    if k < 0 or k > 56:
        res = res_far
    if k == 1:
        res = res_p1
    if k == -1:
        res = res_m1
    if k == 0:
        res = res0
    if abs(x) < tiny:  # keeps -0.0 and subnormals exact
        res = x
    if x != x:
        res = x
    return res


def _vlog_kernel(f, k, c):
    """log(2**k * (1 + f) + correction c), f in [sqrt(2)/2 - 1, sqrt(2) - 1)."""
    ln2_hi = 6.93147180369123816490e-01
    ln2_lo = 1.90821492927058770002e-10
    lg1 = 6.666666666666735130e-01  # fdlibm Remez R(s^2)
    lg2 = 3.999999999940941908e-01
    lg3 = 2.857142874366239149e-01
    lg4 = 2.222219843214978396e-01
    lg5 = 1.818357216161805012e-01
    lg6 = 1.531383769920937332e-01
    lg7 = 1.479819860511658591e-01
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (lg2 + w * (lg4 + w * lg6))
    t2 = z * (lg1 + w * (lg3 + w * (lg5 + w * lg7)))
    R = t2 + t1
    dk = float(k)
    return s * (hfsq + R) + (dk * ln2_lo + c) - hfsq + f + dk * ln2_hi


def _vlog_split(u):
    """(k, m) with u = 2**k * m, m in [sqrt(2)/2, sqrt(2)); u positive normal."""
    sqrt_half_hi = 0x3FE6A09E  # high word of sqrt(2)/2
    bias = (0x3FF00000 - sqrt_half_hi) << 32  # moves the binade edge to sqrt(2)/2
    mant_mask = 0x000FFFFFFFFFFFFF
    iu = np.float64(u).view(np.int64) + bias
    k = (iu >> 52) - 1023
    m = np.int64((iu & mant_mask) + (sqrt_half_hi << 32)).view(np.float64)
    return k, m


def _vlog(x):
    """log(x): fdlibm's x = 2**k * (1 + f), s = f/(2+f), log(1+f) = f - f^2/2 +
    s*(f^2/2 + R(s^2)), R a degree-7 Remez polynomial in s^2; subnormals
    pre-scaled by 2**54.  Max error 0.79 ulp (10^6 points vs mpmath)."""
    dbl_min = 2.2250738585072014e-308  # smallest normal
    two54 = 18014398509481984.0  # 2**54
    sub = x < dbl_min  # subnormal (or <= 0): scale by 2**54 first
    xs = x * two54 if sub else x
    k, m = _vlog_split(xs)
    if sub:
        k = k - 54
    return _vlog_edges(x, _vlog_kernel(m - 1.0, k, 0.0), 0.0)


def _vlog1p(x):
    """log1p(x): fdlibm's method: log(u), u = 1 + x, with _vlog's kernel plus the
    correction (1 + x - u)/u for the rounding of u.  Max error 0.76 ulp
    (10^6 points vs mpmath)."""
    tiny = 1.1102230246251565e-16  # 2**-53: log1p(x) rounds to x
    u = 1.0 + x
    k, m = _vlog_split(u)
    if k >= 2:  # c = (1 + x - u) / u
        c = 1.0 - (u - x)
    else:
        c = x - (u - 1.0)
    c = c / u
    if k >= 54:
        c = 0.0
    f = m - 1.0
    if k == 0:  # 1+x already in [sqrt(2)/2, sqrt(2)): use x exactly
        f = x
        c = 0.0
    res = _vlog_kernel(f, k, c)
    if abs(x) < tiny:  # keeps -0.0
        res = x
    return _vlog_edges(x, res, -1.0)


def _vlog_edges(x, res, pole):
    """res, a logarithm's value at x, at its edges: -inf at the pole, nan below it, x at inf
    and nan (log's pole is 0, log1p's -1)."""
    if x == pole:
        res = -np.inf
    if x < pole:
        res = np.nan
    if x == np.inf:
        res = x
    if x != x:
        res = x
    return res


def _vtanh(x):
    """tanh(x): for |x| < 0.625 x + x*s*G(s), s = x^2, G a degree-11 fit; else
    1 - 2/(E+1), E = exp(2|x|) as a double-double from _vexp_core; +-1 for
    |x| > 22.  Max error 0.79 ulp (10^6 points vs mpmath)."""
    poly_max = 0.625
    one_above = 22.0  # 2/(E+1) < 2**-62
    tiny = 7.450580596923828e-09  # 2**-27: tanh(x) rounds to x
    t0 = -0.3333333333333333  # near-minimax fit, |error| < 2**-55.5
    t1 = 0.13333333333333042
    t2 = -0.05396825396789699
    t3 = 0.021869488519008305
    t4 = -0.008863235103240878
    t5 = 0.0035921217511549622
    t6 = -0.0014557754120478055
    t7 = 0.0005896606577757043
    t8 = -0.0002375906496055562
    t9 = 9.257116129556769e-05
    t10 = -3.12011014257974e-05
    t11 = 6.485163482793113e-06
    x = np.float64(x)  # float32 input: compute in float64
    ax = abs(x)
    s = x * x
    g = t0 + s * (
        t1
        + s
        * (
            t2
            + s
            * (
                t3
                + s
                * (t4 + s * (t5 + s * (t6 + s * (t7 + s * (t8 + s * (t9 + s * (t10 + s * t11)))))))
            )
        )
    )
    small = x + x * (s * g)
    z = 2.0 * ax
    if not (z <= 2.0 * one_above):  # also NaN
        z = 0.0
    k, hi, lo, q = _vexp_core(z)
    eh = 1.0 + hi  # exp(r) = 1 + hi + (q - lo) = eh + el
    el = ((1.0 - eh) + hi) + (q - lo)
    t = eh + el  # renormalise so |el| <= ulp(eh)/2
    el = (eh - t) + el
    eh = t
    p2k = _vpow2(k)
    eh = eh * p2k  # E = eh + el >= exp(1.25) > 1
    el = el * p2k
    dh = eh + 1.0  # D = E + 1 = dh + dl (fast two-sum)
    dl = ((eh - dh) + 1.0) + el
    q0 = 2.0 / dh  # 2/D = q0*(1 - dl/dh); q0 < 0.45
    th = 1.0 - q0  # 1 - q0 = th + tl exactly
    tl = (1.0 - th) - q0
    big = th + (tl + q0 * dl * (0.5 * q0))
    if x < 0.0:
        big = -big
    res = small
    if ax >= poly_max:
        res = big
    if ax > one_above:
        res = 1.0 if x > 0.0 else -1.0
    if ax < tiny:  # keeps -0.0 and subnormals
        res = x
    if x != x:
        res = x
    return res


def _vtwo_sum(a, b):
    """(s, e) with s + e == a + b exactly (Knuth)."""
    s = a + b
    bb = s - a
    e = (a - (s - bb)) + (b - bb)
    return s, e


def _vreduce_pio2(x):
    """(n mod 4, hi, lo) with x - n pi/2 = hi + lo, for finite |x| <= 2**21 (others: as 0):
    pi/2 in four parts (about 160 bits), the first three of at most 32 bits, so that n times
    each is exact, and the differences by two-sums: about 70 bits kept even for x within
    2**-60 of a multiple of pi/2."""
    round_shift = 6755399441055744.0  # 1.5*2**52: (v + S) - S rounds v to an integer
    inv_pio2 = 6.36619772367581382433e-01
    pio2_1 = 1.57079632673412561417e00
    pio2_2 = 6.07710050630396597660e-11
    pio2_3 = 2.02226624871116645580e-21
    pio2_3t = 8.47842766036889956997e-32
    xs = x if abs(x) <= 2097152.0 else 0.0
    fn = (xs * inv_pio2 + round_shift) - round_shift
    a = xs - fn * pio2_1  # exact (Sterbenz), fn * pio2_1 exact
    s, e1 = _vtwo_sum(a, -(fn * pio2_2))
    s, e2 = _vtwo_sum(s, -(fn * pio2_3))
    t = (e1 + e2) - fn * pio2_3t
    hi = s + t
    lo = (s - hi) + t
    return int(fn) & 3, hi, lo


def _vksin(x, y):
    """sin(x + y) for |x + y| <= pi/4, y tiny (fdlibm's __kernel_sin)."""
    s1 = -1.66666666666666324348e-01
    s2 = 8.33333333332248946124e-03
    s3 = -1.98412698298579493134e-04
    s4 = 2.75573137070700676789e-06
    s5 = -2.50507602534068634195e-08
    s6 = 1.58969099521155010221e-10
    z = x * x
    w = z * z
    r = s2 + z * (s3 + z * s4) + z * w * (s5 + z * s6)
    v = z * x
    return x - ((z * (0.5 * y - v * r) - y) - v * s1)


def _vkcos(x, y):
    """cos(x + y) for |x + y| <= pi/4 (fdlibm's __kernel_cos)."""
    c1 = 4.16666666666666019037e-02
    c2 = -1.38888888888741095749e-03
    c3 = 2.48015872894767294178e-05
    c4 = -2.75573143513906633035e-07
    c5 = 2.08757232129817482790e-09
    c6 = -1.13596475577881948265e-11
    z = x * x
    w = z * z
    r = z * (c1 + z * (c2 + z * c3)) + w * w * (c4 + z * (c5 + z * c6))
    hz = 0.5 * z
    w = 1.0 - hz
    return w + (((1.0 - w) - hz) + (z * r - x * y))


def _vsin(x):
    """sin(x) for |x| <= 2**21 (nan beyond, and at inf and nan: a nest that calls it computes
    its entries again with np.sin where some |x| is beyond): fdlibm's kernels after an exact
    reduction by pi/2, the quadrant chosen by two selects. Max error 0.77 ulp (10^6 points
    against mpmath)."""
    n, hi, lo = _vreduce_pio2(x)
    s = _vksin(hi, lo)
    c = _vkcos(hi, lo)
    res = s  # quadrant n: sin, cos, -sin, -cos
    if n & 1:
        res = c
    if n & 2:
        res = -res
    if abs(x) < 1.4901161193847656e-08:  # 2**-26: sin(x) rounds to x (-0.0, subnormals)
        res = x
    if not (abs(x) <= 2097152.0):
        res = np.nan
    return res


def _vcos(x):
    """cos(x) for |x| <= 2**21 (nan beyond: as `_vsin`), by the same reduction. Max error
    0.77 ulp (10^6 points against mpmath)."""
    n, hi, lo = _vreduce_pio2(x)
    s = _vksin(hi, lo)
    c = _vkcos(hi, lo)
    res = c  # quadrant n: cos, -sin, -cos, sin
    if n & 1:
        res = s
    if (n + 1) & 2:
        res = -res
    if not (abs(x) <= 2097152.0):
        res = np.nan
    return res


_vsin.exact_below = _vcos.exact_below = 2097152.0  # (2**21: the nest's second pass beyond)
