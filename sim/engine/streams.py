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
_TWO53 = 1.0 / 9007199254740992.0


def _u64(x: int) -> np.ndarray:
    """A uint64 constant as a 0-d array: numpy combines it with an array in about half
    the time it takes for a numpy scalar (the hashes below are a few dozen such steps a day)."""
    return np.array(x, dtype=np.uint64)


_G, _M1, _M2 = _u64(_GOLDEN), _u64(0xBF58476D1CE4E5B9), _u64(0x94D049BB133111EB)
_S11, _S27, _S30, _S31 = _u64(11), _u64(27), _u64(30), _u64(31)
_ONE = _u64(1)
_HALF, _TWO53A = np.array(0.5), np.array(_TWO53)


def _mix_int(x: int) -> int:
    """splitmix64 finaliser on a Python int (scalars: stream ids)."""
    z = (x + _GOLDEN) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic; in place on one new array)."""
    z = x + _G
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return z


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
        if isinstance(p, (int, np.integer)) and p >= 0:  # a scalar part: its term in Python ints
            z = mix(z ^ _u64((int(p) * _GOLDEN + 1) & _MASK))
        else:
            z = mix(z ^ np.asarray(p, dtype=np.uint64) * _G + _ONE)
    return z


def to_uniform(z: np.ndarray) -> np.ndarray:
    """Map uint64 hashes to uniforms in (0, 1)."""
    u = (z >> _S11).astype(np.float64)
    u += _HALF
    u *= _TWO53A
    return u


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
        self._ids: dict[str, list[np.ndarray]] = {}  # per decision, the stream ids of days 0, 1, ...
        self._id_table: dict[str, np.ndarray] = {}  # the same, as one array
        self.rng = rng if rng is not None else np.random.default_rng(self.seed)

    def _stream(self, decision: str, day: int) -> int:
        d = self._decisions.get(decision)
        if d is None:
            d = self._decisions[decision] = _mix_int(self._base ^ name_id(decision))
        return _mix_int(d ^ ((day + 1) * _GOLDEN & _MASK))

    def _stream_id(self, decision: str, day: int) -> np.ndarray:
        """``_stream(decision, day)`` as a 0-d array, from a table of the decision's days
        (computed at once, in numpy, the first time a day beyond it is asked for)."""
        ids = self._ids.get(decision)
        if ids is None or not 0 <= day < len(ids):
            if day < 0:
                return _u64(self._stream(decision, day))
            self._stream(decision, 0)  # the decision's id
            n = max(2 * (day + 1), 1024)
            days = np.arange(1, n + 1, dtype=np.uint64) * _G  # (day + 1) * golden, wrapping
            z = self._id_table[decision] = mix(days ^ _u64(self._decisions[decision]))
            ids = self._ids[decision] = [z[i:i + 1].reshape(()) for i in range(n)]  # 0-d views
        return ids[day]

    def uniforms(self, decisions: tuple[str, ...], day: int, keys: tuple[np.ndarray, ...],
                 draw: int = 0) -> list[np.ndarray]:
        """``[uniform(d, day, k, draw) for d, k in zip(decisions, keys)]`` (1-D keys, a scalar
        draw) in one pass over all the keys: the same numbers, for fewer array operations."""
        if self.mode == "single":
            return [self.uniform(d, day, k, draw) for d, k in zip(decisions, keys)]
        n = [len(k) for k in keys]
        ids = np.repeat(np.array([self._stream_id(d, day) for d in decisions]), n)
        z = mix(np.concatenate(keys).astype(np.uint64, copy=False) ^ ids)
        if not (np.isscalar(draw) and draw == 0):
            z = mix(z + np.asarray(draw, dtype=np.uint64) * _G)
        u = to_uniform(z)
        ends = np.cumsum(n)
        return [u[e - k:e] for e, k in zip(ends.tolist(), n)]

    def uniform_days(self, decision: str, n_days: int, keys: np.ndarray) -> np.ndarray | None:
        """``uniform(decision, day, keys)`` of the days 0 .. n_days - 1 at once (a row a day),
        for keys read every day; None in single mode, whose draws come in the order asked."""
        if self.mode == "single":
            return None
        keys = np.asarray(keys, dtype=np.uint64)
        self._stream_id(decision, max(n_days - 1, 0))  # the ids up to the last day
        ids = self._id_table[decision][:n_days]
        return to_uniform(mix(keys[None, :] ^ ids[:, None]))

    def uniform(self, decision: str, day: int, keys: np.ndarray, draw: int | np.ndarray = 0) -> np.ndarray:
        """One uniform per key (broadcast against ``draw``) from stream (seed, decision, day)."""
        keys = np.asarray(keys, dtype=np.uint64)
        if self.mode == "single":
            shape = np.broadcast_shapes(keys.shape, np.shape(draw))
            return self.rng.random(shape)
        z = mix(keys ^ self._stream_id(decision, day))
        if draw.__class__ is int and draw == 0:  # the usual case, before the general test
            return to_uniform(z)
        if not (np.isscalar(draw) and draw == 0):
            z = mix(z + np.asarray(draw, dtype=np.uint64) * _G)
        return to_uniform(z)


def binomial_from_uniform(n: np.ndarray, p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Binomial(n, p) draws by inverting the CDF at the uniforms ``u``.

    Exact (not an approximation): the k-th term of the pmf is built by the recurrence
    pmf(k) = pmf(k-1) * (n-k+1)/k * p/(1-p), only for the draws not yet resolved, so
    the usual case (small groups, small hazards) resolves in one or two passes; for
    p > 1/2 the draw is n - Binomial(n, 1-p) at 1-u, which needs as few. Monotone in
    ``u`` and in ``p``: with common random numbers a small change of p changes few
    draws, and by little. Large n*p*(1-p) (over 400) uses the normal quantile with
    continuity correction, whose error is far below sampling noise there.
    """
    n = np.asarray(n, dtype=np.int64)
    p = np.asarray(p, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    if not n.shape == p.shape == u.shape:
        n, p, u = np.broadcast_arrays(n, p, u)
    if p.size:
        lo, hi = p.min(), p.max()
        if 0.0 <= lo and hi <= 0.5:  # the usual cases: nothing to clip, nothing or everything to turn round
            return _binomial_low(n, p, u)
        if 0.5 < lo and hi < 1.0:
            return n - _binomial_low(n, 1.0 - p, 1.0 - u)
    p = np.minimum(np.maximum(p, 0.0), 1.0)  # np.clip(p, 0, 1), without its Python overhead
    high = (p > 0.5) & (p < 1.0)
    if high.any():
        out = _binomial_low(n, np.where(high, 1.0 - p, p), np.where(high, 1.0 - u, u))
        return np.where(high, n - out, out)
    return _binomial_low(n, p, u)


def _binomial_low(n: np.ndarray, p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``binomial_from_uniform`` for p <= 1/2 (or p = 1)."""
    shape = n.shape
    n, p, u = n.ravel(), p.ravel(), u.ravel()
    if n.size and p.max() < 1.0 and 0.0 < p.min() and 0 < n.min() and n.max() <= 1500:
        # the usual case: every draw by the recurrence (n p (1 - p) <= n / 4 < 400)
        return _binomial_recurrence(n.astype(np.float64), p, u).reshape(shape)
    out = np.zeros(n.shape, dtype=np.int64)
    if out.size == 0:
        return out.reshape(shape)
    full = p >= 1.0
    if full.any():
        out[full] = n[full]
    var = n * p * (1.0 - p)
    big = var > 400.0  # never where full: there 1 - p = 0
    if big.any():
        from scipy.special import ndtri

        x = np.floor(n[big] * p[big] + np.sqrt(var[big]) * ndtri(u[big]) + 0.5)
        out[big] = np.clip(x, 0, n[big]).astype(np.int64)
        todo = (n > 0) & (p > 0.0) & (p < 1.0) & ~big
    else:
        todo = (n > 0) & (p > 0.0) & (p < 1.0)
    todo = todo.nonzero()[0]
    if len(todo):
        out[todo] = _binomial_recurrence(n[todo].astype(np.float64), p[todo], u[todo])
    return out.reshape(shape)


def _binomial_recurrence(nn: np.ndarray, pp: np.ndarray, uu: np.ndarray) -> np.ndarray:
    """The draws of ``_binomial_low`` for 0 < p < 1, n > 0 (``nn`` as floats).

    The draw is the first k with u <= cdf(k), or n. As the cdf never decreases in k up
    to n, that is the number of k < n with cdf(k) < u: each pass adds those still below,
    and only the draws still open are carried on once they are at most half."""
    q = 1.0 - pp
    pmf = np.exp(nn * np.log1p(-pp))
    cdf = pmf.copy()
    odds = pp / q
    drawn = np.zeros(len(nn), dtype=np.int64)
    where = None  # positions in ``drawn`` of the draws carried on (None: all)
    k = 0
    while True:
        below = cdf < uu
        below &= nn > k
        if not below.any():
            return drawn
        if where is None:
            drawn += below
        else:
            drawn[where] += below
        if len(below) > 32:
            keep = below.nonzero()[0]
            if len(keep) * 2 <= len(below):
                where = keep if where is None else where[keep]
                nn, uu, pmf, cdf, odds = nn[keep], uu[keep], pmf[keep], cdf[keep], odds[keep]
        k += 1
        # pmf(k) = pmf(k-1) * (n - k + 1) / k * odds, in that order (the same rounding)
        pmf *= nn - k + 1
        pmf /= k
        pmf *= odds
        cdf += pmf


def poisson_from_uniform(lam: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Poisson(lam) draws by inverting the CDF at ``u``: exact, vectorised in C (the
    quantile scipy.stats.poisson.ppf computes, from scipy.special without importing
    scipy.stats); monotone in ``u`` and in ``lam``, so common random numbers hold."""
    lam = np.asarray(lam, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    if lam.shape != u.shape:
        lam, u = np.broadcast_arrays(lam, u)
    pos = lam > 0
    if pos.all():  # the usual case: no zeros to leave out
        return _poisson_quantile(u, lam)
    out = np.zeros(lam.shape, dtype=np.int64)
    if pos.any():
        out[pos] = _poisson_quantile(u[pos], lam[pos])
    return out


def _poisson_quantile(q: np.ndarray, m: np.ndarray) -> np.ndarray:
    from scipy.special import pdtr, pdtrik

    k = np.ceil(pdtrik(q, m))
    below = np.maximum(k - 1, 0)
    return np.where(pdtr(below, m) >= q, below, k).astype(np.int64)


def conditional_probs(probs: np.ndarray) -> np.ndarray:
    """The chances of the sequential split of ``multinomial_from_uniforms``: column k
    (of K - 1) is p_k / (1 - p_0 - ... - p_{k-1}), 1 at the last branch with positive
    probability (it takes all that is left: no round-off leak)."""
    probs = np.asarray(probs, dtype=np.float64)
    K = probs.shape[1]
    last_pos = K - 1 - np.argmax(probs[:, ::-1] > 0, axis=1)
    cond = np.empty((probs.shape[0], K - 1))
    rest = np.ones(probs.shape[0])
    for k in range(K - 1):
        pk = probs[:, k]
        c = np.where(rest > 1e-12, np.minimum(pk / np.maximum(rest, 1e-300), 1.0), 0.0)
        c[last_pos == k] = 1.0
        cond[:, k] = c
        rest = rest - pk
    return cond


def multinomial_from_uniforms(n: np.ndarray, probs: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Multinomial split of ``n`` over the columns of ``probs`` (rows sum to 1).

    Sequential conditional binomials, one uniform per branch (``u`` has the shape of
    ``probs``): branch k gets Binomial(remaining, p_k / (1 - p_0 - ... - p_{k-1})).
    """
    n = np.asarray(n, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    cond = conditional_probs(probs)
    out = np.zeros(probs.shape, dtype=np.int64)
    left = n.copy()
    K = probs.shape[1]
    for k in range(K - 1):
        active = (left > 0) & (probs[:, k] > 0)
        if active.all():
            draw = binomial_from_uniform(left, cond[:, k], u[:, k])
        elif active.any():
            draw = np.zeros(n.shape, dtype=np.int64)
            draw[active] = binomial_from_uniform(left[active], cond[active, k], u[active, k])
        else:
            continue
        out[:, k] = draw
        left = left - draw
    out[:, K - 1] = left
    return out


class BinomialTable:
    """``binomial_from_uniform(n, p[j], u)`` for a few fixed chances ``p`` (one per class
    j: a citizenship, say) and n up to ``nmax``, by a lookup instead of the recurrence.

    Why: the outcome split at the border draws four conditional binomials a day whose
    chances depend only on the citizenship and change only when a lever changes the
    regimes. The recurrence run once for every (p_j, n), with the same arithmetic, gives
    the same cdf values, and the draw is the number of them below the uniform (the cdf
    never decreases in k), so the draws are the same. Other sizes go the long way."""

    FIRST = 8  # cdf values compared at first; the rest only for draws past them

    def __init__(self, p: np.ndarray, nmax: int):
        p = np.minimum(np.maximum(np.asarray(p, dtype=np.float64), 0.0), 1.0)
        self.p = p
        self.nmax = nmax = int(min(max(nmax, 0), 1500))  # n p (1 - p) < 400: never the normal branch
        self.flip = (p > 0.5) & (p < 1.0)
        pp = np.where(self.flip, 1.0 - p, p)[:, None]
        n = np.arange(nmax + 1)[None, :]
        nn = np.broadcast_to(n, (len(p), nmax + 1)).astype(np.float64)
        table = np.full((len(p), nmax + 1, nmax), 2.0)  # 2: above any uniform (k >= n)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # p = 0 or 1: rows set below
            pmf = np.exp(nn * np.log1p(-pp))
            odds = pp / (1.0 - pp)
            cdf = pmf.copy()
            for k in range(nmax):
                table[:, :, k] = np.where(k < n, cdf, 2.0)
                # pmf(k+1) as _binomial_low computes it, step for step
                pmf *= nn - (k + 1) + 1
                pmf /= k + 1
                pmf *= odds
                cdf += pmf
        zero = ~((pp[:, 0] > 0.0) & (pp[:, 0] < 1.0))  # p = 0 (or nan): no one; p = 1: everyone
        table[zero] = 2.0
        full = p >= 1.0
        table[full] = np.where(np.arange(nmax)[None, :] < n.T, -1.0, 2.0)[None, :, :]
        self._cdf = table.reshape(len(p) * (nmax + 1), nmax)
        # the first cdf values, and a last column above any uniform: the count of values
        # below u is the first column at or above it (argmax, far cheaper than a sum)
        self._first = np.concatenate([self._cdf[:, : self.FIRST], np.full((len(self._cdf), 1), 3.0)], axis=1)
        self.any_flip = bool(self.flip.any())

    def draw(self, n: np.ndarray, j: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Binomial(n, p[j]) at the uniforms ``u`` (1-D arrays of one length)."""
        n = np.asarray(n, dtype=np.int64)
        j = np.asarray(j, dtype=np.int64)
        u = np.asarray(u, dtype=np.float64)
        inside = (n >= 0) & (n <= self.nmax)
        if inside.all():
            return self.draw_at(j * (self.nmax + 1) + n, n, j, u)
        out = np.empty(len(n), dtype=np.int64)
        o = (~inside).nonzero()[0]
        out[o] = binomial_from_uniform(n[o], self.p[j[o]], u[o])
        i = inside.nonzero()[0]
        out[i] = self.draw(n[i], j[i], u[i])
        return out

    def draw_at(self, row: np.ndarray, n: np.ndarray, j: np.ndarray, u: np.ndarray) -> np.ndarray:
        """``draw`` where 0 <= n <= nmax, given the table rows j * (nmax + 1) + n."""
        flip = self.flip[j] if self.any_flip else None
        if flip is not None:
            u = np.where(flip, 1.0 - u, u)
        f = self.FIRST
        got = (self._first.take(row, axis=0) >= u[:, None]).argmax(axis=1)
        if self.nmax > f:
            more = (got == f).nonzero()[0]
            if len(more):
                got[more] += np.add.reduce(self._cdf[row[more], f:] < u[more, None], axis=1)
        return got if flip is None else np.where(flip, n - got, got)


class MultinomialByClass:
    """``multinomial_from_uniforms(n, probs[j], u)`` when the branch chances depend only
    on a class j (the border's outcome split: one row of chances per citizenship, fixed
    while the regimes last): one ``BinomialTable`` per branch."""

    def __init__(self, probs: np.ndarray, nmax: int):
        self.probs = probs = np.asarray(probs, dtype=np.float64)
        self.nmax = int(min(max(nmax, 0), 1500))
        cond = conditional_probs(probs)
        self.used = [bool((probs[:, k] > 0).any()) for k in range(probs.shape[1] - 1)]
        self.tables = [BinomialTable(cond[:, k], self.nmax) if self.used[k] else None for k in range(probs.shape[1] - 1)]
        # the branches that draw (a branch no class has people on draws nothing)
        self.draws = np.array([k for k, used in enumerate(self.used) if used], dtype=np.int64)

    def split(self, n: np.ndarray, j: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The split of ``n`` people of classes ``j``; ``u`` has a column per branch, or
        one per branch that draws (``draws``)."""
        n = np.asarray(n, dtype=np.int64)
        j = np.asarray(j, dtype=np.int64)
        out = np.zeros((len(n), self.probs.shape[1]), dtype=np.int64)
        left = n.copy()
        inside = len(n) == 0 or (n.min() >= 0 and n.max() <= self.nmax)  # so is every ``left``
        base = j * (self.nmax + 1)
        column = iter(range(u.shape[1])) if u.shape[1] == len(self.draws) else None
        for k, table in enumerate(self.tables):
            if table is None:  # no class has people on this branch
                continue
            uk = u[:, k if column is None else next(column)]
            draw = table.draw_at(base + left, left, j, uk) if inside else table.draw(left, j, uk)
            out[:, k] = draw
            left -= draw
        out[:, -1] = left
        return out
