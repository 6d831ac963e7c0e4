"""Would two seasonal cycles a year (departures.seasonality.cycles 2) fit the months better than one?

One cycle puts the trough six months after the spring peak, in October-November, where
CBP's counts are high in both years, and has no dip in January (January 2022 was 41,700
over CBP in every citizenship at once; ``monthly_totals.py``). Two cycles have peaks in
spring and autumn and dips in winter and summer, with the same two shared parameters.
This probe scores points with every row run at ``--cycles`` (the history scenario
extended; ``added_parameters.py``) at the parameters in force, whose seasonality was
estimated with one cycle: give ``season_amplitude`` and ``season_peak`` to move it.

    PYTHONPATH=. python calibration/diagnostics/seasonality_cycles.py --cycles 2 \\
        --point season_amplitude=0.1,season_peak=4 [--seeds 1000] [--months]

Nothing is estimated here, and no point it reports is written into any estimate.
"""

from __future__ import annotations

import sys

from added_parameters import probe

if __name__ == "__main__":
    cycles = 1
    if "--cycles" in sys.argv:
        i = sys.argv.index("--cycles")
        cycles = int(sys.argv[i + 1])
        del sys.argv[i:i + 2]
    probe(__doc__, "seasonality", [], {}, scenario={"departures": {"seasonality": {"cycles": cycles}}})
