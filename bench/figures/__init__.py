"""The registered figures. Importing a module registers its figures; ``MODULES`` is the run order.

The province import comes first, then the baselines (they need only the generated documents; the HTTP
one is registered in http_submit, right before the engine's HTTP run, so the two run a minute apart),
then the engine's own code paths, then the resource figures, which read what everything before them left
behind (peak memory, database size). An engine step is one more module name here, its figures one
``@figure`` function each.
"""

import importlib

MODULES = (
    "province",
    "baselines",
    "validation",
    "collection",
    "submission",
    "http_submit",
    "approval",
    "reads",
    "form_page",
    "export",
    "cycle",
    "resources",  # last: peaks and sizes after everything else ran
)

for _name in MODULES:
    importlib.import_module(f"{__name__}.{_name}")
