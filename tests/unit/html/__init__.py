"""Tests of tlsstate/html/."""
