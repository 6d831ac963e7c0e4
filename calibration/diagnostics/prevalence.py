"""Would departures that grow with their citizenship's recent departures (behaviour.prevalence) fit better?

Massey's cumulative causation: departures times their recent prevalence to the power
``elasticity`` (sim/scenario/spec.py, ``Prevalence``). The estimate in force was made
without it (elasticity 0). This probe adds ``prevalence`` (the elasticity) and
``prevalence_memory`` (days) to a copy of the calibration spec and scores points at the
parameters in force (``added_parameters.py``).

    PYTHONPATH=. python calibration/diagnostics/prevalence.py \
        --point prevalence=0.3 --point prevalence=0.6,prevalence_memory=180 [--seeds 1000] [--months]

Nothing is estimated here, and no point it reports is written into any estimate.
"""

from __future__ import annotations

from added_parameters import probe

ADDED = [{"name": "prevalence", "path": "behaviour.prevalence.elasticity",
          "prior": {"dist": "uniform", "low": -0.9, "high": 0.9}},
         {"name": "prevalence_memory", "path": "behaviour.prevalence.memory_days",
          "prior": {"dist": "uniform", "low": 30.0, "high": 730.0}}]

if __name__ == "__main__":
    probe(__doc__, "prevalence", ADDED, {"prevalence": 0.0, "prevalence_memory": 365.0})
