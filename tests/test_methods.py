"""Bound methods: self's attributes are constants, its helpers inlined."""

import enum
import io
from dataclasses import dataclass

import numpy as np
import pytest

import symgrad


class Model:
    def __init__(self, W, b):
        self.W, self.b, self.name, self.scale = W, b, "m", 2.0

    def predict(self, X):
        return self.act(X @ self.W + self.b) * self.scale

    def loss(self, X, y):
        return np.mean((self.predict(X) - y) ** 2) + self.penalty()

    def penalty(self):
        return 0.01 * np.sum(self.W**2)

    @staticmethod
    def act(z):
        return np.tanh(z)

    @classmethod
    def unit(cls, v):
        return v / np.sqrt(np.sum(v**2))

    def loss_of(self, W, X):
        return np.sum(self.unit(X @ W)) + np.sum(self.b)


RNG = np.random.default_rng(0)
MODEL = Model(RNG.standard_normal((3, 2)), RNG.standard_normal(2))
X, Y = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 2))


def test_a_bound_method_differentiates_with_its_self_as_constants():
    symgrad.check_grads(MODEL.loss, (X, Y), (0,))
    symgrad.check_grads(MODEL.loss_of, (MODEL.W, X), (0, 1))
    value, g = symgrad.value_and_grad(MODEL.loss_of, argnums=1)(MODEL.W, X)
    assert value == pytest.approx(MODEL.loss_of(MODEL.W, X), rel=1e-12) and g.shape == X.shape


def test_a_bound_methods_gradient_differentiates_again():
    # hessian(MODEL.loss_of) and the transforms of grad(MODEL.loss_of) bound the gradient's
    # arguments without self ("missing a required argument")
    x, tangent = X[0], RNG.standard_normal(3)
    symgrad.check_grads(MODEL.loss_of, (MODEL.W, x), 1, order=2, modes=("rev", "fwd"))
    hessian = symgrad.hessian(MODEL.loss_of, argnums=1)(MODEL.W, x)
    gradient = symgrad.grad(MODEL.loss_of, argnums=1)
    _, along = symgrad.jvp(gradient, (MODEL.W, x), (np.zeros_like(MODEL.W), tangent))
    np.testing.assert_allclose(hessian @ tangent, along, rtol=1e-10)
    np.testing.assert_allclose(hessian, hessian.T, rtol=1e-10)


def test_a_plain_object_is_not_differentiated_and_says_how():
    with pytest.raises(symgrad.NotDifferentiableError, match="dataclass"):
        symgrad.grad(Model.loss)(MODEL, X, Y)


@dataclass
class Layer:
    W: np.ndarray
    b: np.ndarray

    def __call__(self, x):
        return np.tanh(self.W @ x + self.b)


def through_layers(layers, x):
    for layer in layers:
        x = layer(x)
    return np.sum(x**2)


def test_a_callable_object_is_its_call_method():
    # layer(x) of a dataclass with __call__ crashed (TypeError: unhashable type) where its
    # method called by name worked
    layers = [Layer(RNG.standard_normal((3, 3)), RNG.standard_normal(3)) for _ in range(2)]
    x = RNG.standard_normal(3)
    value, (grads, _) = symgrad.value_and_grad(through_layers, argnums=(0, 1))(layers, x)
    assert value == pytest.approx(through_layers(layers, x), rel=1e-12)
    h = 1e-6
    for k, layer in enumerate(layers):
        for idx in np.ndindex(3, 3):
            layer.W[idx] += h
            up = through_layers(layers, x)
            layer.W[idx] -= 2 * h
            down = through_layers(layers, x)
            layer.W[idx] += h
            assert grads[k].W[idx] == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-9)


class Scaled:
    scale = 2.0  # a class attribute, read through self

    def __init__(self, W):
        self.W = W

    @property
    def doubled(self):
        return self.W * 2.0

    def loss(self, x):
        return np.sum(self.scale * x**2) + np.sum(self.doubled * x)


def test_a_property_is_its_getter_and_a_class_attribute_is_read_again():
    # a property read inside a method raised an internal RuntimeError; a class attribute
    # changed after the first call kept the gradient of its old value
    W, x = np.array([1.0, 2.0, 3.0]), np.array([0.3, -1.2, 0.8])
    model = Scaled(W)
    g = symgrad.grad(model.loss)
    np.testing.assert_allclose(g(x), 2 * 2.0 * x + 2 * W)
    try:
        Scaled.scale = 6.0
        np.testing.assert_allclose(g(x), 2 * 6.0 * x + 2 * W)
        np.testing.assert_allclose(symgrad.grad(Scaled(W).loss)(x), 2 * 6.0 * x + 2 * W)
    finally:
        Scaled.scale = 2.0


