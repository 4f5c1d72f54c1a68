"""The PyTorch tool's objectives, one module per eval (FUNCTIONS, prepare, output as in
`../../objectives`), and their shared helpers `tensor` and `values`.

Inputs that a derivative is taken with respect to are leaf tensors with `requires_grad`, made
in `prepare` (untimed); each timed derivative call builds its graph and runs `torch.autograd`."""

import numpy as np
import torch


def tensor(value, requires_grad: bool = False) -> torch.Tensor:
    """A JSON list as a float64 tensor."""
    array = np.asarray(value, dtype=np.float64)
    return torch.from_numpy(array).requires_grad_(requires_grad)


def values(result):
    """A tensor's values as JSON (a float for a 0-d tensor, nested lists otherwise)."""
    return result.detach().numpy().tolist()
