"""The operators' register: the queue store, who is acting, and intake.

Like a street command centre's case office, this is where real work is recorded: the register of
requests and of every action anyone took on them (``store``), the account acting (``identity``) and the
front desk that checks request files in (``intake``). It does not import the simulation engine; a
training shift (``sim.training``) connects the two.
"""
