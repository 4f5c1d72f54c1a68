import numpy as np
import symgrad

def phi(x):
    return np.sum(x ** 4) * 0.25 + np.sum(np.sin(x))

dphi = symgrad.grad(phi)

def sim(x0):
    x = x0
    v = np.zeros_like(x0)
    for k in range(3):
        v = v - 0.1 * symgrad.grad(phi)(x)
        x = x + 0.1 * v
    return np.sum(x ** 2)

def sim2(x0):
    x = x0
    for k in range(3):
        g = dphi(x)
        if np.sum(g) > 0:
            x = x - 0.1 * g
        else:
            x = x + 0.05 * g
    return np.sum(np.cos(x))

def sim_jvp(x0):
    x = x0
    for k in range(2):
        _, d = symgrad.jvp(phi, (x,), (np.ones_like(x),))
        x = x - 0.1 * d * x
    return np.sum(x ** 2)

def sim_vag(x0):
    x = x0
    tot = 0.0
    for k in range(2):
        val, g = symgrad.value_and_grad(phi)(x)
        tot = tot + val
        x = x - 0.1 * g
    return tot + np.sum(x)

def inner_loop_phi(x):
    s = 0.0
    for i in range(len(x)):
        s = s + np.cos(x[i]) * x[i] ** 2
    return s

def sim_loop_inner(x0):
    x = x0
    for k in range(2):
        x = x - 0.1 * symgrad.grad(inner_loop_phi)(x)
    return np.sum(x ** 3)
