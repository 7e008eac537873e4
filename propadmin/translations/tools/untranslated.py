"""Maintainer tool: list the messages of the Chinese catalog that have no translation.

    .venv/bin/python propadmin/translations/tools/untranslated.py

The ``.po`` file is the one catalog: add the Chinese there, next to the English.
Exits non-zero when a message is untranslated.
"""

import sys
from pathlib import Path

from babel.messages.pofile import read_po

PO = Path(__file__).resolve().parent.parent / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"


def untranslated(path: Path = PO) -> list[str]:
    with open(path, "rb") as fh:
        catalog = read_po(fh)
    missing = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


if __name__ == "__main__":
    missing = untranslated()
    for key in missing:
        print("untranslated:", key)
    sys.exit(1 if missing else 0)
