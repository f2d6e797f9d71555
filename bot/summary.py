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
from typing import Literal

MAX_COUNT = 2**31 - 1  # the ledger stores counts as 32-bit integers
"""Larger counts are typos or jokes, not engagement."""

MAX_SUMMARY_LENGTH = 1000
"""Longer texts are conversation: four counts and a lead-in fit in far less."""

OPEN_NETWORKS = frozenset({"mastodon", "bluesky", "x", "threads"})
"""Where "replies" is what the audience wrote: these networks show a post's replies as its comments."""

Reading = Literal["ours", "audience"]


@dataclass(frozen=True)
class Engagement:
    """The counts a summary states; `None` where it said nothing about a field.

    Views, impressions and saves are reach, not conversation: kept beside the others, never part of
    the reply rate.
    """

    comments: int | None = None
    replies: int | None = None
    shares: int | None = None
    likes: int | None = None
    views: int | None = None
    impressions: int | None = None
    saves: int | None = None

    def is_empty(self) -> bool:
        """Whether no field is stated."""
        return all(getattr(self, f.name) is None for f in fields(self))

    def merged_over(self, previous: Engagement | None) -> Engagement:
        """Every field filled: stated here, else from `previous`, else 0 (views, impressions and saves
        stay None when nobody ever stated them).

        A summary that only mentions new likes shouldn't reset the comments
        recorded an hour ago to zero.
        """
        filled: dict[str, int | None] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and previous is not None:
                value = getattr(previous, f.name)
            filled[f.name] = 0 if value is None and f.name not in REACH_FIELDS else value
        return replace(self, **filled)


REACH_FIELDS = ("views", "impressions", "saves")


@dataclass(frozen=True)
class Summary:
    """What a summary says, and how it read a bare "replies" count where that mattered: ``"audience"``
    (comments received) or ``"ours"`` (replies sent); None when no bare "replies" count was given or
    a comments count beside it settled the reading."""

    engagement: Engagement
    replies_read_as: Reading | None = None


# "replies" alone is the team's or the audience's by network (`read_summary`); the "ours" words are
# always the team's.
_WORDS_BY_FIELD = {
    "comments": "comment comments",
    "bare_replies": "reply replies",
    "replies": "response responses answer answers answered replied responded",
    "shares": "share shares reshare reshares retweet retweets rt rts repost reposts boost boosts",
    "likes": "like likes heart hearts reaction reactions upvote upvotes"
    " favourite favourites favorite favorites fave faves fav favs",
    "views": "view views play plays",
    "impressions": "impression impressions reach",
    "saves": "save saves saved bookmark bookmarks",
}
_FIELD_BY_WORD = {word: field for field, words in _WORDS_BY_FIELD.items() for word in words.split()}
# Replies the team sent, in the words people use for them.
_OUR_PHRASE = r"(?:we|i)\s+(?:answered|replied|responded)|our\s+(?:replies|responses|answers)"

# Longest first, so that "likes" isn't read as "like" followed by a stray "s".
_FIELD_WORD = _OUR_PHRASE + "|" + "|".join(sorted(_FIELD_BY_WORD, key=len, reverse=True))

_FIELD_BY_EMOJI = {
    "\U0001f4ac": "comments",  # 💬
    "\u21a9": "bare_replies",  # ↩️
    "\U0001f5e8": "bare_replies",  # 🗨
    "\U0001f501": "shares",  # 🔁
    "\u2764": "likes",  # ❤️
    "\U0001f441": "views",  # 👁
    "\U0001f516": "saves",  # 🔖
}
_EMOJI_BY_SHORTCODE = {
    "speech_balloon": "\U0001f4ac",
    "leftwards_arrow_with_hook": "\u21a9",
    "left_speech_bubble": "\U0001f5e8",
    "repeat": "\U0001f501",
    "heart": "\u2764",
    "eye": "\U0001f441",
    "bookmark": "\U0001f516",
}
_EMOJI = "(?:" + "|".join(_FIELD_BY_EMOJI) + ")\ufe0f?"

