"""Analyses of the engine and of runs, as an auditor reads a ledger: checks and answers from the outside.

The validation suite holds the engine against queueing theory and a peer simulator (``validation``);
staffing answers start from Erlang C (``staffing``); an event log can be rewound to any moment
(``replay``) or summed per post (``logstats``); a built district is compared with the reform's reported
facts (``brief``).
"""
