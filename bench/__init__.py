"""Benchmarks: scripts run by hand or by ``make bench``; nothing in docent imports them."""
