"""GradBench `ht`: hand tracking, a dense Jacobian (SPEC §8.5).

Input: `theta` (26 pose parameters), `us` (npts barycentric pairs, or [] in the simple variant)
and `data`: `correspondences`, `points` (npts × 3) and the hand `model` (22 bones with
`parents`, `base_relatives` and `inverse_base_absolutes` 4 × 4 matrices, homogeneous
`base_positions` V × 4, skinning `weights` V × 22, `triangles` T × 3, `is_mirrored`).

The pose table P (25 × 3) holds the global rotation theta[0:3] (angle-axis), the scale (1, 1, 1),
the translation theta[3:6] and the Euler angles of every bone (the finger joints from
theta[6:]). Bone b's transform is its base relative times the Euler rotation, chained to its
parent's; M_b = absolute_b · inverse_base_absolute_b. Each vertex is skinned,
pos_v = Σ_b weights[v, b] (M_b · base_position_v)[0:3], then rotated globally and translated.

    simple:       err[3i + j] = points[i, j] − pos[corr[i], j]
    complicated:  err[3i + j] = points[i, j] − (u0 pos_a + u1 pos_b + (1 − u0 − u1) pos_c)[j],
                  (a, b, c) = triangles[corr[i]], (u0, u1) = us[i]

`objective` answers err (3·npts); `jacobian` the 3·npts rows of ∂err/∂theta (26 columns), in the
complicated variant preceded by the two columns ∂err[3i + j]/∂us[i][0], ∂err[3i + j]/∂us[i][1].

The objective is the composition of `pose_transforms` (theta → the posed skeleton: the loop
over bones with the parent chain, the rotation matrices built element by element, the branch on
the norm) and the residuals of the skinned vertices. Every derivative is symgrad's forward mode:
of the skeleton per theta (`jacfwd`, its loop and branches keep symgrad from batching the 26
tangents), then of the residuals along those 26 skeleton tangents in one batched pass (`jacfwd`),
and along a common shift of every us[i] (2 tangents; err_i depends on us[i] only, so this
gives each residual's own entries of the block-diagonal us Jacobian). See `jacobian`.
"""

import numpy as np
from objectives.backend import BACKEND

import symgrad


def angle_axis_to_rotation_matrix(angle_axis):
    norm = np.sqrt(np.sum(angle_axis * angle_axis))
    if norm < 1e-4:
        return np.eye(3)
    x = angle_axis[0] / norm
    y = angle_axis[1] / norm
    z = angle_axis[2] / norm
    s = np.sin(norm)
    c = np.cos(norm)
    R = np.eye(3)
    R[0, 0] = x * x + (1 - x * x) * c
    R[0, 1] = x * y * (1 - c) - z * s
    R[0, 2] = x * z * (1 - c) + y * s
    R[1, 0] = x * y * (1 - c) + z * s
    R[1, 1] = y * y + (1 - y * y) * c
    R[1, 2] = y * z * (1 - c) - x * s
    R[2, 0] = x * z * (1 - c) - y * s
    R[2, 1] = z * y * (1 - c) + x * s
    R[2, 2] = z * z + (1 - z * z) * c
    return R


def euler_angles_to_rotation_matrices(angles):
    """R = Rz(tz) Ry(ty) Rx(tx) for each row (tx, tz, ty) of angles (one row per bone)."""
    n = angles.shape[0]
    tx = angles[:, 0]
    ty = angles[:, 2]
    tz = angles[:, 1]
    Rx = np.zeros((n, 3, 3))
    Rx[:, 0, 0] = 1.0
    Rx[:, 1, 1] = np.cos(tx)
    Rx[:, 2, 1] = np.sin(tx)
    Rx[:, 1, 2] = -np.sin(tx)
    Rx[:, 2, 2] = np.cos(tx)
    Ry = np.zeros((n, 3, 3))
    Ry[:, 0, 0] = np.cos(ty)
    Ry[:, 0, 2] = np.sin(ty)
    Ry[:, 2, 0] = -np.sin(ty)
    Ry[:, 1, 1] = 1.0
    Ry[:, 2, 2] = np.cos(ty)
    Rz = np.zeros((n, 3, 3))
    Rz[:, 0, 0] = np.cos(tz)
    Rz[:, 1, 0] = np.sin(tz)
    Rz[:, 0, 1] = -np.sin(tz)
    Rz[:, 1, 1] = np.cos(tz)
    Rz[:, 2, 2] = 1.0
    return Rz @ Ry @ Rx


