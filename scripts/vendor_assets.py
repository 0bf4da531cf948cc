#!/usr/bin/env python3
"""Copy the browser files gridlink serves from node_modules into web/static/vendor.

Only the files listed in ASSETS below are copied, keeping each package's own
layout (web/static/vendor/<package>/<path inside the package>) so that relative
URLs inside the CSS files (fonts) keep working. The destination is generated
and git-ignored; web/static/vendor/MANIFEST.json records what was copied.

Idempotent: a file whose size and mtime already match its source is left alone,
so a run with nothing to do takes a few milliseconds. Files that an earlier run
copied but that are no longer wanted are removed. A missing source file is an
error (exit status 1) naming the file and how to fix it.

Usage: python3 scripts/vendor_assets.py [--check] [--quiet]
  --check  copy nothing; exit 1 if anything is missing or out of date
  --quiet  print only the one-line summary (and errors)

Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "web" / "static" / "vendor"
MANIFEST = VENDOR / "MANIFEST.json"

# package name -> paths inside the package. A path ending in "/**" means every
# file below that folder (at least one must exist).
ASSETS: dict[str, list[str]] = {
    "bpmn-js": [
        "dist/bpmn-modeler.production.min.js",
        "dist/bpmn-viewer.production.min.js",
        "dist/bpmn-navigated-viewer.production.min.js",
        "dist/assets/**",
    ],
    # The UMD bundle carries its own copy of preact and @bpmn-io/properties-panel;
    # its stylesheet is the one of @bpmn-io/properties-panel below.
    "bpmn-js-properties-panel": [
        "dist/bpmn-js-properties-panel.umd.js",
    ],
    "@bpmn-io/properties-panel": [
        "dist/assets/properties-panel.css",
    ],
    "dmn-js": [
        "dist/dmn-modeler.production.min.js",
        "dist/dmn-viewer.production.min.js",
        "dist/dmn-navigated-viewer.production.min.js",
        "dist/assets/**",
    ],
    "preact": [
        "dist/preact.umd.js",
        "hooks/dist/hooks.umd.js",
    ],
    "htm": [
        "dist/htm.umd.js",
    ],
    "echarts": [
        "dist/echarts.min.js",
    ],
    # The grid maps: no tile server, grid outlines on a plain background (tiles optional).
    "leaflet": [
        "dist/leaflet.js",
        "dist/leaflet.css",
        "dist/images/**",
    ],
}

# Never vendored even when under a "/**" folder.
SKIP_SUFFIXES = (".map",)


class VendorError(Exception):
    pass


def package_version(package: str) -> str:
    pkg_json = NODE_MODULES / package / "package.json"
    if not pkg_json.is_file():
        raise VendorError(
            f"npm package {package!r} is not installed ({pkg_json.relative_to(ROOT)} is missing).\n"
            "Run `npm ci --ignore-scripts` (or `make setup`) first."
        )
    return json.loads(pkg_json.read_text(encoding="utf-8"))["version"]


def expand(package: str, pattern: str) -> list[str]:
    """Paths (relative to the package folder, '/'-separated) that pattern names."""
    base = NODE_MODULES / package
    if pattern.endswith("/**"):
        folder = base / pattern[:-3]
        if not folder.is_dir():
            raise VendorError(f"folder {folder.relative_to(ROOT)} is missing (wanted by {package!r}).")
        found = sorted(
            p.relative_to(base).as_posix()
            for p in folder.rglob("*")
            if p.is_file() and not p.name.endswith(SKIP_SUFFIXES)
        )
        if not found:
            raise VendorError(f"folder {folder.relative_to(ROOT)} holds no files (wanted by {package!r}).")
        return found
    if not (base / pattern).is_file():
        raise VendorError(
            f"file {(base / pattern).relative_to(ROOT)} is missing (wanted by {package!r}).\n"
            "The installed version may lay out its dist/ folder differently: "
            "check package.json's pin against scripts/vendor_assets.py's ASSETS."
        )
    return [pattern]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_manifest() -> dict:
    try:
        return json.loads(MANIFEST.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="copy nothing; exit 1 if out of date")
    parser.add_argument("--quiet", action="store_true", help="print only the summary line")
    args = parser.parse_args(argv)

    if not NODE_MODULES.is_dir():
        print(
            "vendor_assets: node_modules/ is missing. Run `npm ci --ignore-scripts` (or `make setup`) first.",
            file=sys.stderr,
        )
        return 1

    # Resolve the whole list first so that a missing file fails before anything is copied.
    plan: list[tuple[str, str, str]] = []  # (package, version, relative path)
    errors: list[str] = []
    for package, patterns in ASSETS.items():
        try:
            version = package_version(package)
            for pattern in patterns:
                for rel in expand(package, pattern):
                    plan.append((package, version, rel))
        except VendorError as exc:
            errors.append(str(exc))
    if errors:
        for err in errors:
            print(f"vendor_assets: ERROR: {err}", file=sys.stderr)
        return 1

    old = load_manifest()
    old_hashes = {
        f["dest"]: (f.get("size"), f.get("mtime_ns"), f.get("sha256")) for f in old.get("files", [])
    }

    copied = unchanged = 0
    stale: list[str] = []
    entries = []
    for package, version, rel in plan:
        src = NODE_MODULES / package / rel
        dest = VENDOR / package / rel
        dest_rel = dest.relative_to(VENDOR).as_posix()
        s = src.stat()
        try:
            d = dest.stat()
            up_to_date = d.st_size == s.st_size and d.st_mtime_ns == s.st_mtime_ns
        except FileNotFoundError:
            up_to_date = False
        if not up_to_date:
            if args.check:
                stale.append(dest_rel)
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                tmp = dest.with_name(dest.name + ".tmp")
                shutil.copy2(src, tmp)  # copy2 keeps the mtime, which the next run compares
                os.replace(tmp, dest)
                copied += 1
                if not args.quiet:
                    print(f"  vendored {dest_rel}")
        else:
            unchanged += 1
        prev = old_hashes.get(dest_rel)
        if up_to_date and prev and prev[0] == s.st_size and prev[1] == s.st_mtime_ns and prev[2]:
            digest = prev[2]
        else:
            digest = sha256(src)
        entries.append(
            {
                "package": package,
                "version": version,
                "source": f"node_modules/{package}/{rel}",
                "dest": dest_rel,
                "size": s.st_size,
                "mtime_ns": s.st_mtime_ns,
                "sha256": digest,
            }
        )

    # Remove what an earlier run vendored and is no longer wanted (only files that
    # the old manifest lists: anything else in the folder is left alone).
    wanted = {e["dest"] for e in entries}
    removed = 0
    for dest_rel in sorted(set(old_hashes) - wanted):
        if args.check:
            stale.append(f"{dest_rel} (no longer wanted)")
            continue
        path = VENDOR / dest_rel
        if path.is_file():
            path.unlink()
            removed += 1
            if not args.quiet:
                print(f"  removed  {dest_rel}")
            # drop folders left empty, up to the vendor root
            parent = path.parent
            while parent != VENDOR and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent

    if args.check:
        if stale:
            print(f"vendor_assets: {len(stale)} file(s) out of date, e.g. {stale[0]}; run `make setup`.")
            return 1
        print(f"vendor_assets: {len(entries)} files up to date.")
        return 0

    manifest = {
        "generated_by": "scripts/vendor_assets.py",
        "note": "Generated; do not edit. Paths in 'dest' are relative to web/static/vendor/.",
        "packages": {pkg: ver for pkg, ver, _ in plan},
        "files": entries,
    }
    text = json.dumps(manifest, indent=2, sort_keys=False) + "\n"
    if not MANIFEST.is_file() or MANIFEST.read_text(encoding="utf-8") != text:
        VENDOR.mkdir(parents=True, exist_ok=True)
        MANIFEST.write_text(text, encoding="utf-8")

    total = sum(e["size"] for e in entries)
    print(
        f"vendor_assets: {len(entries)} files ({total / 1e6:.1f} MB) in web/static/vendor: "
        f"{copied} copied, {unchanged} unchanged, {removed} removed."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
