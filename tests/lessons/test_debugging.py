"""lessons.debugging: central differences against gradients worked out by hand."""

import numpy as np
import pytest

from lessons.debugging import numerical_gradient, relative_error


def test_gradient_of_a_quadratic_form_matches_the_formula():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    grad = numerical_gradient(lambda v: v @ A @ v, x)
    assert relative_error(grad, (A + A.T) @ x) < 1e-8


def test_gradient_of_log_sum_exp_is_softmax_for_a_matrix_input():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5))
    grad = numerical_gradient(lambda v: np.log(np.exp(v).sum()), x)
    expected = np.exp(x) / np.exp(x).sum()
    assert grad.shape == x.shape
    assert relative_error(grad, expected) < 1e-7


def test_a_wrong_derivative_is_caught():
    x = np.linspace(-2.0, 2.0, 7)
    grad = numerical_gradient(lambda v: np.sum(np.log1p(np.exp(v))), x)
    right = 1 / (1 + np.exp(-x))          # softplus' = sigmoid
    wrong = np.exp(x)                      # forgot to divide by 1 + e^x
    assert relative_error(grad, right) < 1e-8
    assert relative_error(grad, wrong) > 0.5


def test_input_is_restored():
    x = np.array([1.0, -2.0, 3.0])
    numerical_gradient(lambda v: np.sum(v ** 3), x)
    np.testing.assert_array_equal(x, [1.0, -2.0, 3.0])


def test_central_difference_error_shrinks_like_eps_squared():
    x = np.array([0.7])
    exact = np.cos(0.7)
    errors = [abs(numerical_gradient(lambda v: np.sin(v[0]), x, eps=e)[0] - exact)
              for e in (1e-2, 1e-3)]
    assert 50 < errors[0] / errors[1] < 200     # 10x smaller eps, ~100x smaller error


def test_float32_and_non_scalar_functions_are_refused():
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda v: v.sum(), np.ones(3, dtype=np.float32))
    with pytest.raises(ValueError, match="scalar"):
        numerical_gradient(lambda v: v * 2, np.ones(3))


def test_relative_error_is_scale_free_and_checks_shapes():
    a = np.array([1.0, 2.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(1e6 * a, 1e6 * (a + [0.0, 0.02])) == pytest.approx(0.02 / 2.02)
    with pytest.raises(ValueError, match="shapes differ"):
        relative_error(np.ones(2), np.ones(3))
