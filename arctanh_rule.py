from symgrad.rules.elementwise import unary

unary("arctanh", lambda g, x: g / (1 - x**2), lambda sp, x: sp.atanh(x), "v / (1 − x²)", "unit")
