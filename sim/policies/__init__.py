"""The rules of the district, one small class per rule, each with one method that decides.

Like Ciw's routers, a rule is chosen by the scenario and bound to the engine once, when a replication is
built (``sim.policies.rules.bind``); the engine calls its decision method and carries the decision out, so a
scenario can swap a rule without touching the engine:

- ``triage``: settle, pass on or send up (``StandardTriage.decide``);
- ``outcome``: whether a department solves it (``DepartmentOutcome.solved``);
- ``escalation``: what happens to a request unanswered at its response deadline (``check``);
- ``whistle``: when a street blows the whistle (``blows``), and the summons it starts;
- ``routing``: which departmental grid a request reaches (``route``), and the hand-off when wrong;
- ``neighbours``: the neighbours settling a matter among themselves (``settle``);
- ``patience``: when a resident gives up (``gives_up``), and when they raise it again (``repeat``);
- ``arrivals``: generated from rates, or replayed from a trace (``block``);
- ``actions``: who may do what to a request, for operators and for the post a person plays.

Rules read the request and the post through the small protocols of ``sim.policies.base`` and act on
the engine through its ``Floor``, never through its internals.
"""
