"""The fake `ht` eval (SPEC §8.5): hand tracking, plain NumPy, independent of symgrad.

GradBench's hand models and points come from data files that are not available here, so the
inputs are synthetic with the same structure: the 22-bone hand (names, parents), base relative
transforms with random rotations and translations, inverse base absolutes that are the inverses
of the chained base transforms (so that the rest pose maps every vertex to itself), random
non-negative skinning weights (rows summing to 1), random vertices, triangles, correspondences,
points, thetas and barycentric `us`. The same model is sent with every workload, as GradBench
does. The reference evaluates the objective plainly, bone by bone, and takes the Jacobian by
central differences: one column per theta, and the `us` columns by perturbing every point's
`us[i][k]` at once (residual i depends on `us[i]` only, so this gives each row's own derivative).
The spec's spot values need the real data, so there are no worked examples.
"""

import numpy as np

FUNCTIONS = ("objective", "jacobian")

BONE_NAMES = (
    ["wrist"]
    + [
        f"{finger}{k}"
        for finger in ("thumb", "index", "middle", "ring", "pinky")
        for k in range(1, 5)
    ]
    + ["forearm"]
)
PARENTS = [-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19, 0]
BIG = (10000, 1084)  # vertices, triangles
SMALL = (544, 1084)
SIZES = [100, 192, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 100000]

EXAMPLES = []  # the spec's spot values need GradBench's data files


def rotation(rng):
    """A random rotation matrix (Rodrigues' formula of a random angle-axis vector)."""
    axis = rng.standard_normal(3)
    axis /= np.linalg.norm(axis)
    angle = rng.uniform(0, np.pi)
    K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * K @ K


def make_model(vertices, triangles, seed=0):
    rng = np.random.default_rng(seed)
    relatives = np.zeros((22, 4, 4))
    for b in range(22):
        relatives[b, :3, :3] = rotation(rng)
        relatives[b, :3, 3] = rng.normal(0.0, 0.3, 3)
        relatives[b, 3, 3] = 1.0
    absolutes = np.zeros((22, 4, 4))
    for b in range(22):
        parent = PARENTS[b]
        absolutes[b] = relatives[b] if parent == -1 else absolutes[parent] @ relatives[b]
    inverse_absolutes = np.linalg.inv(absolutes)
    positions = np.ones((vertices, 4))
    positions[:, :3] = rng.normal(0.0, 1.0, (vertices, 3))
    weights = rng.random((vertices, 22)) ** 4
    weights /= weights.sum(axis=1, keepdims=True)
    return {
        "bone_count": 22,
        "bone_names": list(BONE_NAMES),
        "parents": list(PARENTS),
        "base_relatives": relatives.tolist(),
        "inverse_base_absolutes": inverse_absolutes.tolist(),
        "base_positions": positions.tolist(),
        "weights": weights.tolist(),
        "triangles": rng.integers(0, vertices, (triangles, 3)).tolist(),
        "is_mirrored": False,
    }


def make_input(model, npts, complicated=True, seed=1):
    rng = np.random.default_rng(seed)
    n_corr = len(model["triangles"]) if complicated else len(model["base_positions"])
    theta = rng.normal(0.0, 0.4, 26)
    return {
        "theta": theta.tolist(),
        "us": rng.random((npts, 2)).tolist() if complicated else [],
        "data": {
            "correspondences": rng.integers(0, n_corr, npts).tolist(),
            "points": rng.normal(0.0, 1.0, (npts, 3)).tolist(),
            "model": model,
        },
    }


def workloads():
    model = make_model(*BIG)
    return [
        (f"hand{i}_t26_c{c}", make_input(model, c, True, seed=i)) for i, c in enumerate(SIZES, 1)
    ]


def small_workloads():
    tiny = make_model(60, 40, seed=5)
    return [
        ("hand_tiny_complicated_c10", make_input(tiny, 10, True, seed=6)),
        ("hand_tiny_simple_c10", make_input(tiny, 10, False, seed=7)),
        ("hand_small_simple_c100", make_input(make_model(*SMALL, seed=8), 100, False, seed=9)),
        ("hand_tiny_mirrored_c10", make_input(dict(tiny, is_mirrored=True), 10, True, seed=10)),
    ]


