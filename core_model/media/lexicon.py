"""Spelling-to-dictionary mapping and guessed pronunciations for pocketsphinx.

pocketsphinx ships CMUdict (lower-case ARPAbet entries, alternates written
``word(2)``) but no grapheme-to-phoneme model. Transcript words reach the
aligner through `dictionary_form`, and words that are still missing get a
pronunciation from `guess_pronunciation`:

1. Split the word into the fewest CMUdict words of three or more letters
   (``audiobook`` -> ``audio`` + ``book``), with single letters between them
   pronounced by the letter rules below.
2. A word without vowels (``www``, ``bbc``) is read as letter names.
3. Anything else is pronounced by a small table of English spelling rules
   (digraphs such as ``ch``, ``sh``, ``th``, ``ee``, ``oo`` first, then single
   letters). This is a rough guess that keeps the alignment going. The words
   it produces are reported back so their times can carry less weight.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable

logger = logging.getLogger(__name__)

# Returns the space-separated ARPAbet phones of a dictionary word, or None.
Lookup = Callable[[str], "str | None"]

# Apostrophe-free spellings, as in CMU-MOSI transcripts (IM, DONT), whose
# contraction is far more likely than the CMUdict entry of the same letters.
# For example "im" is in CMUdict as IH M. Ambiguous ones such as "hell" for
# "he'll" are not listed.
_PREFERRED_CONTRACTIONS = {
    "im": "i'm", "ive": "i've", "youre": "you're", "theyre": "they're",
    "youve": "you've", "theyve": "they've", "weve": "we've", "youll": "you'll",
    "theyll": "they'll", "youd": "you'd", "theyd": "they'd", "hes": "he's",
    "shes": "she's", "thats": "that's", "whats": "what's", "lets": "let's",
    "theres": "there's", "heres": "here's", "dont": "don't", "cant": "can't",
    "wont": "won't", "isnt": "isn't", "arent": "aren't", "wasnt": "wasn't",
    "werent": "weren't", "didnt": "didn't", "doesnt": "doesn't",
    "havent": "haven't", "hasnt": "hasn't", "hadnt": "hadn't",
    "couldnt": "couldn't", "wouldnt": "wouldn't", "shouldnt": "shouldn't",
}
_CONTRACTION_SUFFIXES = ("'t", "'s", "'m", "'re", "'ve", "'ll", "'d")

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve "
    "thirteen fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()

# Spelling rules with ARPAbet values. The first matching pattern wins, so longer ones come first.
_GRAPHEME_RULES: tuple[tuple[str, str], ...] = (
    ("tion", "SH AH N"), ("sion", "ZH AH N"), ("ough", "AO"), ("igh", "AY"),
    ("tch", "CH"), ("sch", "S K"), ("ch", "CH"), ("sh", "SH"), ("th", "TH"),
    ("ph", "F"), ("wh", "W"), ("ck", "K"), ("ng", "NG"), ("qu", "K W"),
    ("gh", "G"), ("kn", "N"), ("wr", "R"), ("ee", "IY"), ("ea", "IY"),
    ("oo", "UW"), ("ou", "AW"), ("ow", "OW"), ("oi", "OY"), ("oy", "OY"),
    ("ai", "EY"), ("ay", "EY"), ("ei", "EY"), ("ey", "IY"), ("au", "AO"),
    ("aw", "AO"), ("ie", "IY"), ("er", "ER"), ("ar", "AA R"), ("or", "AO R"),
    ("ur", "ER"), ("ir", "ER"),
    ("a", "AE"), ("b", "B"), ("c", "K"), ("d", "D"), ("e", "EH"), ("f", "F"),
    ("g", "G"), ("h", "HH"), ("i", "IH"), ("j", "JH"), ("k", "K"), ("l", "L"),
    ("m", "M"), ("n", "N"), ("o", "AA"), ("p", "P"), ("q", "K"), ("r", "R"),
    ("s", "S"), ("t", "T"), ("u", "AH"), ("v", "V"), ("w", "W"), ("x", "K S"),
    ("y", "IY"), ("z", "Z"),
)
_LETTER_NAMES = {
    "a": "EY", "b": "B IY", "c": "S IY", "d": "D IY", "e": "IY", "f": "EH F",
    "g": "JH IY", "h": "EY CH", "i": "AY", "j": "JH EY", "k": "K EY",
    "l": "EH L", "m": "EH M", "n": "EH N", "o": "OW", "p": "P IY",
    "q": "K Y UW", "r": "AA R", "s": "EH S", "t": "T IY", "u": "Y UW",
    "v": "V IY", "w": "D AH B AH L Y UW", "x": "EH K S", "y": "W AY",
    "z": "Z IY",
}
_MIN_PIECE_LETTERS = 3
# Splitting into dictionary pieces is quadratic in the word length.
_MAX_SPLIT_LETTERS = 30


def tokens_for_alignment(word: str) -> list[str]:
    """Split one transcript word into lower-case ASCII tokens for the dictionary.

    Accents are folded (``café`` -> ``cafe``), digits become number words
    (``42`` -> ``forty two``), a dot inside a web address or a decimal is read
    aloud (``marxists.org`` -> ``marxists dot org``, ``2.5`` -> ``two point
    five``), ``@`` becomes ``at``, and other punctuation except an inner
    apostrophe splits the word.
    Returns an empty list when nothing pronounceable in English is left, as
    for Chinese characters.
    """
    folded = unicodedata.normalize("NFKD", word.replace("’", "'"))
    ascii_text = folded.encode("ascii", "ignore").decode("ascii").lower()
    ascii_text = re.sub(r"(?<=[0-9])\.(?=[0-9])", " point ", ascii_text)
    # Both sides of a spoken dot have two letters or more, so "u.s." stays letters.
    # NOTE: a sentence typed without a space after its full stop ("end.The") gets a spoken "dot" too.
    ascii_text = re.sub(r"(?<=[a-z0-9]{2})\.(?=[a-z]{2})", " dot ", ascii_text)
    ascii_text = ascii_text.replace("@", " at ")
    tokens: list[str] = []
    for piece in re.findall(r"[a-z]+(?:'[a-z]+)*|[0-9]+", ascii_text):
        if piece.isdigit():
            tokens.extend(number_words(int(piece)).split())
        else:
            tokens.append(piece)
    return tokens


def number_words(number: int) -> str:
    """Spell a non-negative integer in English words, digit by digit from a million on."""
    if number < 20:
        return _ONES[number]
    if number < 100:
        tens, ones = divmod(number, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        return _ONES[hundreds] + " hundred" + ("" if rest == 0 else " " + number_words(rest))
    if number < 1_000_000:
        thousands, rest = divmod(number, 1000)
        return number_words(thousands) + " thousand" + ("" if rest == 0 else " " + number_words(rest))
    return " ".join(_ONES[int(digit)] for digit in str(number))


def dictionary_form(token: str, lookup: Lookup) -> str | None:
    """Return the dictionary spelling of a lower-case token, or None when CMUdict lacks it.

    MOSI-style spellings without an apostrophe map to their contraction
    (``dont`` -> ``don't``), both when listed above and when only the
    apostrophe form is in the dictionary.
    """
    preferred = _PREFERRED_CONTRACTIONS.get(token)
    if preferred is not None and lookup(preferred) is not None:
        return preferred
    if lookup(token) is not None:
        return token
    for cut in range(1, len(token)):
        candidate = token[:cut] + "'" + token[cut:]
        if candidate[cut:].startswith(_CONTRACTION_SUFFIXES) and lookup(candidate) is not None:
            return candidate
    return None


def guess_pronunciation(token: str, lookup: Lookup) -> str:
    """Guess ARPAbet phones for a token that is not in the dictionary.

    See the module docstring for the three methods, tried in order.
    """
    letters = token.replace("'", "")
    if not letters:
        raise ValueError(f"cannot guess a pronunciation for {token!r}: it has no letters")
    if not re.search(r"[aeiouy]", letters):
        return " ".join(_LETTER_NAMES[letter] for letter in letters)
    if len(letters) <= _MAX_SPLIT_LETTERS:
        split = _split_into_known_words(letters, lookup)
        if split is not None:
            return split
    return spelling_rule_phones(letters)


def spelling_rule_phones(letters: str) -> str:
    """Pronounce letters with the spelling-rule table; a final silent ``e`` is dropped."""
    body = letters[:-1] if len(letters) > 2 and letters.endswith("e") else letters
    phones: list[str] = []
    position = 0
    while position < len(body):
        for pattern, pattern_phones in _GRAPHEME_RULES:
            if body.startswith(pattern, position):
                phones.append(_soft_consonant(body, position, pattern, pattern_phones))
                position += len(pattern)
                break
        else:
            position += 1  # Only a-z reach here, and every letter has a rule.
    return " ".join(phones)


def _soft_consonant(body: str, position: int, pattern: str, phones: str) -> str:
    """Soften c and g before e, i and y (city, gem), as English spelling usually does."""
    following = body[position + 1 : position + 2]
    if pattern == "c" and following in ("e", "i", "y"):
        return "S"
    if pattern == "g" and following in ("e", "i", "y"):
        return "JH"
    return phones


def _split_into_known_words(letters: str, lookup: Lookup) -> str | None:
    """Cover `letters` with the fewest dictionary words, filling gaps by spelling rules.

    A dictionary piece costs 1 and a letter pronounced by rule costs 2, so
    ``marxistsx`` prefers ``marxists`` + rule ``x``. Returns None when no
    dictionary piece fits at all.
    """
    size = len(letters)
    infinity = float("inf")
    best_cost = [infinity] * (size + 1)
    best_step: list[tuple[int, str | None]] = [(0, None)] * (size + 1)
    best_cost[0] = 0.0
    for end in range(1, size + 1):
        for start in range(0, end):
            if best_cost[start] == infinity:
                continue
            piece = letters[start:end]
            phones = lookup(piece) if len(piece) >= _MIN_PIECE_LETTERS else None
            if phones is not None:
                cost = best_cost[start] + 1.0
                step: tuple[int, str | None] = (start, phones)
            elif end - start == 1:
                cost = best_cost[start] + 2.0
                step = (start, None)
            else:
                continue
            if cost < best_cost[end]:
                best_cost[end] = cost
                best_step[end] = step
    pieces: list[tuple[int, int, str | None]] = []
    end = size
    while end > 0:
        start, phones = best_step[end]
        pieces.append((start, end, phones))
        end = start
    pieces.reverse()
    if all(phones is None for _, _, phones in pieces):
        return None

    # Runs of rule-pronounced letters are read together, so digraphs still apply.
    output: list[str] = []
    pending = ""
    for start, end, phones in pieces:
        if phones is None:
            pending += letters[start:end]
            continue
        if pending:
            output.append(spelling_rule_phones(pending))
            pending = ""
        output.append(phones)
    if pending:
        output.append(spelling_rule_phones(pending))
    return " ".join(part for part in output if part)
