"""Word statistics for text."""
from .stats import stats

__all__ = ["stats"]
