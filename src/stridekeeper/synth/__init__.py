"""Simulated runs, athletes and files with known truth."""
