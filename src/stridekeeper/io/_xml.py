"""Hardened XML parsing shared by the TCX, GPX and Apple Health readers.

Every XML file stridekeeper reads goes through :mod:`defusedxml`: a document that declares
an entity (the "billion laughs" expansion bomb, an external entity pointing at a local file
or a URL) is refused before anything is expanded or fetched. DTDs without entity declarations
(Apple Health's ``export.xml`` carries one) are allowed.

Two ways in, both streaming:

* :func:`iter_events` -- ``defusedxml.ElementTree.iterparse`` over bytes, for the small
  per-activity formats (TCX, GPX): elements are built and the reader clears them once used.
* :func:`sax_feed` -- ``defusedxml``'s hardened expat SAX reader fed in chunks from a
  stream, for exports of hundreds of megabytes (Apple Health): no tree is built at all, so
  memory does not grow with the file.

Damage is reported as :class:`XmlDamage` (a :class:`~stridekeeper.errors.CorruptFileError`
carrying the line, the column and whether the file merely ends early), so a reader can keep
what was complete before it and flag the rest.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO, Any

from ..errors import CorruptFileError

__all__ = [
    "XmlDamage",
    "iter_events",
    "local_name",
    "looks_like_xml",
    "refusal",
    "sax_feed",
    "sniff_root",
]

#: expat error codes that mean "the document ended early" (cut-off download, full disk).
_TRUNCATION_CODES = frozenset({3, 5, 6, 20})  # no elements, unclosed token, partial char, CDATA
_TRUNCATION_WORDS = ("no element found", "unclosed token", "partial character", "unclosed cdata")

#: Size of the chunks fed to the SAX parser. [bytes]
SAX_CHUNK_BYTES = 1 << 20


class XmlDamage(CorruptFileError):
    """The XML is cut short or malformed at a known place.

    Attributes
    ----------
    line, column
        Where the parser stopped (1-based line, 0-based column), when known.
    truncated
        True when the document simply ends early (everything before is intact).
    """

    def __init__(
        self, path: str | None, reason: str, *, line: int | None, column: int | None,
        truncated: bool,
    ) -> None:  # fmt: skip
        self.line = line
        self.column = column
        self.truncated = truncated
        where = (
            f" (line {line}, column {column})" if line is not None and "line" not in reason else ""
        )
        super().__init__(path, reason + where)


def refusal(name: str, exc: BaseException) -> CorruptFileError:
    """The error for a document defusedxml refused (entities, external references).

    Parameters
    ----------
    name
        The file, for the message.
    exc
        The ``defusedxml`` exception.

    Returns
    -------
    CorruptFileError
        To be raised by the caller; nothing of the document is used.
    """
    kind = type(exc).__name__
    what = {
        "EntitiesForbidden": "declares entities",
        "ExternalReferenceForbidden": "refers to an external entity (a file or URL)",
        "DTDForbidden": "carries a document type definition",
    }.get(kind, "uses a forbidden XML construct")
    return CorruptFileError(
        name,
        f"refused: the XML {what} ({exc}); stridekeeper never expands entities or fetches "
        "external references (protection against entity-expansion and external-entity "
        "attacks). Activity exports from watches and apps never need them.",
    )


def _is_refusal(exc: BaseException) -> bool:
    from defusedxml import DefusedXmlException

    return isinstance(exc, DefusedXmlException)


def _damage(name: str, message: str, line: int | None, column: int | None,
            code: int | None) -> XmlDamage:  # fmt: skip
    low = message.lower()
    # these errors only arise where the bytes run out: the document was cut short
    truncated = (code in _TRUNCATION_CODES) or any(w in low for w in _TRUNCATION_WORDS)
    reason = "XML ends early (file truncated?)" if truncated else f"malformed XML ({message})"
    return XmlDamage(name, reason, line=line, column=column, truncated=truncated)


def local_name(tag: Any) -> str:
    """An element's name without namespace URI (``{uri}name``) or prefix (``ns3:name``).

    Exporters bind the Garmin extension namespaces to different prefixes (``ns3``, ``gpxtpx``,
    ``tpx``, the default namespace...); readers match on the local name only.
    """
    if not isinstance(tag, str):
        return ""
    if tag[:1] == "{":
        tag = tag.rpartition("}")[2]
    return tag.rpartition(":")[2]


def iter_events(
    data: bytes, name: str, events: tuple[str, ...] = ("start", "end")
) -> Iterator[tuple[str, Any]]:
    """Stream ``(event, element)`` pairs from an XML document, hardened.

    Parameters
    ----------
    data
        The document's bytes (any encoding expat knows, with or without a BOM).
    name
        The file, for messages.
    events
        ``iterparse`` events to report.

    Yields
    ------
    (str, xml.etree.ElementTree.Element)
        As ``iterparse`` gives them; the caller clears elements it has used.

    Raises
    ------
    CorruptFileError
        The document declares entities or external references (refused before use).
    XmlDamage
        After the last complete event, when the document is malformed or ends early.
    """
    from xml.etree.ElementTree import ParseError

    from defusedxml.ElementTree import iterparse

    stream = io.BytesIO(data)
    try:
        yield from iterparse(stream, events=events)
    except ParseError as exc:
        line, column = getattr(exc, "position", (None, None))
        raise _damage(name, str(exc), line, column, getattr(exc, "code", None)) from None
    except (LookupError, UnicodeError) as exc:  # unknown or inconsistent declared encoding
        raise XmlDamage(name, f"unreadable text encoding ({exc})", line=None, column=None,
                        truncated=False) from None  # fmt: skip
    except Exception as exc:
        if _is_refusal(exc):
            raise refusal(name, exc) from None
        raise


def sax_feed(stream: IO[bytes], name: str, handler: Any) -> None:
    """Feed a binary stream, chunk by chunk, to defusedxml's hardened SAX (expat) reader.

    Nothing but the handler's own state is kept: memory stays flat in the file size.

    Parameters
    ----------
    stream
        Binary stream positioned at the start of the document.
    name
        The file, for messages.
    handler
        A :class:`xml.sax.handler.ContentHandler`.

    Raises
    ------
    CorruptFileError
        The document declares entities or external references.
    XmlDamage
        The document is malformed or ends early; everything before was handed over.
    """
    from xml.sax import SAXParseException

    import defusedxml.sax

    parser = defusedxml.sax.make_parser()
    parser.setContentHandler(handler)
    try:
        while True:
            try:
                chunk = stream.read(SAX_CHUNK_BYTES)
            except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as exc:
                raise XmlDamage(name, f"compressed data damaged ({exc})", line=None,
                                column=None, truncated=True) from None  # fmt: skip
            if not chunk:
                break
            parser.feed(chunk)
        parser.close()
    except SAXParseException as exc:
        raise _damage(name, exc.getMessage(), exc.getLineNumber(), exc.getColumnNumber(),
                      None) from None  # fmt: skip
    except (LookupError, UnicodeError) as exc:
        raise XmlDamage(name, f"unreadable text encoding ({exc})", line=None, column=None,
                        truncated=False) from None  # fmt: skip
    except Exception as exc:
        if _is_refusal(exc):
            raise refusal(name, exc) from None
        raise


# --------------------------------------------------------------------------- sniffing
_DECL = re.compile(r"<\?.*?\?>", re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_DOCTYPE = re.compile(r"<!DOCTYPE\s+([^\s\[>]+)", re.S)
_ROOT = re.compile(r"<([A-Za-z_][\w.\-]*(?::[\w.\-]+)?)[\s/>]")


def _decode_head(head: bytes) -> str | None:
    for bom, enc in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                     (codecs.BOM_UTF16_BE, "utf-16-be")):  # fmt: skip
        if head.startswith(bom):
            return head[len(bom) :].decode(enc, errors="ignore")
    if head[:2] == b"<\x00":
        return head.decode("utf-16-le", errors="ignore")
    if head[:2] == b"\x00<":
        return head.decode("utf-16-be", errors="ignore")
    return head.decode("utf-8", errors="ignore")


def sniff_root(head: bytes) -> str | None:
    """The root element's local name from a document's first bytes, or None.

    Skips a byte-order mark, whitespace, the XML declaration, processing instructions and
    comments; a ``<!DOCTYPE name ...>`` gives the root's name (XML requires them to agree),
    which matters for Apple Health exports whose DTD fills the first kilobytes.

    Parameters
    ----------
    head
        The first bytes of the file (a few hundred are enough).

    Returns
    -------
    str or None
        E.g. ``"TrainingCenterDatabase"``, ``"gpx"``, ``"HealthData"``; None when the bytes
        are not XML or the root is beyond ``head``.
    """
    text = _decode_head(head)
    if text is None:
        return None
    text = text.lstrip()
    if not text.startswith("<"):
        return None
    pos = 0
    while True:
        text = text[pos:].lstrip()
        if text.startswith("<?"):
            m = _DECL.match(text)
            if m is None:
                return None
            pos = m.end()
            continue
        if text.startswith("<!--"):
            m = _COMMENT.match(text)
            if m is None:
                return None
            pos = m.end()
            continue
        if text.startswith("<!DOCTYPE"):
            m = _DOCTYPE.match(text)
            return local_name(m.group(1)) if m else None
        m = _ROOT.match(text)
        return local_name(m.group(1)) if m else None


def looks_like_xml(head: bytes) -> bool:
    """True when the first bytes start an XML document (after a BOM and whitespace)."""
    text = _decode_head(head[:64])
    return bool(text) and text.lstrip().startswith("<")
