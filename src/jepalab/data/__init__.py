"""Episodes on disk, their collection from worlds, sequence sampling for training, and the strict JSON
every file jepalab writes is made with (jsonout)."""

from .store import DataError, Episode, EpisodeStore

__all__ = ["DataError", "Episode", "EpisodeStore"]
