"""`grassroots bench`: province-scale measurements of the engine next to the baselines it must approach.

Figures are registered by name (``bench.registry``); each is one function of a ``Bench`` (the shared
context: benchmark database, generated province and documents, servers started, memory watch).
``bench.runner.run_bench`` runs them in registration order and returns the report.
"""
