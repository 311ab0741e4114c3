"""The media layer: ffmpeg and PyAV primitives, probing, frames, the stitch and the timeline.

It knows clips and frames, never the compiler or the build. The primitives are re-exported here
(``from storyboard.media import run_ffmpeg``); the stitch lives in :mod:`storyboard.media.stitch`.
"""

from storyboard.media.ffmpeg import (
    HOUSE_AUDIO_BITRATE,
    HOUSE_CRF,
    ffmpeg_exe,
    h264_level,
    house_audio_args,
    house_audio_extradata,
    house_extradata,
    house_video_args,
    run_ffmpeg,
)
from storyboard.media.frames import (
    extract_last_frame,
)
from storyboard.media.probe import (
    ClipInfo,
    VideoScan,
    count_frames,
    open_probed,
    probe,
    scan_video,
)

__all__ = [
    "ClipInfo",
    "HOUSE_AUDIO_BITRATE",
    "HOUSE_CRF",
    "VideoScan",
    "count_frames",
    "extract_last_frame",
    "ffmpeg_exe",
    "h264_level",
    "house_audio_args",
    "house_audio_extradata",
    "house_extradata",
    "house_video_args",
    "open_probed",
    "probe",
    "run_ffmpeg",
    "scan_video",
]
