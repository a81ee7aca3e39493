"""Launchers, the process group, collectives that are no-ops in a world of one, and signals.

Knows nothing of models or recipes: the trainer, checkpointing and loaders call it.
"""
