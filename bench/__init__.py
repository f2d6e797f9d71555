"""twoway's benchmarks: each is `python -m bench.<name> [--quick]` and prints its figures and ratios."""
