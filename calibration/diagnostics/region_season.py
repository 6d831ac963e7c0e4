"""Would the Mexicans and northern Central Americans on a season of their own fit better?

One shared seasonality must serve CBP's months, which the Mexicans and northern Central
Americans (days from the border) dominate, and the Darién's, which are crossed by people
a month or more from it. A region may have its own amplitude and peak
(``departures.seasonality.by_region``). This probe adds the region
``mexico_central_america``'s two (``season_amplitude_mca``, ``season_peak_mca``) to a copy
of the spec, held at the shared season in force unless a point sets them, and scores points
at the parameters in force (``added_parameters.py``): moving ``season_amplitude`` and
``season_peak`` then moves every other region's season alone.

    PYTHONPATH=. python calibration/diagnostics/region_season.py \\
        --point season_amplitude=0.187,season_peak=5.26 [--seeds 1000 1001 1002] [--months]

Nothing is estimated here, and no point it reports is written into any estimate.
"""

from __future__ import annotations

from added_parameters import probe

REGION = "mexico_central_america"
ADDED = [{"name": "season_amplitude_mca", "path": f"departures.seasonality.by_region.{REGION}.amplitude",
          "prior": {"dist": "uniform", "low": 0.0, "high": 0.4}},
         {"name": "season_peak_mca", "path": f"departures.seasonality.by_region.{REGION}.peak_month",
          "prior": {"dist": "uniform", "low": 1.0, "high": 6.99}}]

if __name__ == "__main__":
    probe(__doc__, "region_season", ADDED, {"season_amplitude_mca": "season_amplitude", "season_peak_mca": "season_peak"})
