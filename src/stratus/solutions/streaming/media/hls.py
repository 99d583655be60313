"""Live HLS with ffmpeg: FLV tags in on stdin, an HLS playlist and MPEG-TS segments out.

Passthrough (``-c copy``) by default: segments are cut at the encoder's keyframes, so a
device sending a keyframe every second gives ~1 s segments. ``ladder=True`` transcodes to
720p/480p/360p variants with a master playlist (CPU heavy; MediaLive's job on AWS).

The playlist is an EVENT-style list that keeps every segment (``hls_list_size 0``): the same
files are the live stream and, once ``#EXT-X-ENDLIST`` is appended, the recording. A reconnect
within the window appends to the same playlist with a discontinuity (``append_list``).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
import threading
from pathlib import Path
from typing import IO

from stratus.solutions.streaming.media.rtmp import FLV_HEADER, flv_tag

log = logging.getLogger("stratus.streaming.hls")

PLAYLIST = "index.m3u8"
LADDER = (("720p", 1280, 720, "2500k"), ("480p", 854, 480, "1200k"), ("360p", 640, 360, "700k"))


def ffmpeg_path() -> str | None:
    """The ffmpeg executable, or None when it is not installed."""
    return shutil.which("ffmpeg")


def packager_command(
    ffmpeg: str, out_dir: Path, *, segment_s: float = 1.0, ladder: bool = False,
    source: Path | None = None, transcode: bool = False, audio: bool = True,
) -> list[str]:
    """The ffmpeg command line of the packager: FLV on stdin (live), or a ``source`` file
    (an uploaded video). ``transcode`` re-encodes a passthrough output to H.264/AAC at the
    source's size, for a source a browser cannot play as is."""
    if source is None:
        head = [
            ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin",
            "-fflags", "+genpts", "-analyzeduration", "1000000", "-f", "flv", "-i", "pipe:0",
        ]
    else:
        head = [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                "-i", str(source)]
    flags = "omit_endlist+append_list+discont_start+independent_segments+program_date_time"
    hls = ["-f", "hls", "-hls_time", str(segment_s), "-hls_list_size", "0", "-hls_flags", flags]
    if not ladder:
        codecs = (["-map", "0:v:0", "-map", "0:a:0?", "-c:v", "libx264", "-preset", "veryfast",
                   "-pix_fmt", "yuv420p", "-g", "48", "-c:a", "aac"] if transcode
                  else ["-map", "0", "-c", "copy"])
        return [
            *head, *codecs, *hls,
            "-hls_segment_filename", str(out_dir / "seg_%05d.ts"), str(out_dir / PLAYLIST),
        ]
    splits = len(LADDER)
    graph = f"[0:v]split={splits}" + "".join(f"[v{i}]" for i in range(splits)) + ";"
    graph += ";".join(
        f"[v{i}]scale={w}:{h}[o{i}]" for i, (_, w, h, _) in enumerate(LADDER)
    )
    maps: list[str] = []
    for i, (_, _, _, rate) in enumerate(LADDER):
        maps += ["-map", f"[o{i}]", *(["-map", "0:a?"] if audio else []),
                 f"-c:v:{i}", "libx264", f"-b:v:{i}", rate]
    var_map = " ".join(f"v:{i},{f'a:{i},' if audio else ''}name:{name}"
                       for i, (name, *_rest) in enumerate(LADDER))
    return [
        *head, "-filter_complex", graph, *maps, "-preset", "veryfast", "-g", "30",
        "-sc_threshold", "0", "-c:a", "aac", *hls, "-master_pl_name", PLAYLIST,
        "-var_stream_map", var_map,
        "-hls_segment_filename", str(out_dir / "%v" / "seg_%05d.ts"),
        str(out_dir / "%v" / "index.m3u8"),
    ]


