"""sovtrain.data"""
