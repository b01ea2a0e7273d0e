"""microgov's simulation library: scenarios, the governance graph, the request-flow engine and experiments.

Headless by design: nothing here imports a terminal UI, so notebooks, scripts and the cluster workers use
exactly the code the console and the ``microgov`` command use.
"""

__version__ = "0.1.0"
