"""Engagement summaries: reading "14 comments, 3 replies, 20 shares, 51 likes" into counts.

A thread reply under a shared post, or the arguments of `/twoway log <url> …`,
may state a post's engagement. This module decides whether a text is such a
summary and, if so, what it says. Pure: no Slack, no database, no clock.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, fields, replace
from decimal import Decimal

MAX_COUNT = 2**31 - 1  # the ledger stores counts as 32-bit integers
"""Larger counts are typos or jokes, not engagement."""

MAX_SUMMARY_LENGTH = 1000
"""Longer texts are conversation: four counts and a lead-in fit in far less."""


@dataclass(frozen=True)
class Engagement:
    """The counts a summary states; `None` where it said nothing about a field."""

    comments: int | None = None
    replies: int | None = None
    shares: int | None = None
    likes: int | None = None

    def is_empty(self) -> bool:
        """Whether no field is stated."""
        return all(getattr(self, f.name) is None for f in fields(self))

    def merged_over(self, previous: Engagement | None) -> Engagement:
        """Every field filled: stated here, else from `previous`, else 0.

        A summary that only mentions new likes shouldn't reset the comments
        recorded an hour ago to zero.
        """
        filled: dict[str, int] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and previous is not None:
                value = getattr(previous, f.name)
            filled[f.name] = 0 if value is None else value
        return replace(self, **filled)


_WORDS_BY_FIELD = {
    "comments": "comment comments",
    "replies": "reply replies response responses answer answers answered",
    "shares": "share shares reshare reshares retweet retweets rt rts repost reposts boost boosts",
    "likes": "like likes heart hearts reaction reactions upvote upvotes"
    " favourite favourites favorite favorites fave faves fav favs",
}
_FIELD_BY_WORD = {word: field for field, words in _WORDS_BY_FIELD.items() for word in words.split()}

# Longest first, so that "likes" isn't read as "like" followed by a stray "s".
_FIELD_WORD = "|".join(sorted(_FIELD_BY_WORD, key=len, reverse=True))


def _number(name: str) -> str:
    # ASCII digits only: other scripts' digits are left over and make the text conversation.
    # Thousands are grouped by commas or the no-break spaces some locales use; a plain
    # space never groups, so "1 234 likes" leaves a stray "1" rather than guessing.
    # The suffix is case-sensitive on purpose: the pattern is otherwise case-insensitive,
    # and "K" must not also admit the Kelvin sign.
    return (
        rf"(?P<{name}_int>[0-9]{{1,3}}(?:[,\u00a0\u202f\u2009][0-9]{{3}})+|[0-9]+)"
        rf"(?:\.(?P<{name}_frac>[0-9]+))?"
        rf"(?P<{name}_suffix>(?-i:[kKmM]))?"
    )


_COUNT = re.compile(
    # "comments=12", "comments: 12". The number must end cleanly: "comments=12,3" is ambiguous.
    rf"(?<!\w)(?P<key_word>{_FIELD_WORD})\s*[=:]\s*{_number('key')}(?!\w)(?![.,][0-9])"
    # "12 comments". Not after a digit+comma ("12,3 replies"), nor after a sign: "-3" and
    # "+3" are changes, not counts, and the stray sign then marks the text as conversation.
    rf"|(?<![0-9+\-\u2212])(?<![0-9][.,]){_number('num')}\s*(?P<num_word>{_FIELD_WORD})(?!\w)",
    re.IGNORECASE,
)

_SLACK_ESCAPES = re.compile(r"&(amp|lt|gt);")
_SLACK_UNESCAPED = {"amp": "&", "lt": "<", "gt": ">"}
# ":bar_chart:", ":+1:", ":wave::skin-tone-2:"; the lookbehind keeps "comments:12:" a count.
_EMOJI_SHORTCODE = re.compile(r"(?<!\w):[a-z0-9_+'-]+:")
_FORMATTING = str.maketrans(dict.fromkeys("*_~`", " "))
_FILLER_WORDS = re.compile(
    r"(?<!\w)(?:so\s+far|summary|update|updated|stats|statistics|engagement|numbers|metrics"
    r"|snapshot|total|totals|tally|latest|current|currently|now|today|and|plus)(?!\w)",
    re.IGNORECASE,
)
# No "?": "12 comments?" asks something. No "=": "12 = comments" is not a form we read.
_SEPARATORS = frozenset(",;:.!·•|/\\&+-\u2013\u2014()[]<>→⇒⟶")
# Emoji, their modifiers, joiners and variation selectors.
_DECORATION_CATEGORIES = frozenset({"So", "Sk", "Mn", "Me", "Cf"})

_MULTIPLIERS = {"": 1, "k": 1000, "m": 1_000_000}


def parse_summary(text: str) -> Engagement | None:
    """The counts a summary states, or None when the text is conversation rather than a summary.

    The rule: after Slack escapes are undone and bold/italic/strike/code markers
    and emoji shortcodes are dropped, the text must be one or more count phrases
    with nothing else between or around them but

    - separators: whitespace and ``, ; : . ! · • | / \\ & + ( ) [ ] < > → ⇒``, hyphen, en and em dashes,
    - emoji and other symbols,
    - a small filler vocabulary: summary, update(d), stats, statistics,
      engagement, numbers, metrics, snapshot, total(s), tally, latest,
      current(ly), now, today, so far, and, plus.

    A count phrase is ``12 comments`` or ``comments=12`` / ``comments: 12``, with
    the synonyms in `_WORDS_BY_FIELD`. A number is ASCII digits, optionally grouped
    in thousands by commas or no-break spaces (``1,234``; a plain space never
    groups, so "1 234" is refused), optionally with a ``k``/``K`` or
    ``m``/``M`` suffix (``1.2k`` is 1200, rounded down). A decimal point without
    a suffix is refused, since ``1.234`` may mean either 1 or 1234.

    Anything else makes it conversation, and the answer None: any other word
    ("we got 12 comments"), a stray number, a question mark, a mention or link,
    a signed number ("+3 likes" is a change, not a count), a field stated twice
    with different values, a count above `MAX_COUNT`, or a text longer than
    `MAX_SUMMARY_LENGTH`. Never raises.
    """
    if len(text) > MAX_SUMMARY_LENGTH:
        return None
    text = _SLACK_ESCAPES.sub(lambda m: _SLACK_UNESCAPED[m.group(1)], text)
    text = _EMOJI_SHORTCODE.sub(" ", text).translate(_FORMATTING)

    counts: dict[str, int] = {}
    leftovers: list[str] = []
    position = 0
    for match in _COUNT.finditer(text):
        leftovers.append(text[position : match.start()])
        position = match.end()
        name = "key" if match.group("key_word") is not None else "num"
        field = _FIELD_BY_WORD.get(match.group(f"{name}_word").casefold())
        value = _value(match.group(f"{name}_int"), match.group(f"{name}_frac"), match.group(f"{name}_suffix"))
        if field is None or value is None or counts.setdefault(field, value) != value:
            return None
    leftovers.append(text[position:])

    if not counts or not _is_filler(" ".join(leftovers)):
        return None
    return Engagement(**counts)


def _value(digits: str, fraction: str | None, suffix: str | None) -> int | None:
    multiplier = _MULTIPLIERS.get((suffix or "").lower())
    if multiplier is None or (fraction is not None and multiplier == 1):
        return None
    digits = re.sub(r"[^0-9]", "", digits)
    # Also keeps int() clear of Python's limit on digits in a conversion.
    if len(digits) > 13:
        return None
    value = int(Decimal(f"{digits}.{fraction or '0'}") * multiplier)
    return value if value <= MAX_COUNT else None


def _is_filler(text: str) -> bool:
    return all(
        c.isspace() or c in _SEPARATORS or unicodedata.category(c) in _DECORATION_CATEGORIES
        for c in _FILLER_WORDS.sub(" ", text)
    )
