"""storyboard: compile a film written as YAML into Kling O1 requests, build it, stitch it."""

__version__ = "0.1.0"
