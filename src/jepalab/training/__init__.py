"""Training: the JEPA objectives, the one loop (train, pretrain), checkpoints, many processes, logs, and the
feature cache of frozen encoders."""
