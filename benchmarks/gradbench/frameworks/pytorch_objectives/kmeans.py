"""kmeans (SPEC §8.6): the k-means cost and dir = J / H, J its gradient with respect to the
centroids (`torch.autograd.grad` with `create_graph`) and H its Hessian's diagonal, the
vector-Hessian product with ones (the Hessian is diagonal): nested reverse mode.

Squared distances are expanded, |P_i|^2 - 2 P_i . C_j + |C_j|^2, so the N x K matrix comes from
one matrix product rather than an N x K x D broadcast."""

import torch

from pytorch_objectives import tensor, values


def cost(points, centroids):
    squared = (
        torch.sum(points**2, dim=1)[:, None]
        - 2.0 * points @ centroids.T
        + torch.sum(centroids**2, dim=1)[None, :]
    )
    return torch.sum(torch.min(squared, dim=1).values)


def direction(points, centroids):
    (J,) = torch.autograd.grad(cost(points, centroids), centroids, create_graph=True)
    (H,) = torch.autograd.grad(J, centroids, grad_outputs=torch.ones_like(J))
    return J.detach() / H


FUNCTIONS = {"cost": cost, "dir": direction}


def prepare(function, input):
    points = tensor(input["points"])
    centroids = tensor(input["centroids"]).reshape(-1, points.shape[-1])
    return points, centroids.requires_grad_(function == "dir")


def output(function, value):
    return values(value)
