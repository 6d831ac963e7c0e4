"""Writes the notebooks from their cells here, so they stay reviewable as code.

    python notebooks/build.py      # rewrites notebooks/*.ipynb (outputs empty)

Every notebook reads ``MIGSIM_BUDGET`` (``small`` in CI, ``full`` otherwise) to choose
its scale, so CI can execute them in seconds (tests/test_notebooks.py).
"""

from pathlib import Path

import nbformat as nbf

HERE = Path(__file__).resolve().parent

SETUP = """import os
from pathlib import Path

import pandas as pd

ROOT = Path.cwd() if (Path.cwd() / "scenarios").exists() else Path.cwd().parent
SMALL = os.environ.get("MIGSIM_BUDGET", "full") == "small"
SCALE = 0.02 if SMALL else 1.0      # share of the real departures simulated
REPLICATES = 2 if SMALL else 10
print("scale", SCALE, "replicates", REPLICATES)"""

QUICKSTART = [
    ("md", "# Quick start: run the FY2023 baseline and read its outputs\n\n"
           "The baseline simulates the US fiscal year 2023 (October 2022 - September 2023) at full scale, "
           "one simulated person per real person, and runs on to December 2023 for the calendar-2023 Darién "
           "figures. This notebook runs it (at a small scale when `MIGSIM_BUDGET=small`), then reads the "
           "output files every other tool reads."),
    ("code", SETUP),
    ("code", """from sim.scenario import read_raw, validate_raw
from sim.scenario.inputs import Inputs
from sim.studies.runner import run_scenario

path = ROOT / "scenarios" / "baseline_fy2023.yaml"
raw = read_raw(path)                 # the scenario as a dict, `extends` applied
raw["departures"]["scale"] = SCALE   # a sample for a quick look; 1.0 is full scale
inputs = Inputs.load(path, validate_raw(raw, path))
out = ROOT / "results" / "notebook_baseline"
summary = run_scenario(path, out, inputs=inputs, progress=False)   # also written as summary.json
sorted(p.name for p in out.iterdir())"""),
    ("md", "## The output contract\n`timeseries.parquet` holds tidy daily rows; `summary.json` the people "
           "ledger per seed (everyone who set out is accounted for) and headline figures; `manifest.json` "
           "what made the run."),
    ("code", """import json
ts = pd.read_parquet(out / "timeseries.parquet")
manifest = json.loads((out / "manifest.json").read_text())
print(manifest["version"], manifest["scenario_sha256"][:12], manifest["seeds"])
summary["ledger"]"""),
    ("code", """ts["date"] = pd.to_datetime(ts["date"])
fy = ts[(ts["metric"] == "encounters") & (ts["date"] <= "2023-09-30")]
by_cit = (fy.groupby("nationality")["value"].sum() / SCALE).sort_values(ascending=False)
obs = pd.read_csv(ROOT / "calibration" / "targets" / "cbp_encounters_by_month_citizenship.csv")
observed = obs[obs["fiscal_year"] == 2023].groupby("citizenship")["encounters"].sum()
pd.DataFrame({"simulated": by_cit.round(), "observed": observed}).head(10)"""),
    ("code", """monthly = (ts[ts["metric"] == "darien_crossings"].set_index("date")["value"].resample("MS").sum() / SCALE)
monthly.loc["2023"].plot(title="Darién crossings per month, 2023 (simulated)", ylabel="persons");"""),
    ("md", "The run folder's `plots/` holds the same comparisons against the observed series."),
]

POLICY = [
    ("md", "# Policy comparison: levers against the baseline, with intervals\n\n"
           "Each policy scenario is a small diff of the baseline (`extends:`). `run_effects` runs it and the "
           "baseline over the scenario's period on the same seeds; with common random numbers the two runs of "
           "a seed differ only where the levers act, so the paired differences are tight."),
    ("code", SETUP),
    ("code", """import tempfile, yaml
from sim.studies.effects import run_effects

# quick variants of two policy scenarios at the notebook's scale
tmp = Path(tempfile.mkdtemp())
def scaled(name):
    p = tmp / f"{name}.yaml"
    p.write_text(yaml.safe_dump({"extends": str(ROOT / "scenarios" / f"{name}.yaml"), "departures": {"scale": SCALE}}))
    return str(p)

baseline = scaled("baseline_fy2023")
table = run_effects([scaled("title42_kept"), scaled("ecuador_visa_china")], baseline,
                    ROOT / "results" / "notebook_effects", replicates=REPLICATES, progress=False)
table[table["outcome"].isin(["encounters", "darien_crossings", "removals", "encounters CHINA"])][
    ["scenario", "outcome", "baseline_mean", "difference_mean", "difference_p05", "difference_p95"]]"""),
    ("code", """import matplotlib.pyplot as plt
sel = table[table["outcome"].str.startswith("encounters ")].copy()
sel["who"] = sel["outcome"].str.replace("encounters ", "")
fig, axes = plt.subplots(1, 2, figsize=(11, 5), sharey=True)
for ax, (name, d) in zip(axes, sel.groupby("scenario")):
    d = d.sort_values("difference_mean")
    ax.errorbar(d["difference_mean"], d["who"], xerr=[d["difference_mean"] - d["difference_p05"],
                d["difference_p95"] - d["difference_mean"]], fmt="o")
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_title(name); ax.set_xlabel("change in encounters (persons, simulated scale)")
fig.suptitle("Effects by citizenship, mean and 90% interval of paired differences");"""),
]

