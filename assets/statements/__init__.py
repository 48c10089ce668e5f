"""Statements (rulebook §6): one XLSX per distributor per quarter, and the finance summary."""
