"""The text a PDF draws, glyph by glyph, in the order it is placed on the page.

pdftotext puts right-to-left text back into reading order and folds Arabic presentation forms,
so it cannot tell a badge that prints a name joined and ordered from one that prints it as
loose letters backwards. This reads reportlab's own output (content streams and each font's
ToUnicode map) and returns what each line draws, left to right, as the code points of the
glyphs: exactly what ends up on paper.
"""

from __future__ import annotations

import base64
import re
import zlib

_OBJECT = re.compile(rb"(\d+) 0 obj\s*(.*?)endobj", re.DOTALL)
_FONT_REFERENCE = re.compile(rb"/([A-Za-z0-9_+.-]+) (\d+) 0 R")
_TOKEN = re.compile(rb"\(|<[0-9A-Fa-f\s]*>|\[|\]|/[^\s/\[\]()<>]+|[^\s/\[\]()<>]+")
#: Operators that start a new line inside a text object.
_NEW_LINE = {b"Td", b"TD", b"T*", b"Tm", b"'", b'"'}


def _stream(body: bytes) -> bytes:
    head, _, rest = body.partition(b"stream")
    data = rest.lstrip(b"\r\n").rsplit(b"endstream", 1)[0].rstrip(b"\r\n")
    if b"/ASCII85Decode" in head:
        data = base64.a85decode(data.strip(), adobe=True)
    if b"/FlateDecode" in head:
        data = zlib.decompress(data)
    return data


def _to_unicode(cmap: bytes) -> dict[int, str]:
    table: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.DOTALL):
        for code, text in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            table[int(code, 16)] = bytes.fromhex(text.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", cmap, re.DOTALL):
        for first, last, start in re.findall(
            rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
        ):
            base = int(start, 16)
            for offset, code in enumerate(range(int(first, 16), int(last, 16) + 1)):
                table[code] = chr(base + offset)
    return table


def _literal(data: bytes, start: int) -> tuple[bytes, int]:
    """A PDF string literal starting after its ``(``: its bytes and the index after ``)``."""
    out, depth, index = bytearray(), 1, start
    while True:
        char = data[index : index + 1]
        index += 1
        if char == b"\\":
            following = data[index : index + 1]
            if following in b"01234567":
                digits = re.match(rb"[0-7]{1,3}", data[index : index + 3])
                assert digits is not None
                out.append(int(digits.group(), 8) & 0xFF)
                index += len(digits.group())
                continue
            index += 1
            out.extend(
                {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}.get(
                    following, following
                )
            )
            continue
        if char == b"(":
            depth += 1
        elif char == b")":
            depth -= 1
            if depth == 0:
                return bytes(out), index
        out.extend(char)


def _fonts(objects: dict[int, bytes]) -> dict[bytes, dict[int, str]]:
    """Each font resource name with its code-to-Unicode table."""
    fonts: dict[bytes, dict[int, str]] = {}
    for body in objects.values():
        if b"/Type /Font" not in body or b"/ToUnicode" not in body:
            continue
        name = re.search(rb"/Name /(\S+)", body)
        unicode_ref = re.search(rb"/ToUnicode (\d+) 0 R", body)
        if name and unicode_ref:
            fonts[name.group(1)] = _to_unicode(_stream(objects[int(unicode_ref.group(1))]))
    return fonts


class _Shown(bytes):
    """A string operand (as opposed to a name or a number)."""


def drawn_lines(pdf: bytes) -> list[str]:
    """Each line of text the PDF draws, its glyphs as code points, left to right as placed."""
    objects = {int(m.group(1)): m.group(2) for m in _OBJECT.finditer(pdf)}
    fonts = _fonts(objects)
    contents = [
        int(ref) for body in objects.values() for ref in re.findall(rb"/Contents (\d+) 0 R", body)
    ]
    lines: list[str] = []
    for number in contents:
        data = _stream(objects[number])
        font: dict[int, str] = {}
        operands: list[object] = []
        current: list[str] = []
        array: list[object] | None = None
        index = 0
        while (match := _TOKEN.search(data, index)) is not None:
            token, index = match.group(), match.end()
            target = array if array is not None else operands
            if token == b"(":
                value, index = _literal(data, index)
                target.append(_Shown(value))
            elif token.startswith(b"<"):
                target.append(_Shown(bytes.fromhex(token[1:-1].decode())))
            elif token == b"[":
                array = []
            elif token == b"]":
                operands.append(array or [])
                array = None
            elif token.startswith(b"/") or re.fullmatch(rb"[-+.0-9]+", token):
                target.append(token)
            else:
                if token == b"Tf" and len(operands) >= 2:
                    font = fonts.get(bytes(operands[-2])[1:], {})  # type: ignore[call-overload]
                elif token in _NEW_LINE and current:
                    lines.append("".join(current))
                    current = []
                if token in (b"Tj", b"'", b'"', b"TJ") and operands:
                    shown = operands[-1]
                    for part in shown if isinstance(shown, list) else [shown]:
                        if isinstance(part, _Shown):
                            current.extend(font.get(byte, "\ufffd") for byte in part)
                elif token == b"ET" and current:
                    lines.append("".join(current))
                    current = []
                operands = []
    return lines
