"""Evaluations: goal reaching by MPC (control) and linear probes."""
