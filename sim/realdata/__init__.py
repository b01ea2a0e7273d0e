"""Real request logs: import them as traces, fit scenarios to them, replay them, export runs like them.

A city's 311 records are the closest public stand-in for the requests a district's neighbourhood groups
receive: the same street lights, drains, noise and rubbish, with real times, departments and deadlines.
This package reads them (``importer``) into one standard ledger (``trace``), fits a scenario fragment to
it (``fit``), lets a run replay its arrivals (``trace``), and writes a run's event log in the formats
real logs come in (``export``).
"""

from sim.realdata.errors import RealDataError
from sim.realdata.export import export_events
from sim.realdata.fit import fit_trace, write_fragment
from sim.realdata.importer import FORMATS, import_log, parse_map
from sim.realdata.trace import Trace, read_trace, trace_arrivals

__all__ = [
    "FORMATS",
    "RealDataError",
    "Trace",
    "export_events",
    "fit_trace",
    "import_log",
    "parse_map",
    "read_trace",
    "trace_arrivals",
    "write_fragment",
]
