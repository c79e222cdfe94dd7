"""Rate-limit quotas: rules (model, table), cluster-wide counting (counter), the pipeline
hook (enforce) and login-role lookup (roles)."""
