"""Synthetic inputs in the rulebook's layout (`rma-recon generate`): the sample data, the tests' and
benchmarks' data sets."""
