"""The fake `ba` eval (SPEC §8.4): bundle adjustment, plain NumPy, independent of symgrad.

Every input is the compressed description {n, m, p, cam (11), x (3), w, feat (2)}: all n cameras,
m points, p weights and features are equal, observation i uses camera i mod n and point i mod m.
The reference computes observation 0's residual plainly and its 2 × 15 Jacobian block by central
differences; the CSR `rows`/`cols` and the last entries follow from the sizes alone.
"""

import numpy as np

FUNCTIONS = ("objective", "jacobian")

# The values held by every data file ba1 ... ba20 (SPEC §8.4).
CAM = [
    -0.758453,
    -1.109613,
    -0.845551,
    34.556073,
    39.676747,
    53.881673,
    419.194514,
    5.864426,
    -8.518870,
    0.087812,
    0.002739,
]
X = [7.203245, 0.001144, 3.023326]
W = 0.417022
FEAT = [271.760969, 834.209256]

SIZES = [
    (49, 7776, 31843),
    (21, 11315, 36455),
    (161, 48126, 182072),
    (372, 47423, 204472),
    (257, 65132, 225911),
    (539, 65220, 277273),
    (93, 61203, 287451),
    (88, 64298, 383937),
    (810, 88814, 393775),
    (1197, 126327, 563734),
    (1723, 156502, 678718),
    (253, 163691, 899155),
    (245, 198739, 1091386),
    (356, 226730, 1255268),
]


def make_input(n, m, p, cam=CAM, x=X, w=W, feat=FEAT):
    return {"n": n, "m": m, "p": p, "cam": list(cam), "x": list(x), "w": w, "feat": list(feat)}


def workloads():
    return [(f"ba{i}_n{n}_m{m}_p{p}", make_input(n, m, p)) for i, (n, m, p) in enumerate(SIZES, 1)]


def small_workloads():
    # p >= 10: with fewer the reference's `rows` prefix is garbage (SPEC §8.4).
    rng = np.random.default_rng(7)
    cam2 = np.array(CAM) + 0.1 * rng.standard_normal(11)
    return [
        ("ba_n3_m5_p10", make_input(3, 5, 10)),
        ("ba_n2_m7_p16", make_input(2, 7, 16, cam2.tolist(), [1.5, -0.3, 2.0], 0.9, [3.0, -2.0])),
        # θ² = 0: the other branch of the rotation
        ("ba_n5_m4_p40_r0", make_input(5, 4, 40, [0.0, 0.0, 0.0] + CAM[3:])),
    ]


EXAMPLES = [
    (
        "objective",
        make_input(49, 7776, 31843),
        {
            "reproj_error": {
                "elements": [0.10133583791446145, -0.06896776592448106],
                "repeated": 31843,
            },
            "w_err": {"element": 0.826092651516, "repeated": 31843},
        },
    ),
    (
        "jacobian",
        make_input(49, 7776, 31843),
        {
            "rows": [15 * k for k in range(30)] + [987133],
            "cols": (list(range(11)) + [539, 540, 541, 23867]) * 2 + [55709],
            "vals": [
                -461.4463210015994,
                178.86792801444557,
                -19.42391647220627,
                -3.0615983420410324,
                6.392457556226442,
                -3.340282281299017,
                0.2647602492070315,
                0.417022,
                0.0,
                243.62824566082992,
                676.4867782658685,
                3.0615983420410324,
                -6.392457556226442,
                3.340282281299017,
                0.24299878163373023,
                -803.7436233648792,
                -309.59541752344876,
                604.7802846625028,
                -15.049628170340549,
                6.248486312079823,
                3.219479951604925,
                0.8381960857313306,
                0.0,
                0.417022,
                771.2949451366331,
                2141.6680611599545,
                15.049628170340549,
                -6.248486312079823,
                -3.219479951604925,
                -0.16538160078960118,
                -0.834044,
            ],
        },
    ),
]


def rodrigues(r, y):
    theta2 = float(r @ r)
    if theta2 != 0:
        theta = np.sqrt(theta2)
        omega = r / theta
        return (
            y * np.cos(theta)
            + np.cross(omega, y) * np.sin(theta)
            + omega * (omega @ y) * (1 - np.cos(theta))
        )
    return y + np.cross(r, y)


def residual(params, feat):
    """reproj_err of one observation from its 15 parameters (camera 11, point 3, weight)."""
    cam, x, w = params[:11], params[11:14], params[14]
    z = rodrigues(cam[0:3], x - cam[3:6])
    s = z[:2] / z[2]
    rho = s @ s
    s = s * (1 + cam[9] * rho + cam[10] * rho * rho)
    return w * (cam[6] * s + cam[7:9] - feat)


def block_jacobian(params, feat, h=1e-6):
    J = np.empty((2, 15))
    for k in range(15):
        step = h * max(1.0, abs(params[k]))
        up, down = params.copy(), params.copy()
        up[k] += step
        down[k] -= step
        J[:, k] = (residual(up, feat) - residual(down, feat)) / (2 * step)
    return J


def reference(function, input):
    n, m, p = input["n"], input["m"], input["p"]
    w = float(input["w"])
    params = np.concatenate([input["cam"], input["x"], [w]]).astype(np.float64)
    feat = np.asarray(input["feat"], dtype=np.float64)
    if function == "objective":
        e = residual(params, feat)
        return {
            "reproj_error": {"elements": [float(e[0]), float(e[1])], "repeated": p},
            "w_err": {"element": 1 - w * w, "repeated": p},
        }
    rows = [15 * k if k <= 2 * p else 30 * p + (k - 2 * p) for k in range(30)] + [31 * p]
    row_cols = list(range(11)) + [11 * n, 11 * n + 1, 11 * n + 2, 11 * n + 3 * m]
    cols = (row_cols * 2)[:30] + [11 * n + 3 * m + p - 1]
    J = block_jacobian(params, feat)
    vals = [float(v) for v in J.ravel()] + [-2 * w]
    return {"rows": rows, "cols": cols, "vals": vals}
