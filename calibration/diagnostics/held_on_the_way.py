"""Would holding people on the way (behaviour.on_the_way) fit better than giving up at once?

The estimate of 1f201d4 was the first made with ``settle_rate`` and ``leave_rate`` of
``behaviour.on_the_way`` in the spec; before it, everyone who stopped on the way gave up
for good (settle_rate 1). This probe scores points with the two rates (as
``hold_settle`` and ``hold_leave``; added to a copy of the spec if it lacks them) at the
parameters in force (``added_parameters.py``). ``hold_settle=1`` is the old give-up.

    PYTHONPATH=. python calibration/diagnostics/held_on_the_way.py \\
        --point hold_settle=1 --point hold_settle=0.05,hold_leave=0.05 [--seeds 1000] [--months]

A point may change other parameters too (``release_weight=2.6,heard_share=0.75``).
Nothing is estimated here, and no point it reports is written into any estimate.
"""

from __future__ import annotations

from added_parameters import probe

RATES = [{"name": "hold_settle", "path": "behaviour.on_the_way.settle_rate",
          "prior": {"dist": "uniform", "low": 0.0, "high": 1.0}},
         {"name": "hold_leave", "path": "behaviour.on_the_way.leave_rate",
          "prior": {"dist": "uniform", "low": 0.0, "high": 1.0}}]

if __name__ == "__main__":
    probe(__doc__, "held", RATES, {"hold_settle": 1.0, "hold_leave": 0.1})