def to_pose_params(theta, n_bones):
    pose = np.zeros((n_bones + 3, 3))
    pose[0] = theta[0:3]
    pose[1] = np.ones(3)
    pose[2] = theta[3:6]
    i_theta = 6
    i_pose = 5
    for _finger in range(5):
        for joint in range(3):
            pose[i_pose, 0] = theta[i_theta]
            i_theta += 1
            if joint == 0:
                pose[i_pose, 1] = theta[i_theta]
                i_theta += 1
            i_pose += 1
        i_pose += 1
    return pose


def pose_transforms(theta, parents, base_relatives, inverse_base_absolutes):
    """The posed skeleton, flat: each bone's M_b (its top 3 × 4), then G (3 × 3), then the
    global translation."""
    n_bones = base_relatives.shape[0]
    pose = to_pose_params(theta, n_bones)
    T = np.zeros((n_bones, 4, 4))
    T[:, :3, :3] = euler_angles_to_rotation_matrices(pose[3:])
    T[:, 3, 3] = 1.0
    relatives = base_relatives @ T
    absolutes = np.zeros((n_bones, 4, 4))
    for b in range(n_bones):
        if parents[b] == -1:
            absolutes[b] = relatives[b]
        else:
            absolutes[b] = absolutes[parents[b]] @ relatives[b]
    transforms = absolutes @ inverse_base_absolutes
    G = angle_axis_to_rotation_matrix(pose[0]) * pose[1]
    return np.concatenate([np.ravel(transforms[:, :3, :]), np.ravel(G), pose[2]])


def make_residuals(is_mirrored):
    """The residuals as functions of the posed skeleton (`pose_transforms`), for a model
    mirrored or not (the flag is a constant of the model)."""

    def skinned_positions(posed, weighted):
        n_bones = weighted.shape[1] // 4
        transforms = np.reshape(posed[: 12 * n_bones], (n_bones, 3, 4))
        G = np.reshape(posed[12 * n_bones : 12 * n_bones + 9], (3, 3))
        # pos_v = Σ_b weights[v, b] (M_b x_v) = Σ_b Σ_j (weights[v, b] x_v[j]) M_b[:, j]: the
        # weighted vertices times the bones' transform columns, one matrix product. (The
        # einsum "vb,bij,vj->vi" of weights, transforms and base positions is the same sum, and
        # symgrad's jacfwd batches it too, but its 26 tangents took 5.2 ms against 0.27 ms at
        # 100 points, 33 against 28 ms at 10^5, as each multiplies out every bone's weights.)
        columns = np.reshape(np.transpose(transforms, (0, 2, 1)), (4 * n_bones, 3))
        positions = weighted @ columns
        if is_mirrored:
            positions[:, 0] = -positions[:, 0]
        return positions @ G.T + posed[12 * n_bones + 9 :]

    def residuals(posed, us, correspondences, points, triangles, weighted):
        positions = skinned_positions(posed, weighted)
        corner = triangles[correspondences]
        u0 = us[:, 0:1]
        u1 = us[:, 1:2]
        hit = (
            u0 * positions[corner[:, 0]]
            + u1 * positions[corner[:, 1]]
            + (1.0 - u0 - u1) * positions[corner[:, 2]]
        )
        return np.ravel(points - hit)

    def residuals_simple(posed, correspondences, points, weighted):
        positions = skinned_positions(posed, weighted)
        return np.ravel(points - positions[correspondences])

    # The Jacobian's columns through the posed skeleton (see `jacobian`): the residuals at the
    # skeleton posed0 + dposed_dtheta @ dtheta, and at us + dus.
    def along_theta(
        dtheta, posed0, dposed_dtheta, us, correspondences, points, triangles, weighted
    ):
        return residuals(
            posed0 + dposed_dtheta @ dtheta, us, correspondences, points, triangles, weighted
        )

    def along_theta_simple(dtheta, posed0, dposed_dtheta, correspondences, points, weighted):
        return residuals_simple(posed0 + dposed_dtheta @ dtheta, correspondences, points, weighted)

    def along_us(dus, posed0, us, correspondences, points, triangles, weighted):
        return residuals(posed0, us + dus, correspondences, points, triangles, weighted)

    return {
        "residuals": residuals,
        "residuals_simple": residuals_simple,
        "jac_theta": symgrad.jacfwd(along_theta, backend=BACKEND),
        "jac_theta_simple": symgrad.jacfwd(along_theta_simple, backend=BACKEND),
        "jac_us": symgrad.jacfwd(along_us, backend=BACKEND),
    }


