"""What a run produces and what it is compared with: metrics, windows, reductions, observed data."""
