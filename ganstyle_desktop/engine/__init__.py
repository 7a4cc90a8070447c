"""The GAN engine: networks, training methods, trainer, model files, stylizer, metrics.

Imports torch, numpy and Pillow only; never Qt (tests/engine/test_import_contracts.py).
"""
