"""Studies built on runs: replicates and outputs, effects, sweeps, sensitivity, calibration, comparisons, plots."""
