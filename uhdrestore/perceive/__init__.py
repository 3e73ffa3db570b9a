"""The degradation perceiver: detect which kinds of damage a photo has, how bad, and its quality tier."""

from .model import (
    PERCEIVED_KINDS,
    TIERS,
    Perceiver,
    PerceiverConfig,
    PerceiverOutput,
    views,
)

__all__ = ["PERCEIVED_KINDS", "TIERS", "Perceiver", "PerceiverConfig", "PerceiverOutput", "views"]
