"""Rate-limit quotas: rules (model, table), cluster-wide counting (counter), the pipeline
hook (enforce) and login-role lookup (roles).

Only this name is loaded at cold start: the pipeline imports the rest once the cluster's
``quotas`` generation shows that a rule or a config was ever written.
"""

QUOTAS_GENERATION = "quotas"
