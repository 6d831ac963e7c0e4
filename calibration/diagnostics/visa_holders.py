"""Would the Venezuelans' own share of US visa holders fit better than the shared one?

One share of visa holders (``departures.visa_holders``) spares the holders of every
citizenship Mexico's visa. Panama's Ecuadorians and Chinese ask for more of them, the
Venezuelans' fall and rebound after Mexico's visa (E1) for fewer. This probe adds
``holders_venezuela``, ``holders_ecuador`` and ``holders_china``
(``departures.by_citizenship.<C>.visa_holders``) to a copy of the calibration spec and
scores points at the parameters in force; the row "as estimated" gives them the shared
share (``added_parameters.py``).

    PYTHONPATH=. python calibration/diagnostics/visa_holders.py \
        --point holders_venezuela=0.01 --point holders_venezuela=0.01,holders_ecuador=0.2 [--seeds 1000]

Nothing is estimated here, and no point it reports is written into any estimate.
"""

from __future__ import annotations

from added_parameters import SPEC, probe

ADDED = [{"name": f"holders_{c.lower()}", "path": f"departures.by_citizenship.{c}.visa_holders",
          "prior": {"dist": "loguniform", "low": 0.001, "high": 0.5}} for c in ("VENEZUELA", "ECUADOR", "CHINA")]

if __name__ == "__main__":
    from sim.studies.calibration.simulate import CalibrationModel
    shared = CalibrationModel(SPEC).params_in_force()["visa_holders"]
    probe(__doc__, "visa_holders", ADDED, {p["name"]: shared for p in ADDED})
