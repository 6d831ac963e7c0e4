"""The base a run simulates on, kept beside its databases.

Why: the estimated scenario extends the calibration's parameter file (``outputs.params``:
levels, trends, the areas' attractiveness and the scenario's own behaviour values), and
every full estimation rewrites that file when it ends. A run carried on later (``--resume``)
or reported again (``--report-only``) must simulate on the file as it was when the run
started; otherwise its particles are judged on another model than the one their stored
distances and thresholds came from. Measured before this module: the most-copied particle
of a 34-generation run (stored distance 1.6305, threshold 1.635) re-simulated at 1.656 on
the file that run had rewritten, and a finish of that run accepted none of 265 moves.

A fresh run copies the file into its output folder; a run carried on puts the copy back
(and ends, as a run in one sitting does, by writing its own estimate over it). A quick run
never writes the parameter file, so it refuses to carry on over a changed one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sim.errors import InputError
from sim.studies.storage import atomic_write

BASE_NAME = "base_params.yaml"


def keep_base(params_path: Path, out: Path, carry_on: bool, quick: bool, log=print) -> None:
    """Store ``params_path`` in ``out`` when a run starts; restore it when one carries on.

    ``carry_on`` says the run goes on from (or reports) databases already in ``out``."""
    params_path, stored = Path(params_path), Path(out) / BASE_NAME
    if not params_path.is_file():  # the scenario extends no estimate yet: nothing can change under the run
        return
    if not carry_on or not stored.is_file():
        if carry_on:
            log(f"{stored}: absent (the run started before bases were kept): it carries on over "
                f"{params_path} as it is now, which may not be the base its stored generations had")
        atomic_write(stored, lambda tmp: shutil.copyfile(params_path, tmp))
        return
    if stored.read_bytes() == params_path.read_bytes():
        return
    if quick:
        raise InputError(params_path, "", f"changed since the quick run in {out} started (a quick run never "
                         f"rewrites it): start that run afresh, or put back {stored}")
    atomic_write(params_path, lambda tmp: shutil.copyfile(stored, tmp))
    log(f"{params_path}: put back as it was when the run in {out} started ({stored}); "
        f"the run writes its estimate over it when it ends")
