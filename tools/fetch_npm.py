"""Fetch the website's browser assets from the npm registry, with Python alone (no Node.js needed).

Reads the exact versions and integrity hashes of the direct dependencies in package.json from
package-lock.json, downloads each package's tarball from the registry (``NPM_CONFIG_REGISTRY``,
default https://registry.npmjs.org/), checks its sha512 against the lock file, and unpacks it into
node_modules/<name>/, as ``npm ci`` would for these packages. Their own dependencies are not
installed: the site uses only the prebuilt files these packages ship (MathJax's es5 bundle,
require.js, the widget manager's embed-amd.js and fonts, axe.min.js).

    python tools/fetch_npm.py            # from the repository root
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tarball_url(registry: str, name: str, version: str) -> str:
    basename = name.split("/")[-1]
    return f"{registry.rstrip('/')}/{name}/-/{basename}-{version}.tgz"


def check_integrity(data: bytes, integrity: str, name: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise SystemExit(f"{name}: package-lock.json integrity must be sha512-..., got {integrity!r}")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if actual != expected:
        raise SystemExit(f"{name}: downloaded tarball does not match package-lock.json (sha512 {actual} != {expected})")


def unpack(data: bytes, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts[1:]  # strip the tarball's top folder ("package/")
            if not parts or ".." in parts or not (member.isfile() or member.isdir()):
                continue
            dest = target.joinpath(*parts)
            if member.isdir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(tar.extractfile(member).read())


def main() -> int:
    wanted = json.loads((ROOT / "package.json").read_text())["dependencies"]
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    registry = (
        os.environ.get("NPM_CONFIG_REGISTRY") or os.environ.get("npm_config_registry") or "https://registry.npmjs.org/"
    )
    for name, version in wanted.items():
        entry = locked.get(f"node_modules/{name}")
        if entry is None or entry.get("version") != version:
            raise SystemExit(f"{name}@{version} from package.json is not in package-lock.json; run `npm install` once")
        url = entry.get("resolved") or tarball_url(registry, name, version)
        with urllib.request.urlopen(url, timeout=120) as response:
            data = response.read()
        check_integrity(data, entry["integrity"], name)
        unpack(data, ROOT / "node_modules" / name)
        print(f"fetched {name}@{version} ({len(data) / 1e6:.1f} MB, sha512 verified)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
