"""Shipped models (installed as `magenta_style/checkpoints`)."""
