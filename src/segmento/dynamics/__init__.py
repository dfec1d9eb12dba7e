"""Dynamics: snapshots per period, transition matrices, trajectories, Markov view, alerts."""
