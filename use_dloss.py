import numpy as np
from dloss import grad_loss

rng = np.random.default_rng(0)
W, b = rng.standard_normal((3, 4)), rng.standard_normal(3)
x, y = rng.standard_normal(4), rng.standard_normal(3)
dW, db = grad_loss(W, b, x, y)
print(db)
