"""Retraining a found architecture from scratch (the DARTS evaluation recipe)."""

from dnas.train.config import RetrainConfig
from dnas.train.trainer import RetrainResult, Trainer, retrain

__all__ = ["RetrainConfig", "RetrainResult", "Trainer", "retrain"]
