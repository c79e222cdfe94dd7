"""The ldap auth method: users log in with their directory password; directory groups map
to policies and to external identity groups."""
