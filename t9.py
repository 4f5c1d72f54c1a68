import numpy as np, symgrad, warnings, sys
warnings.simplefilter("ignore")
from harness import *
import progs7 as P
x = np.array([0.3, -0.7, 1.1, 0.2])
for name in ("sim", "sim2", "sim_jvp", "sim_vag", "sim_loop_inner"):
    scalar_checks(name, getattr(P, name), (x,), 0)
print("checks", COUNT[0], "fails", len(FAILS))
