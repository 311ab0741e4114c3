"""Test doubles that plug into storyboard the way users' own code would (no patching)."""