def test_a_methods_gradient_saves_the_module_of_its_objects_attributes(tmp_path):
    # save() lowered self as an array ("the array attribute .scale is not supported")
    model = Scaled(np.array([1.0, 2.0, 3.0]))
    g = symgrad.grad(model.loss)
    with pytest.raises(symgrad.SymgradError, match="Call it once first"):
        g.save(str(tmp_path / "before.py"))
    x = np.array([0.3, -1.2, 0.8])
    g(x)
    source = g.save(str(tmp_path / "after.py"))
    assert "def grad_loss(W, x):" in source, source


class _Mode(enum.IntEnum):
    A = 1
    B = 2


class _Meters(float):
    pass


class _Plain:
    """A plain object holding what symgrad cannot make anew (an IntEnum, a float of a
    subclass, a C type's object): those stay leaves, read as constants."""

    def __init__(self, W):
        self.W, self.mode, self.scale, self.log = W, _Mode.B, _Meters(2.5), io.StringIO()

    def __call__(self, x):
        return np.sum(np.tanh(self.W @ x)) * self.scale * int(self.mode)


@dataclass
class _Scaled:
    W: np.ndarray
    scale = 1.0  # (a class attribute: the instance's own shadows it)

    def __call__(self, x):
        return np.sum(self.W @ x) * self.scale


def _through(m, x):
    return m(x)


def test_objects_symgrad_cannot_make_anew_stay_leaves():
    # object.__new__(_Mode) is not safe: a TypeError reached the user
    m, x = _Plain(np.array([[0.5, 0.1], [0.2, 0.4]])), np.array([0.3, -0.7])
    assert symgrad.jit(_through)(m, x) == pytest.approx(_through(m, x), rel=1e-12)
    symgrad.check_grads(_through, (m, x), argnums=1)


def test_a_dataclass_instances_own_attribute_shadows_its_class_attribute():
    # the dataclass was rebuilt from its fields alone: self.scale read the class's 1.0
    d = _Scaled(np.eye(2))
    d.scale = 3.0
    x = np.array([0.3, -0.7])
    assert symgrad.jit(_through)(d, x) == pytest.approx(_through(d, x), rel=1e-12)
    assert np.allclose(symgrad.grad(_through, argnums=1)(d, x), [3.0, 3.0])


def test_a_container_holding_a_plain_object_is_not_differentiated():
    with pytest.raises(symgrad.NotDifferentiableError, match="dict holding a _Plain"):
        symgrad.grad(_through_dict, argnums=0)({"m": _Plain(np.eye(2))}, np.ones(2))


def _through_dict(d, x):
    return d["m"](x)


def _by_mode(x, c):
    if c == _Mode.A:
        return np.sum(x**2) * c
    return np.sum(x) * _Mode.B


def test_an_int_enums_member_is_written_as_its_int():
    # its repr `<_Mode.B: 2>` was written into the module: a SyntaxError reached the user
    x = np.array([0.3, -0.7])
    for c in _Mode:
        assert symgrad.jit(_by_mode)(x, c) == pytest.approx(_by_mode(x, c), rel=1e-12)
        symgrad.check_grads(_by_mode, (x, c), argnums=0)


class _Base:
    def act(self, z):
        return np.tanh(z)

    def loss(self, x):
        return np.sum(self.act(x * self.k))


class _Child(_Base):
    def __init__(self, k):
        self.k = k

    def act(self, z):
        return np.sin(z) + super().act(z)


def _cos_act(self, z):
    return np.cos(z)


def test_super_in_a_method_inlines_the_parents():
    # "cannot compile a call to super"
    c, x = _Child(1.3), np.array([0.3, -0.4, 0.5])
    assert symgrad.jit(c.loss)(x) == pytest.approx(c.loss(x), rel=1e-12)
    symgrad.check_grads(c.loss, (x,))
    old = _Base.act
    try:  # the parent's method changed: compiled again
        _Base.act = _cos_act
        assert symgrad.jit(c.loss)(x) == pytest.approx(c.loss(x), rel=1e-12)
    finally:
        _Base.act = old


class _Private:
    def __init__(self, W):
        self.__W = W

    def __call__(self, x):
        return np.sum(np.tanh(self.__W @ x))


def test_a_methods_private_names_are_its_classs():
    # `self.__W` is `self._Private__W` in the code: "the file changed after the function was
    # defined", read without the class
    m, x = _Private(np.array([[0.5, 0.1], [0.2, 0.4]])), np.array([0.3, -0.7])
    assert symgrad.jit(_through)(m, x) == pytest.approx(_through(m, x), rel=1e-12)
    symgrad.check_grads(_through, (m, x), argnums=1)


class _Scaled2(_Base):
    @property
    def scale(self):
        return self.W * 2.0


