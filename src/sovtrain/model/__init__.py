"""sovtrain.model"""
