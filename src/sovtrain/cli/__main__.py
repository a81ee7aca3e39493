"""`python -m sovtrain.cli ...`: what the sbatch template runs on every rank."""

from sovtrain.cli.app import main

main()