class _Kid(_Scaled2):
    def __init__(self, W, k):
        self.W, self.k = W, k

    def loss(self, x):
        return np.sum(super().scale * x) + np.sum(self.__helper(x))

    def __helper(self, x, __a=2.0):  # (a private method and parameter)
        return x * __a * self.k


def test_a_parents_property_through_super_and_private_parameters():
    # super().scale ran the getter while lowering (baked in; or RuntimeError of arithmetic on
    # the frontend's values); a private parameter read a global of its mangled name
    k, x = _Kid(np.array([1.0, 2.0, 3.0]), 1.5), np.array([0.3, -0.4, 0.5])
    assert symgrad.jit(k.loss)(x) == pytest.approx(k.loss(x), rel=1e-12)
    symgrad.check_grads(k.loss, (x,))
    k.W = k.W * 3.0
    assert symgrad.jit(k.loss)(x) == pytest.approx(k.loss(x), rel=1e-12)


class Module:  # PyTorch's way: calling a module runs its forward
    def __call__(self, x):
        return self.forward(x)


class Dense(Module):
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        return np.tanh(x @ self.W + self.b)


class Sequence(Module):
    def __init__(self, *layers):
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class Chain(Module):  # a module holding itself: calls that would never end
    def forward(self, x):
        return self.next(x) if x.ndim > 5 else x

    def __init__(self):
        self.next = self


def _model_loss(x, model):
    return np.sum(model(x) ** 2)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_modules_calling_modules_through_one_call_method(backend):
    """Sequence.__call__ runs Sequence.forward, which calls each layer's (the same)
    Module.__call__: refused as a recursive call, though each ran on another object."""
    pytest.importorskip(backend)
    inner = Sequence(Dense(RNG.standard_normal((3, 4)), RNG.standard_normal(4)))
    model = Sequence(inner, Dense(RNG.standard_normal((4, 2)), RNG.standard_normal(2)))
    symgrad.check_grads(_model_loss, (X, model), 0, backend=backend)
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="recursive call to Module.__call__"):
        symgrad.grad(_model_loss)(X, Chain())


class Activated:
    act = "tanh"  # the NumPy function it applies, by name

    def __init__(self, W):
        self.W = W

    def loss(self, x):
        act = getattr(np, self.act)
        return np.sum(act(self.W * x)) * getattr(x, "shape")[0]  # noqa: B009 (the call is the test)


def test_getattr_of_a_constant_name_is_the_attribute():
    model = Activated(RNG.standard_normal(3))
    x = RNG.standard_normal(3)
    symgrad.check_grads(model.loss, (x,), 0)
    Activated.act = "sin"  # read again: the gradient is compiled anew
    try:
        assert np.allclose(symgrad.grad(model.loss)(x), 3 * model.W * np.cos(model.W * x))
    finally:
        Activated.act = "tanh"


class Shifted:
    def __init__(self, k):
        self.k = k

    def forward(self, x, shift=0.0):
        return np.sum((x + shift) ** 2) * self.k


def penalised(params, x, reg=0.1):
    return np.sum(params["w"] * x) + reg * np.sum(params["w"] ** 2)


def test_a_saved_module_keeps_the_defaults_after_a_container(tmp_path):
    # a method's (self a container) and a function's of a dict dropped them: `(x, shift)`,
    # called as the method is, `(x)`, raised "missing 1 required positional argument"
    x = RNG.standard_normal(3)
    for compiled, args, want in (
        (symgrad.value_and_grad(Shifted(3).forward), (x,), "(x, shift=0.0)"),
        (symgrad.grad(penalised), ({"w": x * 2}, x), "(w, x, reg=0.1)"),
    ):
        compiled(*args)
        path = tmp_path / f"{compiled.__name__}.py"
        source = compiled.save(str(path))
        assert f"def {compiled.__name__}{want}:" in source