_MODEL = {flag: make_residuals(flag) for flag in (False, True)}
pose_jacobian = symgrad.jacfwd(pose_transforms, backend=BACKEND)
pose_jacobian.__doc__ = """d posed / d theta (posed size x 26) by symgrad's forward mode, a
column per theta: the skeleton's loop and branches keep its 26 tangents from being batched into
one pass. On the Numba backend each pass runs the loop over the bones compiled."""


def weighted_vertices(base_positions, weights):
    """(V, 4 · bones): weights[v, b] · base_positions[v, j] at column 4 b + j."""
    n_vertices, n_bones = weights.shape
    return np.reshape(weights[:, :, None] * base_positions[:, None, :], (n_vertices, 4 * n_bones))


def objective(theta, us, skeleton, data, skin, is_mirrored):
    f = _MODEL[is_mirrored]
    posed = pose_transforms(theta, *skeleton)
    weighted = weighted_vertices(*skin)
    if us is None:
        return f["residuals_simple"](posed, *data, weighted)
    return f["residuals"](posed, us, *data, weighted)


def jacobian(theta, us, skeleton, data, skin, is_mirrored):
    """d residuals / d (us, theta). The skeleton's loops and branches keep its forward mode to
    one pass per theta (`pose_jacobian`), but it is small (22 bones); the skinning and
    the residuals, which have neither, take the 26 tangents dposed_dtheta of the skeleton in one
    batched forward pass (jacfwd of the residuals along them). The us columns: residual i
    depends on us[i] alone, so its derivative along a shift of every us[i] by the same dus is
    its own entry of the block-diagonal Jacobian (jacfwd along dus, 2 tangents)."""
    f = _MODEL[is_mirrored]
    posed0 = pose_transforms(theta, *skeleton)
    dposed_dtheta = pose_jacobian(theta, *skeleton)
    weighted = weighted_vertices(*skin)
    if us is None:
        return f["jac_theta_simple"](np.zeros(26), posed0, dposed_dtheta, *data, weighted)
    J = np.empty((3 * us.shape[0], 28))
    J[:, :2] = f["jac_us"](np.zeros(2), posed0, us, *data, weighted)
    J[:, 2:] = f["jac_theta"](np.zeros(26), posed0, dposed_dtheta, us, *data, weighted)
    return J


FUNCTIONS = {"objective": objective, "jacobian": jacobian}

_warm = set()


def _warm_up(simple, is_mirrored):
    """Compile the Jacobian's transforms on a tiny model (untimed: called from `prepare`;
    GradBench lets a tool compile before the timed calls)."""
    if (simple, is_mirrored) in _warm:
        return
    rng = np.random.default_rng(0)
    n_bones = 22
    parents = np.array([-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19, 0])
    eye = np.tile(np.eye(4), (n_bones, 1, 1))
    skeleton = (parents, eye, eye)
    skin = (np.ones((4, 4)), np.full((4, n_bones), 1.0 / n_bones))
    corr, points = np.array([0, 1]), rng.standard_normal((2, 3))
    if simple:
        jacobian(rng.standard_normal(26), None, skeleton, (corr, points), skin, is_mirrored)
    else:
        data = (corr, points, np.array([[0, 1, 2], [1, 2, 3]]))
        jacobian(rng.standard_normal(26), rng.random((2, 2)), skeleton, data, skin, is_mirrored)
    _warm.add((simple, is_mirrored))


def prepare(function, input):
    data = input["data"]
    model = data["model"]
    theta = np.asarray(input["theta"], dtype=np.float64)
    us = np.asarray(input["us"], dtype=np.float64).reshape(-1, 2) if len(input["us"]) else None
    skeleton = (
        np.asarray(model["parents"], dtype=np.int64),
        np.asarray(model["base_relatives"], dtype=np.float64),
        np.asarray(model["inverse_base_absolutes"], dtype=np.float64),
    )
    corr = np.asarray(data["correspondences"], dtype=np.int64)
    points = np.asarray(data["points"], dtype=np.float64)
    skin = (
        np.asarray(model["base_positions"], dtype=np.float64),
        np.asarray(model["weights"], dtype=np.float64),
    )
    mirrored = bool(model["is_mirrored"])
    if function == "jacobian":
        _warm_up(us is None, mirrored)
    if us is None:
        return theta, None, skeleton, (corr, points), skin, mirrored
    triangles = np.asarray(model["triangles"], dtype=np.int64)
    return theta, us, skeleton, (corr, points, triangles), skin, mirrored


def output(function, value):
    if function == "objective":
        return [float(v) for v in value]
    return value.tolist()
