"""Reading files a user hands us, where a bad one must end in a clear error, never a hang or a crash.

    regular_file(path, DataError)             refuse a pipe, a device or a socket by name (opening a
                                              named pipe for reading blocks until someone writes to it)
    read_json(path, DataError, what="...")    JSON with a size and a nesting limit (a file of 100,000
                                              '[' otherwise ends in a RecursionError deep in json)
    sha256_file(path)                         a file's sha256, read in blocks
    as_user_file(path)                        the permissions a file the user made would have (safetensors
                                              writes 0600 whatever the umask)

Every error names the file and the problem.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

MAX_JSON_BYTES = 64 << 20  # a store index, a checkpoint's meta.json: kilobytes; an optimizer's groups: more
MAX_JSON_DEPTH = 64


def regular_file(path, error: type[Exception]) -> Path:
    """`path` if it is a regular file (a symbolic link to one counts), else `error` naming what it is."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise error(f"{path}: missing") from None
    except OSError as e:
        raise error(f"{path}: cannot be read ({e.strerror or e})") from None
    if not stat.S_ISREG(mode):
        kind = (
            "a named pipe"
            if stat.S_ISFIFO(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a folder"
            if stat.S_ISDIR(mode)
            else "not a regular file"
        )
        raise error(f"{path}: is {kind}, not a regular file")
    return path


def json_depth(text: str) -> int:
    """The deepest nesting of [ and { in JSON text, brackets inside strings left out."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def read_json(
    path, error: type[Exception], what: str = "JSON", max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH
):
    """The JSON document in `path`; `error` (naming the file) for a missing, irregular, oversized,
    undecodable, malformed or too deeply nested one."""
    path = regular_file(path, error)
    size = path.stat().st_size
    if size > max_bytes:
        raise error(f"{path}: {size:,} bytes, more than a {what} file can be ({max_bytes:,})")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise error(f"{path}: cannot be read ({e.strerror or e})") from None
    # fewer brackets than the limit cannot nest past it: counted in C, the scan below is Python
    depth = 0 if text.count("[") + text.count("{") <= max_depth else json_depth(text)
    if depth > max_depth:
        raise error(f"{path}: nested {depth} levels deep, more than a {what} file can be ({max_depth})")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:
        raise error(f"{path}: not valid {what} ({e})") from None


def sha256_file(path, block: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(block):
            h.update(chunk)
    return h.hexdigest()


def sha256_json(obj) -> str:
    """The sha256 of a JSON document's canonical form (sorted keys, no spaces): what it says, not how
    it was laid out."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _umask() -> int:
    try:
        for line in open("/proc/self/status"):
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    old = os.umask(0o022)  # elsewhere: read it by setting it (and back at once)
    os.umask(old)
    return old


def as_user_file(path) -> None:
    """Give `path` the mode a file created by the user gets (0666 less the umask): a writer that makes
    its files private (safetensors: 0600) would otherwise hide a shared model from the user's group."""
    os.chmod(path, 0o666 & ~_umask())
