"""GradBench `ba`: bundle adjustment, a sparse Jacobian in CSR form (SPEC §8.4).

Input: `n`, `m`, `p` and one camera `cam` (11: angle-axis r, centre C, focal f, principal point
u0 v0, distortion κ1 κ2), one point `x` (3), one weight `w` and one feature `feat` (2). `prepare`
expands them (untimed, part of the input conversion): n cameras, m points, p weights and
features, observation i on camera i mod n and point i mod m. Every one of the p observations is
computed; nothing exploits the duplication.

    Y = X − C;  Z = Rodrigues(r) Y  (Y + r × Y where θ² = r·r is 0)
    s = Z[:2] / Z[2] · (1 + κ1 ρ + κ2 ρ²),  ρ = |Z[:2] / Z[2]|²
    reproj_err_i = W_i (f s + (u0, v0) − feat_i),   w_err_i = 1 − W_i²

`objective` computes every residual and answers the compressed form {"reproj_error":
{"elements", "repeated"}, "w_err": {"element", "repeated"}}. `jacobian` builds the whole
(3p) × (11n + 3m + p) CSR matrix: rows 2i, 2i+1 hold the 15 derivatives of observation i's
residual (its camera's 11, its point's 3, its weight), row 2p + i holds ∂w_err_i/∂W_i; only the
first 30 and the last entry of `rows`, `cols`, `vals` are answered.

The residual is per-observation scalar code vectorised over the observations: the gathers
`cams.T[:, obs_cam]`, `X.T[:, obs_pt]` give one column per observation, a 3-vector is a tuple of
rows. Each observation's residual depends only on its own column, so the gradient (symgrad's
`grad`) of the sum over the observations of their first residuals gives row 2i of every block
at once, and that of their second residuals row 2i+1: two reverse sweeps give all p 2 × 15
blocks (measured faster than a `vjp` with the cotangents (1, 0) and (0, 1), whose forward
pass runs once more for its value); the w_err derivatives are symgrad's `jvp` along ones.
Both functions run the observations in blocks of `BLOCK` columns so that the arrays stay in
cache (the same arithmetic, about twice as fast in NumPy as one pass over 10⁶ columns).
"""

import numpy as np
from objectives.backend import BACKEND, compiled

import symgrad

BLOCK = 16384  # observations per block
MIN_BLOCK = 512  # the smallest (padded) block symgrad sees


def dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def cross(a, b):
    # By components: the 3-vectors here are tuples of rows, one column per observation, where
    # np.cross (which symgrad differentiates) takes arrays with the vectors' axis last.
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def rodrigues_rotate(r, Y):
    """Y rotated by the angle-axis vector r (3-tuples of rows, one column per observation)."""
    theta2 = dot(r, r)
    nonzero = theta2 != 0
    theta = np.sqrt(np.where(nonzero, theta2, 1.0))  # 1 where θ² = 0: that branch is unused
    w = (r[0] / theta, r[1] / theta, r[2] / theta)
    c = np.cos(theta)
    s = np.sin(theta)
    w_Y = dot(w, Y) * (1.0 - c)
    w_x_Y = cross(w, Y)
    r_x_Y = cross(r, Y)
    z0 = np.where(nonzero, Y[0] * c + w_x_Y[0] * s + w[0] * w_Y, Y[0] + r_x_Y[0])
    z1 = np.where(nonzero, Y[1] * c + w_x_Y[1] * s + w[1] * w_Y, Y[1] + r_x_Y[1])
    z2 = np.where(nonzero, Y[2] * c + w_x_Y[2] * s + w[2] * w_Y, Y[2] + r_x_Y[2])
    return z0, z1, z2


def reproj_error(cam, X, w, feat):
    """(2, p): the weighted reprojection errors; cam (11, p), X (3, p), w (p,), feat (2, p)."""
    r = (cam[0], cam[1], cam[2])
    Y = (X[0] - cam[3], X[1] - cam[4], X[2] - cam[5])
    Z = rodrigues_rotate(r, Y)
    s0 = Z[0] / Z[2]
    s1 = Z[1] / Z[2]
    rho = s0 * s0 + s1 * s1
    distortion = 1.0 + cam[9] * rho + cam[10] * rho * rho
    e0 = w * (cam[6] * s0 * distortion + cam[7] - feat[0])
    e1 = w * (cam[6] * s1 * distortion + cam[8] - feat[1])
    return np.stack([e0, e1])


def weight_error(w):
    return 1.0 - w * w


def first_residuals(cam, X, w, feat):
    return np.sum(reproj_error(cam, X, w, feat)[0])


def second_residuals(cam, X, w, feat):
    return np.sum(reproj_error(cam, X, w, feat)[1])


# d/d(cam, X, w) of each observation's first (second) residual, every observation at once
_residual_grads = [
    symgrad.grad(f, argnums=(0, 1, 2), backend=BACKEND) for f in (first_residuals, second_residuals)
]


def _blocks(p):
    """(start, stop, index) per block of observations; the last block's index is padded with
    observation p − 1 up to a power of two, so that symgrad's transforms, which specialise on
    shapes, see a few block sizes only (prepared once, see `_warm_up`)."""
    out = []
    for start in range(0, p, BLOCK):
        stop = min(p, start + BLOCK)
        size = stop - start
        if size == BLOCK:
            out.append((start, stop, slice(start, stop)))
        else:
            padded = max(MIN_BLOCK, 1 << (size - 1).bit_length())
            out.append((start, stop, np.minimum(np.arange(start, start + padded), p - 1)))
    return out


