"""Delivery: FINAL statements of a closed quarter sent to distributors, every attempt logged."""
