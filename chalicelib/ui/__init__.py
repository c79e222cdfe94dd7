"""The web UI: static ES modules under static/, served by serve.py at /ui/."""
