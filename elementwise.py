# symgrad/rules/elementwise.py
unary("tanh", lambda g, ans: g * (1 - ans**2), lambda sp, x: sp.tanh(x), "v ⊙ (1 − tanh² x)")