# On the Numba backend the residuals run as symgrad.jit of the same function: one fused loop
# nest over the block's observations instead of a NumPy pass per operation (as JAX's tool runs
# its objective under jax.jit)
_reproj = compiled(reproj_error)


def objective(cams, X, w, feats, obs):
    p = w.shape[0]
    cams_t, X_t, feats_t = cams.T.copy(), X.T.copy(), feats.T.copy()
    reproj = np.empty((2, p))
    for start, stop, i in _blocks(p):
        block = _reproj(cams_t[:, obs[i, 0]], X_t[:, obs[i, 1]], w[i], feats_t[:, i])
        reproj[:, start:stop] = block[:, : stop - start]
    return reproj.T, weight_error(w)


def jacobian(cams, X, w, feats, obs):
    n, m, p = cams.shape[0], X.shape[0], w.shape[0]
    cams_t, X_t, feats_t = cams.T.copy(), X.T.copy(), feats.T.copy()
    vals = np.empty(31 * p)
    cols = np.empty(31 * p, dtype=np.int32)
    blocks = vals[: 30 * p].reshape(p, 2, 15)  # observation, residual row, parameter
    col_blocks = cols[: 30 * p].reshape(p, 2, 15)
    w_col = 11 * n + 3 * m  # the column of weight 0
    for start, stop, i in _blocks(p):
        size = stop - start
        cam_i, X_i, w_i = cams_t[:, obs[i, 0]], X_t[:, obs[i, 1]], w[i]
        for k, residual_grad in enumerate(_residual_grads):  # straight into row k of the blocks
            d_cam, d_X, d_w = residual_grad(cam_i, X_i, w_i, feats_t[:, i])
            out = blocks[start:stop, k]
            out[:, 0:11], out[:, 11:14], out[:, 14] = d_cam[:, :size].T, d_X[:, :size].T, d_w[:size]
        _, d_werr = symgrad.jvp(weight_error, (w_i,), (np.ones_like(w_i),), backend=BACKEND)
        vals[30 * p + start : 30 * p + stop] = d_werr[:size]
        obs_i = obs[start:stop]
        row = col_blocks[start:stop, 0]  # the columns of both rows of a block
        row[:, 0:11] = (11 * obs_i[:, 0])[:, None] + np.arange(11)
        row[:, 11:14] = (11 * n + 3 * obs_i[:, 1])[:, None] + np.arange(3)
        row[:, 14] = np.arange(w_col + start, w_col + stop)
        col_blocks[start:stop, 1] = row
    cols[30 * p :] = np.arange(w_col, w_col + p)
    rows = np.empty(3 * p + 1, dtype=np.int32)
    rows[: 2 * p + 1] = np.arange(0, 30 * p + 1, 15)
    rows[2 * p + 1 :] = np.arange(30 * p + 1, 31 * p + 1)
    return rows, cols, vals


_warm = False


def _warm_up():
    """Compile the transforms and specialise them for every block size (untimed: called from
    `prepare`; GradBench lets a tool compile before the timed calls): p = BLOCK + size - 1 runs a
    whole block, a slice of the inputs' columns (Numba compiles for such a non-contiguous
    view apart), then one of size - 1 padded to `size`."""
    global _warm
    if not _warm:
        _warm = True  # (before: the warm-up prepares its own inputs)
        size = MIN_BLOCK
        while size <= BLOCK:
            cam = [0.1, 0.1, 0.1, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.01, 0.0]
            data = {
                "n": 1,
                "m": 1,
                "p": BLOCK + size - 1,
                "cam": cam,
                "x": [0.0, 0.0, 1.0],
                "w": 1.0,
                "feat": [0.0, 0.0],
            }
            args = prepare("objective", data)
            objective(*args)
            jacobian(*args)
            size *= 2


FUNCTIONS = {"objective": objective, "jacobian": jacobian}


def prepare(function, input):
    n, m, p = int(input["n"]), int(input["m"]), int(input["p"])
    cam = np.asarray(input["cam"], dtype=np.float64)
    x = np.asarray(input["x"], dtype=np.float64)
    feat = np.asarray(input["feat"], dtype=np.float64)
    cams = np.tile(cam, (n, 1))
    X = np.tile(x, (m, 1))
    w = np.full(p, float(input["w"]))
    feats = np.tile(feat, (p, 1))
    i = np.arange(p)
    obs = np.stack([i % n, i % m], axis=1)  # camera and point of each observation
    _warm_up()  # (the objective is asked for first: on the Numba backend its loops compile)
    return cams, X, w, feats, obs


def _head(a):
    return list(a[:30]) + [a[-1]]


def output(function, value):
    if function == "objective":
        reproj, werr = value
        return {
            "reproj_error": {"elements": [float(v) for v in reproj[0]], "repeated": len(reproj)},
            "w_err": {"element": float(werr[0]), "repeated": len(werr)},
        }
    rows, cols, vals = value
    return {
        "rows": [int(v) for v in _head(rows)],
        "cols": [int(v) for v in _head(cols)],
        "vals": [float(v) for v in _head(vals)],
    }