# ASCII digits only: other scripts' digits are left over and make the text conversation. A numeral is
# read whole, separators and all, and `_value` decides what it means; a plain space never groups.
_NUMERAL = r"[0-9](?:[0-9]|[.,\u00a0\u202f\u2009](?=[0-9]))*"
# The suffix is case-sensitive on purpose: the pattern is otherwise case-insensitive, and "K" must not
# also admit the Kelvin sign.
_SUFFIX = r"(?-i:[kKmM])"


def _number(name: str) -> str:
    return rf"(?P<{name}_num>{_NUMERAL})(?P<{name}_suffix>{_SUFFIX})?"


# Not after a digit+comma ("12,3 replies"), nor after a sign: "-3" and "+3" are changes, not counts,
# and the stray sign then marks the text as conversation.
_UNSIGNED = r"(?<![0-9+\-\u2212])(?<![0-9][.,])"
_COUNT = re.compile(
    # "comments=12", "comments: 12", "Likes 300", "we answered 41".
    rf"(?<!\w)(?P<key_word>{_FIELD_WORD})(?P<key_sep>\s*[=:]?\s*){_UNSIGNED}{_number('key')}(?!\w)"
    # "💬 14", "❤️: 40"; not "💬 3 replies", where the emoji decorates the phrase that follows.
    rf"|(?P<emo_word>{_EMOJI})\s*[=:]?\s*{_UNSIGNED}{_number('emo')}(?!\w)"
    rf"(?!\s*(?:new\s+)?(?:{_FIELD_WORD})(?!\w))"
    # "12 comments", "3 new comments", "14 💬".
    rf"|{_UNSIGNED}{_number('num')}\s*(?:new\s+)?(?:(?P<num_word>{_FIELD_WORD})(?!\w)|(?P<num_emoji>{_EMOJI}))",
    re.IGNORECASE,
)

_SLACK_ESCAPES = re.compile(r"&(amp|lt|gt);")
_SLACK_UNESCAPED = {"amp": "&", "lt": "<", "gt": ">"}
# ":bar_chart:", ":+1:", ":wave::skin-tone-2:"; the lookbehind keeps "comments:12:" a count.
_EMOJI_SHORTCODE = re.compile(r"(?<!\w):([a-z0-9_+'-]+):")
_FORMATTING = str.maketrans(dict.fromkeys("*_~`", " "))
_FILLER_WORDS = re.compile(
    r"(?<!\w)(?:so\s+far|summary|update|updated|stats|statistics|engagement|numbers|metrics"
    r"|snapshot|total|totals|tally|latest|current|currently|now|today|and|plus|new)(?!\w)",
    re.IGNORECASE,
)
# No "?": "12 comments?" asks something. No "=": "12 = comments" is not a form we read.
_SEPARATORS = frozenset(",;:.!·•|/\\&+-\u2013\u2014()[]<>→⇒⟶")
# Emoji, their modifiers, joiners and variation selectors.
_DECORATION_CATEGORIES = frozenset({"So", "Sk", "Mn", "Me", "Cf"})

_MULTIPLIERS = {"": 1, "k": 1000, "m": 1_000_000}

# Thousands grouped by dots with a decimal comma ("1.234.567", "1,5k", "1.234,5"): a text that shows
# it writes numbers that way has its "1.234" read as 1234; any other text leaves a lone "1.234"
# ambiguous, and refused.
_DOT_GROUPED = re.compile(
    r"(?<![0-9.,])[0-9]{1,3}(?:\.[0-9]{3}){2,}(?![0-9])|[0-9],[0-9]+(?-i:[kKmM])|\.[0-9]{3},[0-9]"
)
_SPACES = "\u00a0\u202f\u2009"

Style = Literal["comma", "dot"]


def parse_summary(text: str, platform: str | None = None) -> Engagement | None:
    """The counts a summary states, or None when the text is conversation (`read_summary`)."""
    summary = read_summary(text, platform)
    return None if summary is None else summary.engagement


