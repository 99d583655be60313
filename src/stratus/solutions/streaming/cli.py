"""`stratus streaming`: the device simulator and the site bundle for AWS."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import click

from stratus.solutions.streaming.media.device import device_command


def _pair(api: str, code: str, name: str) -> tuple[str, str]:
    body = json.dumps({"code": code, "name": name}).encode()
    if not api.startswith(("http://", "https://")):
        raise click.ClickException("--api must be an http(s) URL")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        api.rstrip("/") + "/devices/pair", data=body, method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - user URL
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")
        raise click.ClickException(f"pairing refused ({exc.code}): {detail}") from exc
    except urllib.error.URLError as exc:
        raise click.ClickException(f"cannot reach {api}: {exc.reason}") from exc
    click.echo(f"paired as device {answer['device']['device_id']}")
    click.echo(f"stream key: {answer['stream_key']} (shown once: keep it)")
    return str(answer["stream_key"]), str(answer["ingest_url"])


@click.group("streaming")
def command() -> None:
    """Live streaming platform (solution 5): the device simulator, the site bundle."""


@command.command("site-bundle")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--api-base", default="/api", show_default=True,
              help="Where the pages call the API: /api is the distribution's own /api/*.")
@click.option("--chat-url", default="", help="The chat WebSocket URL (the ChatUrl output).")
def site_bundle(out: Path, api_base: str, chat_url: str) -> None:
    """Write the site for AWS into OUT: pages, vendor/hls.min.js and config.json.

    Then: aws s3 sync OUT s3://<SiteBucketName> --delete, and open the SiteUrl output.
    """
    from stratus.solutions.streaming.sitebundle import BundleError, aws_config, write_bundle

    try:
        written = write_bundle(out, aws_config(api_base, chat_url))
    except BundleError as exc:
        raise click.ClickException(str(exc)) from exc
    for name in written:
        click.echo(f"wrote {out / name}")
    click.echo(f"next: aws s3 sync {out} s3://<SiteBucketName> --delete")


@command.command()
@click.option("--key", default=None, help="The device's stream key.")
@click.option("--pair", "code", default=None, help="Pair first with this code (needs --api).")
@click.option("--api", default="http://127.0.0.1:8000/streaming", show_default=True,
              help="The streaming API base URL (for --pair).")
@click.option("--name", default="simulated device", show_default=True)
@click.option("--ingest", default=None,
              help="RTMP ingest base URL (default: the one pairing gave, else "
                   "rtmp://127.0.0.1:1935/live).")
@click.option("--size", default="640x360", show_default=True, help="Picture size WxH.")
@click.option("--duration", type=float, default=None, help="Stop after N seconds.")
@click.option("--dry-run", is_flag=True, help="Print the ffmpeg command instead of running it.")
def device(
    key: str | None, code: str | None, api: str, name: str, ingest: str | None, size: str,
    duration: float | None, dry_run: bool,
) -> None:
    """Push an ffmpeg test source (moving picture, burnt-in clock, tone) over RTMP."""
    paired_ingest = None
    if code:
        key, paired_ingest = _pair(api, code, name)
    if not key:
        raise click.UsageError("give --key KEY (or --pair CODE)")
    url = ingest or paired_ingest or "rtmp://127.0.0.1:1935/live"
    try:
        cmd = device_command(url, key, size=size, duration_s=duration)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    if dry_run:
        click.echo(" ".join(cmd))
        return
    click.echo(f"streaming to {url}/<key> (Ctrl-C to stop)")
    try:
        result = subprocess.run(cmd, check=False)
    except KeyboardInterrupt:
        click.echo("stopped")
        return
    if result.returncode != 0:
        click.secho("the ingest refused or dropped the stream (wrong or revoked key?)",
                    fg="red", err=True)
        sys.exit(result.returncode)
