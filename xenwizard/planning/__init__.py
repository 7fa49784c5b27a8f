"""Answers + facts -> Plan: the release profiles, preflight refusals, validators, rendering."""
