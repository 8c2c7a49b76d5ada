"""Episodes on disk, their collection from worlds, and sequence sampling for training."""

from .store import DataError, Episode, EpisodeStore

__all__ = ["DataError", "Episode", "EpisodeStore"]