def read_summary(text: str, platform: str | None = None) -> Summary | None:
    """What a summary states, or None when the text is conversation rather than a summary.

    The rule: after Slack escapes are undone and bold/italic/strike/code markers
    and emoji shortcodes are dropped, the text must be one or more count phrases
    with nothing else between or around them but

    - separators: whitespace and ``, ; : . ! · • | / \\ & + ( ) [ ] < > → ⇒``, hyphen, en and em dashes,
    - emoji and other symbols,
    - a small filler vocabulary: summary, update(d), stats, statistics,
      engagement, numbers, metrics, snapshot, total(s), tally, latest,
      current(ly), now, today, so far, and, plus, new.

    A count phrase is ``12 comments``, ``3 new comments``, ``comments=12``, ``comments: 12``,
    ``Likes 300``, or a count emoji and its number (``💬 14``, ``14 💬``: 💬 comments, ↩️ and 🗨
    replies, 🔁 shares, ❤️ likes, 👁 views, 🔖 saves, or their shortcodes), with the synonyms in
    `_WORDS_BY_FIELD`. Replies sent are also ``answered 2``, ``we replied 2``, ``our replies 2``.

    A bare "replies" count (``6 replies``, ``↩️ 3``) is the team's when a comments count sits beside
    it; without one it is what the audience wrote on the networks of `OPEN_NETWORKS`, or wherever the
    team's replies are stated apart ("answered 2"), and the team's elsewhere. ``replies=N``, the
    `/twoway log` grammar's own key, is always the team's.

    A number is ASCII digits, optionally grouped in thousands by commas, no-break spaces, or dots in a
    text that writes numbers that way (``1.234.567``, ``1,5k``), optionally with a ``k``/``K`` or
    ``m``/``M`` suffix (``1.2k`` is 1200, rounded down). A decimal point without a suffix is refused,
    and so is a lone ``1.234``, which may mean either 1 or 1234; a plain space never groups.

    Anything else makes it conversation, and the answer None: any other word
    ("we got 12 comments"), a stray number, a question mark, a mention or link,
    a signed number ("+3 likes" is a change, not a count), a field stated twice
    with different values, a count above `MAX_COUNT`, or a text longer than
    `MAX_SUMMARY_LENGTH`. Never raises.
    """
    if len(text) > MAX_SUMMARY_LENGTH:
        return None
    text = _SLACK_ESCAPES.sub(lambda m: _SLACK_UNESCAPED[m.group(1)], text)
    text = _EMOJI_SHORTCODE.sub(lambda m: f" {_EMOJI_BY_SHORTCODE.get(m.group(1), '')} ", text)
    text = text.translate(_FORMATTING)
    style: Style = "dot" if _DOT_GROUPED.search(text) else "comma"

    counts: dict[str, int] = {}
    keyed_replies = False
    leftovers: list[str] = []
    position = 0
    for match in _COUNT.finditer(text):
        leftovers.append(text[position : match.start()])
        position = match.end()
        field, name = _field_of(match)
        if field == "bare_replies" and name == "key" and "=" in match.group("key_sep"):
            field, keyed_replies = "replies", True
        value = _value(match.group(f"{name}_num"), match.group(f"{name}_suffix"), style)
        if field is None or value is None or counts.setdefault(field, value) != value:
            return None
    leftovers.append(text[position:])

    if not counts or not _is_filler(" ".join(leftovers)):
        return None
    return _resolve(counts, platform, keyed_replies)


_TOKEN = re.compile(rf"[0-9][0-9.,]*[a-z]*|[^\W\d_]+|{_EMOJI}", re.IGNORECASE)
# Verbs and singulars that read as counts only right beside a number ("1 like", not "I'd like 2").
_PLAIN_WORDS = frozenset({"like", "share", "reply", "view", "save", "play", "reach", "answer", "fav", "rt"})
# How many words from a number its count word may stand: "comments are around 40".
_NEAR_WORDS = 3
# A text with one count phrase is a stab at a summary when it is this short ("about 300 likes I think");
# a longer one is conversation that happens to mention a count ("I'll answer the 3 comments tonight").
_SHORT = 5


