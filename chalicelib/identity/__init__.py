"""The identity store: entities, aliases and groups, and what they grant at request time."""
