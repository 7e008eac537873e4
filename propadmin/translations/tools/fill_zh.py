"""Maintainer tool: merge zh.json into the Chinese catalog and list what is missing.

    .venv/bin/python propadmin/translations/tools/fill_zh.py

Extract first (make extract-messages). Exits non-zero when a message has no translation.
"""

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PO = ROOT / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"


def main() -> int:
    table = json.loads((HERE / "zh.json").read_text(encoding="utf-8"))
    with open(ROOT / "messages.pot", "rb") as fh:
        template = read_po(fh)
    template.locale = "zh_Hans_CN"
    missing = []
    for message in template:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in table:
            message.string = table[key] if isinstance(message.id, str) else (table[key],)
        else:
            missing.append(key)
    template.fuzzy = False
    PO.parent.mkdir(parents=True, exist_ok=True)
    with open(PO, "wb") as fh:
        write_po(fh, template, width=100, omit_header=False)
    for key in missing:
        print("missing:", key)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
