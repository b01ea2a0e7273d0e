"""The real-data error type: a request log, trace or event log that cannot be read or written as asked.

Like a clerk handing back a form that cannot be filed, it names the file and the one thing wrong with
it (missing, not CSV or JSON, a required column absent, not UTF-8), and the CLI shows it as one line.
"""

from sim.errors import MicrogovError


class RealDataError(MicrogovError):
    """A real request log, a trace or an export cannot be read or written as asked."""
