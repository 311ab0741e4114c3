"""Deprecated: ``python -m storyboard.schema`` moved to ``python -m storyboard.compiler.schema``."""

import warnings

warnings.warn(
    "storyboard.schema moved to storyboard.compiler.schema; `python -m storyboard.schema` will be removed in 0.3",
    DeprecationWarning,
    stacklevel=2,
)

from storyboard.compiler.schema import *  # noqa: E402,F403
from storyboard.compiler.schema import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
