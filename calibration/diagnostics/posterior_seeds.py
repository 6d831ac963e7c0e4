"""Does the estimate fit the data or the dice? The posterior's particles scored again at other seeds.

The ABC simulates every particle at one seed (``simulation.seeds``, common random
numbers) at a reduced scale, so its last threshold cuts the prior on the data plus one
draw of simulation noise. If the particles it kept were chosen for that draw, they score
worse at any other seed than at the ABC's (a winner's curse), and their order by
distance at one seed says little of their order at another. This probe scores each
distinct particle of the posterior in force (``outputs.posterior``), with its levels and
trends solved as in the estimation, at the ABC's seed and at other seeds, and prints:

- per seed, the particles' median, lowest and highest distance, and the mean change
  from the ABC's seed (about 0: the particles were not chosen for that seed's draws);
- the rank correlation of the particles' distances between each pair of seeds (near 0:
  within the posterior the distance is noise, which is what a converged ABC leaves);
- the distance at the posterior median against the particles' (the estimate in force
  is the median, not one of the particles);
- with ``--confirm-seeds``, the ``--top`` particles best on the mean of the seeds after
  the first, and the estimate in force, scored again at those further seeds: whether a
  particle chosen on independent seeds stays better than the estimate on yet others (a
  real difference the ABC's one seed could not resolve) or falls back (noise).

    PYTHONPATH=. python calibration/diagnostics/posterior_seeds.py --seeds 1000 1001 1002 --processes 2
        # about 30 distinct particles x 3 seeds at about 7 s each: 5 minutes on 2 cores

Nothing is estimated here, and nothing it prints is written into any estimate.
"""

from __future__ import annotations

import argparse
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "calibration" / "fy2022_fy2023.yaml"


def _score(args: tuple) -> float:
    """The calibration's distance of one parameter set at one seed (levels solved)."""
    from sim.studies.calibration.simulate import CalibrationModel
    from sim.studies.calibration.targets import FitDistance

    seed, params = args
    model = CalibrationModel(SPEC, seeds=[seed])
    return float(FitDistance(model.targets)(model(params)))


def score_all(jobs: list[tuple], processes: int) -> list[float]:
    if processes > 1:
        with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_score, jobs))
    return [_score(j) for j in jobs]


def particles(model) -> pd.DataFrame:
    """The posterior's distinct particles, columns named as the spec's parameters."""
    post = pd.read_parquet(SPEC.parent / model.spec.outputs.posterior)
    cols = {p.path: p.name for p in model.spec.parameters}
    return post[list(cols)].rename(columns=cols).drop_duplicates().reset_index(drop=True)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = pd.Series(a).rank().to_numpy(), pd.Series(b).rank().to_numpy()
    return float(np.corrcoef(ra, rb)[0, 1])


def main() -> None:
    from sim.studies.calibration.simulate import CalibrationModel

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1000, 1001, 1002],
                    help="the first should be the ABC's (simulation.seeds)")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--top", type=int, default=5, help="particles to confirm (with --confirm-seeds)")
    ap.add_argument("--confirm-seeds", type=int, nargs="*", default=[],
                    help="further seeds for the best particles at the seeds after the first, and the estimate")
    a = ap.parse_args()
    model = CalibrationModel(SPEC)
    parts = particles(model)
    points = [dict(r) for _, r in parts.iterrows()] + [model.params_in_force()]
    jobs = [(s, p) for s in a.seeds for p in points]
    print(f"{len(parts)} distinct particles and the estimate in force, seeds {a.seeds}: {len(jobs)} runs", flush=True)
    d = np.array(score_all(jobs, a.processes)).reshape(len(a.seeds), len(points))
    part, est = d[:, :-1], d[:, -1]
    for i, s in enumerate(a.seeds):
        change = "" if i == 0 else f", mean change from seed {a.seeds[0]} {np.mean(part[i] - part[0]):+.3f}"
        print(f"seed {s}: particles median {np.median(part[i]):.3f} [{part[i].min():.3f}, {part[i].max():.3f}]"
              f"{change}; estimate in force {est[i]:.3f}")
    for i in range(len(a.seeds)):
        for j in range(i + 1, len(a.seeds)):
            print(f"rank correlation of the particles' distances, seeds {a.seeds[i]} and {a.seeds[j]}: "
                  f"{spearman(part[i], part[j]):+.2f}")
    if a.confirm_seeds and len(a.seeds) > 1:
        best = np.argsort(part[1:].mean(axis=0))[:a.top]
        chosen = [points[i] for i in best] + [points[-1]]
        jobs = [(s, p) for s in a.confirm_seeds for p in chosen]
        c = np.array(score_all(jobs, a.processes)).reshape(len(a.confirm_seeds), len(chosen))
        print(f"confirmed at seeds {a.confirm_seeds} (mean distance; at the seeds after the first):")
        for k, i in enumerate(best):
            print(f"  particle {i}: {c[:, k].mean():.3f} (chosen at {part[1:, i].mean():.3f})")
        print(f"  estimate in force: {c[:, -1].mean():.3f} (at {est[1:].mean():.3f})")


if __name__ == "__main__":
    main()
