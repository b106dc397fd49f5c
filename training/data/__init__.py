"""Dataset readers: each turns a native layout into plain lists of tracklets (frames, pid, camid)."""

from training.data.records import DatasetLayoutError, TrackletRecord, VideoDataset

__all__ = ["DatasetLayoutError", "TrackletRecord", "VideoDataset"]
