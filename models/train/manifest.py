"""Rewrites one model's [[model]] block of models/manifest.toml, keeping the others.

The manifest is small and written only by these scripts, so it is emitted by hand (no TOML
writer dependency). Each entry is a dict in the shape models/CONTRACT.md describes.
"""

import fcntl
import hashlib
import json
import pathlib
import tomllib

MODELS_DIR = pathlib.Path(__file__).resolve().parent.parent
MANIFEST = MODELS_DIR / "manifest.toml"
ORDER = ["slotnet", "forecaster", "recommender", "text_encoder"]


def sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v)} to TOML")


def _block(entry: dict) -> str:
    lines = ["[[model]]"]
    tables = {}
    for key, value in entry.items():
        if key in ("inputs", "outputs"):
            lines.append(f"{key} = [\n" + "".join(f"  {_value(x)},\n" for x in value) + "]")
        elif isinstance(value, dict):
            tables[key] = value
        else:
            lines.append(f"{key} = {_value(value)}")
    for name, table in tables.items():
        lines.append(f"\n[model.{name}]")
        lines.extend(f"{k} = {_value(v)}" for k, v in table.items())
    return "\n".join(lines) + "\n"


def update_manifest(entry: dict) -> None:
    with open(MODELS_DIR / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _update(entry)


def _update(entry: dict) -> None:
    models = []
    if MANIFEST.exists():
        models = [m for m in tomllib.loads(MANIFEST.read_text()).get("model", []) if m["name"] != entry["name"]]
    models.append(entry)
    models.sort(key=lambda m: ORDER.index(m["name"]) if m["name"] in ORDER else len(ORDER))
    text = "# Written by models/train/*.py; see models/CONTRACT.md. Do not edit by hand.\nschema = 1\n"
    text += "".join("\n" + _block(m) for m in models)
    tomllib.loads(text)  # what we write must parse
    MANIFEST.write_text(text)
