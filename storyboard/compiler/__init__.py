"""The compiler: storyboard YAML → one :class:`~storyboard.plan.Plan`. Pure.

load → validate (spec) → resolve (assets) → render (jinja) → tags (the @-mapper) → compile.
It reads the storyboard, its libraries and the asset bytes, and never the network, the cache or
the clock; it imports nothing from the build, media, backends, views or cli.
"""

from storyboard.compiler.compile import CompileOptions, compile_file

__all__ = ["CompileOptions", "compile_file"]
