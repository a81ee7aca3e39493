"""sovtrain.slurm"""
