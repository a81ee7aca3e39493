"""sovtrain: a small, measured training stack for bilingual sovereign domain models."""

__version__ = "0.1.0"
