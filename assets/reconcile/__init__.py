"""Reconcile (rulebook §3-§5): claim outcomes, SLA status, exceptions, credits; closing."""