SWEEP = [
    ("md", "# A sweep with sensitivity analysis\n\n"
           "A sweep file names a base scenario, parameters with ranges and a sampler (grid, LHS, Sobol or Morris "
           "from SALib), policy switches, replicate seeds and the outcomes to summarise. `migsim sweep` runs it on "
           "Dask (a LocalCluster here, an existing cluster with `--scheduler`), streaming results to disk and "
           "resuming where it stopped; `migsim sensitivity` computes the indices. `scenarios/sweeps/demo.yaml` is "
           "a grid example; here we write a small Morris design."),
    ("code", SETUP),
    ("code", """import shutil, subprocess, sys, tempfile, yaml
tmp = Path(tempfile.mkdtemp())
sweep = {
    "name": "morris_demo",
    "base": str(ROOT / "scenarios" / "baseline_fy2023.yaml"),
    "fixed": {"departures.scale": SCALE / 2 if SMALL else 0.1},
    "sampler": {"method": "morris", "n": 3 if SMALL else 10},
    "parameters": [
        {"name": "removed_retry", "path": "border.removed_retry", "bounds": [0.0, 0.6]},
        {"name": "expelled_retry", "path": "border.expelled_retry", "bounds": [0.2, 0.8]},
        {"name": "km_weight", "path": "route_choice.km_weight", "bounds": [0.5, 2.0]},
    ],
    "replicates": [1],
    "outcomes": [{"name": "fy2023_encounters", "metric": "encounters", "start": "2022-10-01", "end": "2023-09-30"},
                 {"name": "darien_2023", "metric": "darien_crossings", "start": "2023-01-01", "end": "2023-12-31"}],
}
(tmp / "morris.yaml").write_text(yaml.safe_dump(sweep, sort_keys=False))
out = ROOT / "results" / "notebook_sweep"
# a sweep folder resumes only the same sweep: after the baseline or its data change, the
# command refuses to mix old and new runs, so this notebook starts afresh every time
shutil.rmtree(out, ignore_errors=True)
run = subprocess.run([sys.executable, "-m", "sim.cli", "sweep", str(tmp / "morris.yaml"), "--out", str(out),
                      "--workers", "2"], capture_output=True, text=True, cwd=ROOT)
assert run.returncode == 0, run.stderr[-2000:]
print(run.stdout[-500:])"""),
    ("code", """runs = pd.read_parquet(out / "runs.parquet")
runs[["run_id", "seed", "removed_retry", "expelled_retry", "km_weight", "fy2023_encounters", "darien_2023", "status"]].head()"""),
    ("code", """sens = subprocess.run([sys.executable, "-m", "sim.cli", "sensitivity", str(out), "--outcome", "fy2023_encounters"],
                      capture_output=True, text=True, cwd=ROOT)
assert sens.returncode == 0, sens.stderr[-2000:]
print(sens.stdout[-1500:])"""),
    ("md", "Morris `mu_star` ranks the parameters by their elementary effects on the outcome; `sigma` shows "
           "interactions or non-linearity. With common random numbers the noise between design points is small, "
           "so even a few trajectories separate the parameters that matter."),
]


def write(name: str, cells) -> None:
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbf.v4.new_markdown_cell(src) if kind == "md" else nbf.v4.new_code_cell(src) for kind, src in cells]
    nbf.write(nb, HERE / name)


if __name__ == "__main__":
    write("01_quickstart.ipynb", QUICKSTART)
    write("02_policy_comparison.ipynb", POLICY)
    write("03_sweep_sensitivity.ipynb", SWEEP)
    print("wrote", *sorted(p.name for p in HERE.glob("*.ipynb")))