OBJECTS = """
from dataclasses import dataclass


class Normal:
    def __init__(self, mu, sigma):
        self.mu = mu
        self.sigma = sigma

    def log_prob(self, x):
        z = (x - self.mu) / self.sigma
        return -0.5 * z ** 2 - np.log(self.sigma) - 0.5 * np.log(2 * np.pi)


class Scaled(Normal):
    def __init__(self, mu, sigma, k):
        super().__init__(mu, sigma * k)
        self.k = k


class Dense:
    def __init__(self, W, b, act=np.tanh):
        self.W, self.b = W, b
        self.act = act

    def __call__(self, x):
        return self.act(x @ self.W + self.b)


class Empty:
    pass


class Early:  # (a bare return was "does not return a value on every path")
    def __init__(self, x, flag):
        self.x = x
        if flag:
            return
        self.x = x * 2.0


def nll(mu, sigma, x):
    return -np.sum(Normal(mu, sigma).log_prob(x)) - np.sum(Scaled(mu, sigma, 1.5).log_prob(x))


def net(W, b, x):
    h = x
    for layer in [Dense(W, b), Dense(W.T, 0.0, act=np.sin)]:
        h = layer(h)
    box = Empty()
    box.v = h * 2.0
    other = box
    box.v = box.v + 1.0  # (every name holding the object sees it)
    return np.sum(other.v ** 2) + np.sum(Early(x, False).x) + np.sum(Early(x, True).x)


@dataclass(frozen=True)
class Frozen:
    v: float


class Tripled:
    def __init__(self, v):
        self.v = v

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value * 3)


def set_frozen(x):
    f = Frozen(x)
    f.v = x * 2.0
    return np.sum(f.v)


def set_tripled(x):
    return np.sum(Tripled(x).v)


def set_on_an_argument(d, x):
    d.mu = x
    return np.sum(d.mu)


def set_in_a_branch(mu, x):
    d = Normal(mu, 1.0)
    if np.sum(x) > 0:
        d.mu = mu * 2.0
    return np.sum(d.log_prob(x))
"""


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_an_object_of_a_plain_class_made_in_the_function(make_fn, backend):
    # (each was "cannot compile a call to Normal ... where its class is a dataclass")
    pytest.importorskip(backend)
    m = make_fn(OBJECTS)
    rng = np.random.default_rng(0)
    mu, sigma, x = rng.standard_normal(3), 1.0 + rng.random(3), rng.standard_normal(3)
    W, b = rng.standard_normal((3, 3)) * 0.5, rng.standard_normal(3)
    symgrad.check_grads(m.nll, (mu, sigma, x), (0, 1), modes=("rev", "fwd"), backend=backend)
    symgrad.check_grads(m.net, (W, b, x), (0, 1), modes=("rev", "fwd"), backend=backend)
    assert symgrad.jit(m.nll, backend=backend)(mu, sigma, x) == pytest.approx(
        m.nll(mu, sigma, x), rel=1e-12
    )


def test_setting_an_attribute_of_an_object_made_elsewhere_is_refused(make_fn):
    m = make_fn(OBJECTS)
    x = np.ones(3)
    for fn, args in ((m.set_on_an_argument, (m.Normal(x, 1.0), x)), (m.set_in_a_branch, (x, x))):
        with pytest.raises(symgrad.UnsupportedSyntaxError, match="attribute .mu of an object"):
            symgrad.grad(fn, argnums=1)(*args)
    # a frozen dataclass's (Python raises) and a class's own __setattr__ (it was skipped: 1.0
    # where Python's 3.0)
    for fn in (m.set_frozen, m.set_tripled):
        with pytest.raises(symgrad.UnsupportedSyntaxError, match="__setattr__ or __slots__"):
            symgrad.grad(fn)(x)


class Slotted:
    __slots__ = ("w",)

    def __init__(self, w):
        self.w = w

    def val(self, x):
        return np.sum(self.w * x**2)


def test_a_method_of_a_class_with_slots_is_refused():
    # (vars() of its self raised TypeError inside the compiler)
    with pytest.raises(symgrad.SymgradError, match="a class with __slots__"):
        symgrad.grad(Slotted(np.ones(3)).val)(np.ones(3))


class Doubling:
    def __init__(self, w):
        self.w = w

    def __getattribute__(self, name):
        value = object.__getattribute__(self, name)
        return value * 2.0 if name == "w" else value

    def val(self, x):
        return np.sum(self.w * x**2)


def _weighted(p, x):
    return np.sum(p.w * x**2)


def test_an_object_with_its_own_getattribute_is_refused():
    # (its code ran on the traced values: an internal RuntimeError)
    x = np.arange(3.0)
    for call in (
        lambda: symgrad.grad(_weighted, argnums=1)(Doubling(np.ones(3)), x),
        lambda: symgrad.grad(Doubling(np.ones(3)).val)(x),
    ):
        with pytest.raises(symgrad.SymgradError, match="its own __getattribute__"):
            call()


class Delegating:
    """A __getattr__ of a dict's items, raising KeyError for a name it lacks (NumPy's
    `dtype` too)."""

    def __init__(self, w):
        self.w, self._more = w, {"v": w}

    def __getattr__(self, name):
        return self.__dict__["_more"][name]


def test_an_object_with_a_getattr_is_read_by_its_own_attributes():
    # (a lookup of its dtype raised the KeyError of its __getattr__)
    x = np.arange(3.0)
    w = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(symgrad.grad(_weighted, argnums=1)(Delegating(w), x), 2 * w * x)

    def computed(p, x):
        return np.sum(p.v * x)

    with pytest.raises(symgrad.SymgradError, match="which its class's __getattr__ computes"):
        symgrad.grad(computed, argnums=1)(Delegating(w), x)
