"""The random-number machinery: right distributions, stable keys, CRN coupling."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.streams import (
    Streams,
    binomial_from_uniform,
    derive_keys,
    multinomial_from_uniforms,
    poisson_from_uniform,
)


def test_uniforms_depend_on_key_not_on_order():
    s = Streams(7)
    keys = np.array([5, 9, 11], dtype=np.uint64)
    a = s.uniform("route", 3, keys)
    b = s.uniform("route", 3, keys[::-1])[::-1]
    assert np.array_equal(a, b)
    assert not np.array_equal(a, s.uniform("route", 4, keys))
    assert not np.array_equal(a, s.uniform("hazard", 3, keys))
    assert not np.array_equal(a, Streams(8).uniform("route", 3, keys))


def test_single_stream_mode_advances_shared_state():
    s = Streams(7, "single")
    keys = np.arange(4, dtype=np.uint64)
    assert not np.array_equal(s.uniform("route", 3, keys), s.uniform("route", 3, keys))


@pytest.mark.parametrize("n,p", [(1, 0.3), (7, 0.5), (40, 0.02), (25, 0.97), (5000, 0.4)])
def test_binomial_matches_numpy_moments(n, p):
    u = Streams(1).uniform("x", 0, np.arange(200_000, dtype=np.uint64))
    x = binomial_from_uniform(np.full(u.size, n), np.full(u.size, p), u)
    assert x.min() >= 0 and x.max() <= n
    mean, var = n * p, n * p * (1 - p)
    assert abs(x.mean() - mean) < 5 * np.sqrt(var / u.size) + 1e-9
    assert abs(x.var() - var) < 0.03 * var + 1e-3


def test_binomial_is_monotone_in_p_for_common_uniforms():
    u = Streams(2).uniform("x", 0, np.arange(10_000, dtype=np.uint64))
    n = np.full(u.size, 30)
    lo, hi = binomial_from_uniform(n, np.full(u.size, 0.2), u), binomial_from_uniform(n, np.full(u.size, 0.25), u)
    assert (hi >= lo).all()


def test_poisson_mean():
    u = Streams(3).uniform("x", 0, np.arange(100_000, dtype=np.uint64))
    x = poisson_from_uniform(np.full(u.size, 12.5), u)
    assert abs(x.mean() - 12.5) < 0.1


@settings(max_examples=60, deadline=None)
@given(n=st.lists(st.integers(0, 500), min_size=1, max_size=20),
       w=st.lists(st.floats(0, 1), min_size=2, max_size=6))
def test_multinomial_conserves_people(n, w):
    w = np.array(w)
    if w.sum() == 0:
        w[0] = 1.0
    p = np.tile(w / w.sum(), (len(n), 1))
    keys = np.arange(len(n), dtype=np.uint64)
    u = Streams(4).uniform("m", 0, keys[:, None], np.arange(p.shape[1])[None, :])
    c = multinomial_from_uniforms(np.array(n), p, u)
    assert (c.sum(axis=1) == np.array(n)).all()
    assert (c[:, p[0] == 0] == 0).all()


def test_derived_keys_depend_on_lineage_only():
    a = derive_keys(np.array([1, 2], dtype=np.uint64), 10, 3)
    b = derive_keys(np.array([2, 1], dtype=np.uint64), 10, 3)[::-1]
    assert np.array_equal(a, b) and a[0] != a[1]
    assert not np.array_equal(a, derive_keys(np.array([1, 2], dtype=np.uint64), 11, 3))
