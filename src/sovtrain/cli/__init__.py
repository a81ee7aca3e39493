"""The `sovtrain` command line: a command table (`app.py`) over thin commands, one module per noun.

Commands parse arguments, call the package that owns the work, and print the outcome; they hold
no business logic. The entry point is `sovtrain.cli.app:main` (also `python -m sovtrain.cli`).
"""
