"""The build: selection, the executor, the cache, one build run and its output files."""
