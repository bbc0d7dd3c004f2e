"""Delivery: formats per destination, metadata, albums, CUE and DDP."""