# --- the reference -------------------------------------------------------------------------


def angle_axis_to_rotation(w):
    theta = np.sqrt(w @ w)
    if theta < 1e-4:
        return np.eye(3)
    x, y, z = w / theta
    s, c = np.sin(theta), np.cos(theta)
    return np.array(
        [
            [x * x + (1 - x * x) * c, x * y * (1 - c) - z * s, x * z * (1 - c) + y * s],
            [x * y * (1 - c) + z * s, y * y + (1 - y * y) * c, y * z * (1 - c) - x * s],
            [x * z * (1 - c) - y * s, y * z * (1 - c) + x * s, z * z + (1 - z * z) * c],
        ]
    )


def euler_to_rotation(a):
    tx, tz, ty = a
    Rx = np.array([[1, 0, 0], [0, np.cos(tx), -np.sin(tx)], [0, np.sin(tx), np.cos(tx)]])
    Ry = np.array([[np.cos(ty), 0, np.sin(ty)], [0, 1, 0], [-np.sin(ty), 0, np.cos(ty)]])
    Rz = np.array([[np.cos(tz), -np.sin(tz), 0], [np.sin(tz), np.cos(tz), 0], [0, 0, 1]])
    return Rz @ Ry @ Rx


def pose_table(theta):
    P = np.zeros((25, 3))
    P[0] = theta[0:3]
    P[1] = 1.0
    P[2] = theta[3:6]
    t, r = 6, 5
    for _finger in range(5):
        for j in range(3):
            P[r][0] = theta[t]
            t += 1
            if j == 0:
                P[r][1] = theta[t]
                t += 1
            r += 1
        r += 1
    return P


def residuals(theta, us, data):
    model = data["model"]
    rel = np.asarray(model["base_relatives"], dtype=float)
    inv = np.asarray(model["inverse_base_absolutes"], dtype=float)
    base = np.asarray(model["base_positions"], dtype=float)
    weights = np.asarray(model["weights"], dtype=float)
    P = pose_table(theta)
    absolutes = []
    pos = np.zeros((len(base), 3))
    for b in range(model["bone_count"]):
        T = np.eye(4)
        T[:3, :3] = euler_to_rotation(P[3 + b])
        relative = rel[b] @ T
        parent = model["parents"][b]
        absolutes.append(relative if parent == -1 else absolutes[parent] @ relative)
        M = absolutes[b] @ inv[b]
        pos += weights[:, b : b + 1] * (base @ M.T)[:, :3]
    if model["is_mirrored"]:
        pos[:, 0] = -pos[:, 0]
    G = angle_axis_to_rotation(P[0]) * P[1]
    pos = pos @ G.T + P[2]
    corr = np.asarray(data["correspondences"])
    points = np.asarray(data["points"], dtype=float)
    if len(us) == 0:
        hit = pos[corr]
    else:
        tri = np.asarray(model["triangles"])[corr]
        u = np.asarray(us, dtype=float)
        hit = (
            u[:, :1] * pos[tri[:, 0]]
            + u[:, 1:] * pos[tri[:, 1]]
            + (1 - u[:, :1] - u[:, 1:]) * pos[tri[:, 2]]
        )
    return (points - hit).ravel()


def reference(function, input, h=1e-6):
    theta = np.asarray(input["theta"], dtype=float)
    us = np.asarray(input["us"], dtype=float)
    data = input["data"]
    if function == "objective":
        return [float(v) for v in residuals(theta, us, data)]
    columns = []
    if len(us):
        for k in range(2):
            e = np.zeros_like(us)
            e[:, k] = h
            d = (residuals(theta, us + e, data) - residuals(theta, us - e, data)) / (2 * h)
            columns.append(d)
    for k in range(26):
        e = np.zeros(26)
        e[k] = h
        columns.append((residuals(theta + e, us, data) - residuals(theta - e, us, data)) / (2 * h))
    J = np.stack(columns, axis=1)
    return [[float(v) for v in row] for row in J]
