"""Tests only: moving the wall clock for a whole run (see clock_shift)."""
