"""``migsim app``: a browser front end for people who ask "what if?" and do not edit YAML.

Four pages (``pages/``): Scenario (levers on a timeline, forms from the schema, save
a variant), Run (background processes, progress, a cache under ``results/app/``),
Watch (the model stepping on a map, with Mesa's SolaraViz parts) and Results (the
command line's plots and the effects table, downloads). ``backend`` is the only
module that imports the simulator; ``paths`` keeps every file inside ``scenarios/``
and ``results/``; ``server`` runs Solara offline on 127.0.0.1.

Importing this package imports nothing: the command line loads ``command`` only.
"""
