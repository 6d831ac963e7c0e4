"""Random numbers for the model: one stream per decision, read through stable keys.

Why: policy comparisons are far sharper on common random numbers (CRN). Every random
decision of the model (departures, route choice, hazards, outcomes, ...) draws its
uniforms from a stream that depends only on (run seed, decision, day) and is read at a
per-group key that is stable across scenarios (derived from lineage, not creation order).
A lever therefore changes the dice only of the groups it touches (Starsim's design,
Klein et al. 2024, arXiv:2409.02086).

The uniforms come from a counter-based hash (splitmix64 finaliser) of
(seed, decision, day, key, draw index), vectorised in numpy, so reading a stream costs
a few array operations and never advances any shared state.

``mode="single"`` draws the same distributions from one sequential numpy Generator
instead: the classic single-stream design, kept so that the variance reduction of CRN
can be measured (``random_numbers: single`` in a scenario).
"""

from __future__ import annotations

import zlib

import numpy as np

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO53 = 1.0 / 9007199254740992.0


def _mix_int(x: int) -> int:
    """splitmix64 finaliser on a Python int (scalars: stream ids)."""
    z = (x + _GOLDEN) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    z = x + np.uint64(_GOLDEN)
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def name_id(name: str) -> int:
    """A stable 32-bit id for a decision or label name (same across runs and machines)."""
    return zlib.crc32(name.encode("utf-8"))


def derive_keys(parent: np.ndarray | int, *parts: int) -> np.ndarray:
    """Keys of children derived from a parent key and integers (day, decision, branch).

    Used for split groups: the child's key depends on its lineage, not on the order
    in which rows were created, so the same split in two scenarios gets the same key.
    """
    z = np.asarray(parent, dtype=np.uint64)
    for p in parts:
        z = mix(z ^ np.asarray(p, dtype=np.uint64) * np.uint64(_GOLDEN) + np.uint64(1))
    return z


def to_uniform(z: np.ndarray) -> np.ndarray:
    """Map uint64 hashes to uniforms in (0, 1)."""
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) * _TWO53


class Streams:
    """The run's random numbers: ``uniform(decision, day, keys, draw)``.

    ``decision`` is a name (``"route"``, ``"hazard"``, ...); ``keys`` are the groups'
    stable keys; ``draw`` numbers several independent uniforms for the same key and day
    (the branches of a multinomial split, say).
    """

    def __init__(self, seed: int, mode: str = "common", rng: np.random.Generator | None = None):
        if mode not in ("common", "single"):
            raise ValueError(f"random_numbers must be 'common' or 'single', not {mode!r}")
        self.seed = int(seed)
        self.mode = mode
        self._base = _mix_int(self.seed & _MASK)
        self._decisions: dict[str, int] = {}
        self.rng = rng if rng is not None else np.random.default_rng(self.seed)

    def _stream(self, decision: str, day: int) -> int:
        d = self._decisions.get(decision)
        if d is None:
            d = self._decisions[decision] = _mix_int(self._base ^ name_id(decision))
        return _mix_int(d ^ ((day + 1) * _GOLDEN & _MASK))

    def uniform(self, decision: str, day: int, keys: np.ndarray, draw: int | np.ndarray = 0) -> np.ndarray:
        """One uniform per key (broadcast against ``draw``) from stream (seed, decision, day)."""
        keys = np.asarray(keys, dtype=np.uint64)
        if self.mode == "single":
            shape = np.broadcast_shapes(keys.shape, np.shape(draw))
            return self.rng.random(shape)
        s = np.uint64(self._stream(decision, day))
        z = mix(keys ^ s)
        if not (np.isscalar(draw) and draw == 0):
            z = mix(z + np.asarray(draw, dtype=np.uint64) * np.uint64(_GOLDEN))
        return to_uniform(z)


