"""The bottom of the house: errors and exit codes, hashing, YAML reading, cache paths.

Everything may import `core`; `core` imports nothing of sovtrain's.
"""
