"""Training with review learning: one degradation at a time, replaying the hard samples of earlier stages."""