def binomial_from_uniform(n: np.ndarray, p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Binomial(n, p) draws by inverting the CDF at the uniforms ``u``.

    Exact (not an approximation): the k-th term of the pmf is built by the recurrence
    pmf(k) = pmf(k-1) * (n-k+1)/k * p/(1-p), only for the draws not yet resolved, so
    the usual case (small groups, small hazards) resolves in one or two passes.
    Monotone in ``u`` and in ``p``: with common random numbers a small change of p
    changes few draws, and by little. Large n*p*(1-p) (over 400) uses the normal
    quantile with continuity correction, whose error is far below sampling noise there.
    """
    n = np.asarray(n, dtype=np.int64)
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    u = np.asarray(u, dtype=np.float64)
    n, p, u = np.broadcast_arrays(n, p, u)
    out = np.zeros(n.shape, dtype=np.int64)
    if out.size == 0:
        return out
    full = p >= 1.0
    out[full] = n[full]
    var = n * p * (1.0 - p)
    big = (var > 400.0) & ~full
    if big.any():
        from scipy.special import ndtri

        x = np.floor(n[big] * p[big] + np.sqrt(var[big]) * ndtri(u[big]) + 0.5)
        out[big] = np.clip(x, 0, n[big]).astype(np.int64)
    todo = np.flatnonzero((n > 0) & (p > 0.0) & ~full & ~big)
    if todo.size == 0:
        return out
    nn = n[todo].astype(np.float64)
    pp = p[todo]
    uu = u[todo]
    q = 1.0 - pp
    pmf = np.exp(nn * np.log1p(-pp))
    cdf = pmf.copy()
    k = 0
    odds = pp / q
    while todo.size:
        done = (uu <= cdf) | (k >= nn)
        if done.any():
            out[todo[done]] = k
            keep = ~done
            todo, nn, uu, pmf, cdf, odds = todo[keep], nn[keep], uu[keep], pmf[keep], cdf[keep], odds[keep]
            if not todo.size:
                break
        k += 1
        pmf = pmf * (nn - k + 1) / k * odds
        cdf = cdf + pmf
        # guard against round-off leaving cdf a hair below 1 at k == n
    return out


def poisson_from_uniform(lam: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Poisson(lam) draws by inverting the CDF at ``u``.

    Exact recurrence for lam up to 400 (a few dozen values a day, so the loop is
    short); above that the normal quantile with continuity correction, whose error is
    far below sampling noise at such counts.
    """
    from scipy.special import ndtri

    lam = np.asarray(lam, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    lam, u = np.broadcast_arrays(lam, u)
    out = np.zeros(lam.shape, dtype=np.int64)
    big = lam > 400.0
    if big.any():
        out[big] = np.maximum(np.floor(lam[big] + np.sqrt(lam[big]) * ndtri(u[big]) + 0.5), 0).astype(np.int64)
    todo = np.flatnonzero((lam > 0) & ~big)
    if not todo.size:
        return out
    ll, uu = lam[todo], u[todo]
    pmf = np.exp(-ll)
    cdf = pmf.copy()
    k = 0
    while todo.size:
        done = uu <= cdf
        if done.any():
            out[todo[done]] = k
            keep = ~done
            todo, ll, uu, pmf, cdf = todo[keep], ll[keep], uu[keep], pmf[keep], cdf[keep]
            if not todo.size:
                break
        k += 1
        pmf = pmf * ll / k
        cdf = cdf + pmf
        if k > 2000:  # round-off guard: cdf cannot reach u
            out[todo] = k
            break
    return out


def multinomial_from_uniforms(n: np.ndarray, probs: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Multinomial split of ``n`` over the columns of ``probs`` (rows sum to 1).

    Sequential conditional binomials, one uniform per branch (``u`` has the shape of
    ``probs``): branch k gets Binomial(remaining, p_k / (1 - p_0 - ... - p_{k-1})).
    """
    n = np.asarray(n, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    out = np.zeros(probs.shape, dtype=np.int64)
    left = n.copy()
    rest = np.ones(n.shape)
    K = probs.shape[1]
    # the last branch with positive probability takes all that is left (no round-off leak)
    last_pos = K - 1 - np.argmax(probs[:, ::-1] > 0, axis=1)
    for k in range(K - 1):
        pk = probs[:, k]
        cond = np.where(rest > 1e-12, np.minimum(pk / np.maximum(rest, 1e-300), 1.0), 0.0)
        cond = np.where(last_pos == k, 1.0, cond)
        active = (left > 0) & (pk > 0)
        draw = np.zeros(n.shape, dtype=np.int64)
        if active.any():
            draw[active] = binomial_from_uniform(left[active], cond[active], u[active, k])
        out[:, k] = draw
        left = left - draw
        rest = rest - pk
    out[:, K - 1] = left
    return out