def mentions_counts(text: str) -> bool:
    """Whether a text that is not a summary still tries to give counts, so that its writer may be shown
    the forms twoway reads: two numbers each near a count word or count emoji ("we have like 30ish
    comments and 4 replies maybe"), or one in a short text ("1.204 likes"). A number alone, a time, a
    date, a question, or a sentence that mentions a count in passing is conversation."""
    if len(text) > MAX_SUMMARY_LENGTH or "?" in text:
        return False
    text = _SLACK_ESCAPES.sub(lambda m: _SLACK_UNESCAPED[m.group(1)], text)
    text = _EMOJI_SHORTCODE.sub(lambda m: f" {_EMOJI_BY_SHORTCODE.get(m.group(1), '')} ", text)
    tokens = [t.casefold() for t in _TOKEN.findall(text)]
    phrases = 0
    for i, token in enumerate(tokens):
        if not token[0].isdigit():
            continue
        near = tokens[max(0, i - _NEAR_WORDS) : i] + tokens[i + 1 : i + 1 + _NEAR_WORDS]
        beside = {tokens[j] for j in (i - 1, i + 1) if 0 <= j < len(tokens)}
        if any(_is_count_word(word, beside=word in beside) for word in near):
            phrases += 1
    return phrases >= 2 or (phrases == 1 and len(tokens) <= _SHORT)


def _is_count_word(word: str, *, beside: bool) -> bool:
    if word.rstrip("\ufe0f") in _FIELD_BY_EMOJI:
        return True
    if word not in _FIELD_BY_WORD:
        return False
    return beside or word not in _PLAIN_WORDS


def _field_of(match: re.Match[str]) -> tuple[str | None, str]:
    for name in ("key", "emo", "num"):
        if match.group(f"{name}_num") is None:
            continue
        word = match.group(f"{name}_word") if name != "num" else match.group("num_word")
        emoji = (
            match.group("emo_word") if name == "emo" else match.group("num_emoji") if name == "num" else None
        )
        if emoji is not None:
            return _FIELD_BY_EMOJI.get(emoji.rstrip("\ufe0f")), name
        if word is not None:
            folded = " ".join(word.casefold().split())
            if re.fullmatch(_OUR_PHRASE, folded):
                return "replies", name
            return _FIELD_BY_WORD.get(folded), name
    return None, "num"  # pragma: no cover - every match has a number


def _resolve(counts: dict[str, int], platform: str | None, keyed_replies: bool) -> Summary | None:
    bare = counts.pop("bare_replies", None)
    reading: Reading | None = None
    if bare is not None:
        if "comments" in counts:
            field = "replies"
        elif "replies" in counts and not keyed_replies:
            field = "comments"
        else:
            reading = "audience" if platform in OPEN_NETWORKS else "ours"
            field = "comments" if reading == "audience" else "replies"
        if counts.setdefault(field, bare) != bare:
            return None
    return Summary(Engagement(**counts), reading)


def _value(numeral: str, suffix: str | None, style: Style) -> int | None:
    multiplier = _MULTIPLIERS[(suffix or "").lower()]
    decimal, grouping = (".", "," + _SPACES) if style == "comma" else (",", "." + _SPACES)
    whole, _, fraction = numeral.rpartition(decimal) if decimal in numeral else (numeral, "", "")
    if fraction and (multiplier == 1 or not fraction.isdigit()):
        return None
    groups = re.split(f"[{re.escape(grouping)}]", whole)
    if len(groups) > 1 and not (
        1 <= len(groups[0]) <= 3
        and all(len(g) == 3 for g in groups[1:])
        and len(set(re.findall(f"[{re.escape(grouping)}]", whole))) == 1
    ):
        return None
    digits = "".join(groups)
    # Also keeps int() clear of Python's limit on digits in a conversion.
    if not digits.isdigit() or len(digits) > 13:
        return None
    value = int(Decimal(f"{digits}.{fraction or '0'}") * multiplier)
    return value if value <= MAX_COUNT else None


def _is_filler(text: str) -> bool:
    return all(
        c.isspace() or c in _SEPARATORS or unicodedata.category(c) in _DECORATION_CATEGORIES
        for c in _FILLER_WORDS.sub(" ", text)
    )


def parse_count(text: str) -> int | None:
    """One count as a person types it into a form: ``1,204``, ``1.2k``, ``2M``, ``1.234.567``; None
    when it is no count (the same rules as a summary's numbers, and a lone ``1.234`` stays ambiguous)."""
    text = text.strip()
    match = re.fullmatch(rf"(?P<num>{_NUMERAL})(?P<suffix>{_SUFFIX})?", text)
    if match is None:
        return None
    style: Style = "dot" if _DOT_GROUPED.search(text) else "comma"
    return _value(match.group("num"), match.group("suffix"), style)
