"""sovtrain.train"""