class HlsPackager:
    """An ffmpeg process turning one publish into HLS under ``out_dir``; an ``FlvSink``."""

    def __init__(
        self,
        out_dir: Path,
        *,
        ffmpeg: str | None = None,
        segment_s: float = 1.0,
        ladder: bool = False,
    ) -> None:
        exe = ffmpeg or ffmpeg_path()
        if exe is None:
            raise RuntimeError("ffmpeg is not installed: live HLS needs it")
        out_dir.mkdir(parents=True, exist_ok=True)
        self.out_dir = out_dir
        self._log = (out_dir / "ffmpeg.log").open("ab")
        self.process = subprocess.Popen(
            packager_command(exe, out_dir, segment_s=segment_s, ladder=ladder),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        stdin = self.process.stdin
        assert stdin is not None
        self._stdin: IO[bytes] = stdin
        self._lock = threading.Lock()
        self._broken = False
        self._write(FLV_HEADER)

    def _write(self, data: bytes) -> None:
        if self._broken:
            return
        try:
            self._stdin.write(data)
        except (BrokenPipeError, ValueError, OSError):
            self._broken = True
            log.error("hls packager for %s stopped early (see ffmpeg.log)", self.out_dir)

    def write_tag(self, tag_type: int, timestamp_ms: int, payload: bytes) -> None:
        """Forward one FLV tag to ffmpeg."""
        with self._lock:
            self._write(flv_tag(tag_type, timestamp_ms, payload))

    def close(self) -> None:
        """End of stream: ffmpeg flushes the last segment and exits."""
        with self._lock, contextlib.suppress(OSError):
            self._stdin.close()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def finish_playlist(out_dir: Path) -> None:
    """Mark every media playlist under ``out_dir`` as complete (``#EXT-X-ENDLIST``)."""
    for playlist in out_dir.rglob("*.m3u8"):
        text = playlist.read_text(encoding="utf-8")
        if "#EXT-X-TARGETDURATION" in text and "#EXT-X-ENDLIST" not in text:
            playlist.write_text(text.rstrip("\n") + "\n#EXT-X-ENDLIST\n", encoding="utf-8")


def playlist_duration_s(text: str) -> float:
    """Sum of the ``#EXTINF`` durations of a media playlist."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#EXTINF:"):
            try:
                total += float(line[8:].split(",", 1)[0])
            except ValueError:
                continue
    return total


def make_thumbnail(out_dir: Path, *, ffmpeg: str | None = None) -> Path | None:
    """A JPEG from the first segment (post-stream processing); None when it cannot be made."""
    exe = ffmpeg or ffmpeg_path()
    segments = sorted(out_dir.rglob("seg_*.ts"))
    if exe is None or not segments:
        return None
    target = out_dir / "thumbnail.jpg"
    result = subprocess.run(
        [exe, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", str(segments[0]),
         "-frames:v", "1", "-vf", "scale=320:-2", str(target)],
        capture_output=True, timeout=30, check=False,
    )
    return target if result.returncode == 0 and target.exists() else None


def probe_codecs(source: Path) -> tuple[str, str] | None:
    """``(video codec, audio codec)`` of a media file (audio ``""`` when silent); None when
    ffprobe finds no video stream in it (not a video, or ffprobe is missing)."""
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return None
    result = subprocess.run(
        [ffprobe, "-v", "error", "-show_entries", "stream=codec_type,codec_name",
         "-of", "csv=p=0", str(source)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    video = audio = ""
    for line in result.stdout.splitlines():
        name, _, kind = line.strip().partition(",")
        if kind == "video" and not video:
            video = name
        elif kind == "audio" and not audio:
            audio = name
    return (video, audio) if result.returncode == 0 and video else None


class TranscodeError(Exception):
    """An uploaded file could not be turned into HLS (the reason is for its owner)."""


def transcode_file(
    source: Path, out_dir: Path, *, ladder: bool = False, segment_s: float = 2.0,
    timeout_s: float = 840.0,
) -> None:
    """An uploaded video -> the same HLS layout as a recording (ladder or passthrough).

    Passthrough copies H.264/AAC as it is (what a browser plays through hls.js) and
    re-encodes anything else to H.264/AAC at the source's size."""
    exe = ffmpeg_path()
    if exe is None:
        raise TranscodeError("ffmpeg is not installed")
    codecs = probe_codecs(source)
    if codecs is None:
        raise TranscodeError("not a video file (no video stream found)")
    video, audio = codecs
    copy_ok = video == "h264" and audio in ("aac", "")
    out_dir.mkdir(parents=True, exist_ok=True)
    command = packager_command(exe, out_dir, segment_s=segment_s, ladder=ladder,
                               source=source, transcode=not copy_ok, audio=bool(audio))
    try:
        result = subprocess.run(command, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise TranscodeError(f"transcoding took longer than {timeout_s:.0f} s") from exc
    if result.returncode != 0 or not (out_dir / PLAYLIST).exists():
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise TranscodeError(f"ffmpeg failed: {detail[0][:200]}")
