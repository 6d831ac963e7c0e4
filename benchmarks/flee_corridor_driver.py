"""Flee 3.1 on the corridor workload (run in a venv that has the ``flee`` package).

The project's own copy of the peer benchmark: a 30-town chain 150 km apart, a side
town S_i every 5 towns (N_i-S_i 80 km, S_i-N_{i+1} 120 km), N29-BORDER 100 km, the
border a sink camp; movechance 1.0 at N0 and 0.3 elsewhere; 200 km a day. PEOPLE_PER_DAY
agents are added at N0 before each day's ``evolve``. Only that loop is timed.

Usage: python flee_corridor_driver.py PEOPLE_PER_DAY DAYS [SEED]
Flee prints its own diagnostics to stdout; the result is the last line, prefixed
``FLEE_RESULT `` and followed by JSON.
"""

import importlib.metadata
import json
import os
import random
import sys
import tempfile
import time

import numpy as np
from flee import flee
from flee.SimulationSettings import SimulationSettings


def main() -> None:
    per_day, days = int(sys.argv[1]), int(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    random.seed(seed)
    np.random.seed(seed)
    yml = os.path.join(tempfile.mkdtemp(), "empty.yml")
    with open(yml, "w") as f:
        f.write("")
    SimulationSettings.ReadFromYML(yml)
    SimulationSettings.move_rules["MaxMoveSpeed"] = 200.0
    SimulationSettings.move_rules["MaxWalkSpeed"] = 30.0

    e = flee.Ecosystem()
    n = 30
    locs = [e.addLocation(name=f"N{i}", movechance=1.0 if i == 0 else 0.3,
                          location_type="conflict_zone" if i == 0 else "town") for i in range(n)]
    sink = e.addLocation(name="BORDER", movechance=0.0, location_type="camp", capacity=10**9)
    for i in range(n - 1):
        e.linkUp(endpoint1=f"N{i}", endpoint2=f"N{i+1}", distance=150.0)
        if i % 5 == 0:
            e.addLocation(name=f"S{i}", movechance=0.3)
            e.linkUp(endpoint1=f"N{i}", endpoint2=f"S{i}", distance=80.0)
            e.linkUp(endpoint1=f"S{i}", endpoint2=f"N{i+1}", distance=120.0)
    e.linkUp(endpoint1=f"N{n-1}", endpoint2="BORDER", distance=100.0)

    steps = 0            # the reference script's count: every agent in the model, arrived or not
    steps_en_route = 0   # agents not (yet) at the sink: the definition used for our model
    t0 = time.perf_counter()
    for _ in range(days):
        for _ in range(per_day):
            e.addAgent(location=locs[0], attributes={})
        e.evolve()
        steps += len(e.agents)
        steps_en_route += len(e.agents) - sink.numAgents
    wall = time.perf_counter() - t0

    # where the agents are at the end (town index along the chain; S_i counts as i + 0.5,
    # an agent on a link counts at the link's end point)
    pos = []
    for a in e.agents:
        loc = a.location
        if loc is None:
            continue
        name = loc.endpoint.name if a.travelling else loc.name
        if name == "BORDER":
            continue
        pos.append(int(name[1:]) + (0.5 if name[0] == "S" else 0.0))
    out = {
        "engine": "flee", "version": importlib.metadata.version("flee"),
        "per_day": per_day, "days": days, "people": len(e.agents),
        "person_steps": steps, "person_steps_en_route": steps_en_route,
        "wall_s": wall, "at_border": sink.numAgents,
        "mean_town_en_route": float(np.mean(pos)) if pos else None,
        "max_town_en_route": float(max(pos)) if pos else None,
    }
    print("FLEE_RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
