#!/usr/bin/env python3
"""Word error rate between a reference and a hypothesis text (plain python3, no dependencies).

Normalisation: lowercase; apostrophes removed ("let's" -> "lets"); every other
character that is not a letter or digit becomes a space; numbers stay as they are
("9:30" -> "9 30", "$42.50" -> "42 50"; "nine" and "9" differ).

    python3 tools/wer.py REF HYP             # texts, or paths of text files
    python3 tools/wer.py --details REF HYP   # also the counts and the normalised words

    >>> wer("Hello, world!", "hello word")
    0.5
"""

import argparse
import os
import sys
import unicodedata

APOSTROPHES = "'\u2019\u2018`"


def normalize(text: str) -> list[str]:
    """Lowercased words with punctuation stripped; digits untouched."""
    text = unicodedata.normalize("NFKC", text).lower()
    for mark in APOSTROPHES:
        text = text.replace(mark, "")
    cleaned = "".join(ch if ch.isalnum() else " " for ch in text)
    return cleaned.split()


def edit_counts(ref: list[str], hyp: list[str]) -> tuple[int, int, int]:
    """(substitutions, deletions, insertions) of a minimal word alignment."""
    # Each cell holds (total, substitutions, deletions, insertions); ties prefer fewer edits overall.
    prev = [(j, 0, 0, j) for j in range(len(hyp) + 1)]
    for i in range(1, len(ref) + 1):
        cur = [(i, 0, i, 0)]
        for j in range(1, len(hyp) + 1):
            if ref[i - 1] == hyp[j - 1]:
                best = prev[j - 1]
            else:
                t, s, d, n = prev[j - 1]
                best = (t + 1, s + 1, d, n)
            t, s, d, n = prev[j]
            if t + 1 < best[0]:
                best = (t + 1, s, d + 1, n)
            t, s, d, n = cur[j - 1]
            if t + 1 < best[0]:
                best = (t + 1, s, d, n + 1)
            cur.append(best)
        prev = cur
    _, s, d, n = prev[-1]
    return s, d, n


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate (S + D + I) / N over normalised words.

    With an empty reference it is 0.0 for an empty hypothesis and 1.0 otherwise.
    """
    ref, hyp = normalize(reference), normalize(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    s, d, n = edit_counts(ref, hyp)
    return (s + d + n) / len(ref)


def _read(arg: str) -> str:
    if os.path.isfile(arg):
        with open(arg, encoding="utf-8") as f:
            return f.read()
    return arg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Prints the word error rate of HYP against REF.")
    parser.add_argument("ref", help="reference text, or a path to a text file")
    parser.add_argument("hyp", help="hypothesis text, or a path to a text file")
    parser.add_argument("--details", action="store_true", help="also print counts and normalised words")
    args = parser.parse_args(argv)
    reference, hypothesis = _read(args.ref), _read(args.hyp)
    print(f"{wer(reference, hypothesis):.4f}")
    if args.details:
        ref, hyp = normalize(reference), normalize(hypothesis)
        s, d, n = edit_counts(ref, hyp)
        print(f"words={len(ref)} substitutions={s} deletions={d} insertions={n}")
        print("ref: " + " ".join(ref))
        print("hyp: " + " ".join(hyp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
