"""Calibration of a scenario against observed figures by ABC-SMC (pyabc).

Why this shape: the simulator has no likelihood, only draws, so parameters are fitted
by approximate Bayesian computation: draw parameters from priors, simulate, keep what
lands close to the observations, and tighten the threshold generation by generation
(sequential Monte Carlo). What is fitted, with which priors and against which figures,
lives in a calibration file checked by a pydantic schema (``spec``); parameters are
applied to the raw scenario dict (``simulate``: a dotted path, an origin's weight, or a
multiplier on the departure schedule); every particle is simulated with the same fixed
seeds (common random numbers) at a reduced ``departures.scale``; the distance is a
weighted sum of target families (``targets``); ``abc`` runs pyabc; ``outputs`` writes
the point estimate as a scenario fragment; ``report`` verifies it with several seeds at
full scale against the acceptance criteria, with one held-out check; ``command`` is
``migsim calibrate``.
"""

from sim.studies.calibration.command import add_parser, calibrate

__all__ = ["add_parser", "calibrate"]
