"""The symgrad backend the objectives' derivatives use: `numpy` (the default) or `numba`, as
`tool.py --backend` chose (it sets `SYMGRAD_GRADBENCH_BACKEND` before any objective imports).
The Jacobian transforms (`jacfwd`) always use NumPy's: symgrad does not compile them yet."""

import os

BACKEND = os.environ.get("SYMGRAD_GRADBENCH_BACKEND", "numpy")
