#!/usr/bin/python3
"""kjv_corpus: the King James Bible as plain text, split into train and held-out.

The bundled model is trained on Debian's bible-kjv package, read through its
`bible` command. Its output looks like

    <blank>
    Genesis 1
    <blank>
      1 In the beginning God created the heaven and the earth.
      2 And the earth was without form, and void; and darkness was upon the face of
    the deep. And the Spirit of God moved upon the face of the waters.

Cleaning, chosen so that the text is only the language of the KJV:
  - chapter heading lines ("Genesis 1") are dropped: they are metadata, and
    1189 of them would teach the model to emit headings;
  - verse numbers are dropped: they carry no language, and as the most common
    tokens in the text they would dominate generations;
  - wrapped lines are joined, runs of whitespace become one space, so each
    verse is one line;
  - chapters are separated by one blank line ("\n\n"), the file ends in "\n".

Split: whole chapters in canonical order (Genesis 1 is chapter 0). Chapter i
is held out when i % 20 == HELDOUT_OFFSET, about 5% of the text; everything
else is train. Whole chapters keep held-out text from sharing a verse with
training text. The output is a pure function of the bible-kjv text.

Usage: kjv_corpus.py OUT_DIR        writes OUT_DIR/train.txt, OUT_DIR/heldout.txt
"""
import os
import re
import subprocess
import sys

HELDOUT_EVERY = 20
HELDOUT_OFFSET = 7
BIBLE_RANGE = "Gen1:1-Rev22:21"

_HEADING = re.compile(r"^\S.* \d+$")   # "Genesis 1", "1 Kings 3", "Song of Solomon 2"
_VERSE = re.compile(r"^\s+(\d+) (.*)$")  # "  12 And he said ..."


def read_bible():
    """The raw text of the whole Bible from the `bible` command."""
    out = subprocess.run(["bible", BIBLE_RANGE], check=True,
                         stdout=subprocess.PIPE, env=dict(os.environ, LC_ALL="C.UTF-8"))
    return out.stdout.decode("utf-8")


def parse_chapters(raw):
    """Returns a list of chapters, each (heading, [verse text, ...]) in order.
    Raises ValueError on a line it cannot place, so format drift is loud."""
    chapters = []
    after_blank = True
    for lineno, line in enumerate(raw.split("\n"), 1):
        if not line.strip():
            after_blank = True
            continue
        if after_blank and _HEADING.match(line):
            chapters.append((line.strip(), []))
        elif _VERSE.match(line):
            if not chapters:
                raise ValueError("line %d: verse before any chapter heading" % lineno)
            num, text = _VERSE.match(line).groups()
            verses = chapters[-1][1]
            if int(num) != len(verses) + 1:
                raise ValueError("line %d: verse %s out of order in %s" % (lineno, num, chapters[-1][0]))
            verses.append(text)
        else:
            if not chapters or not chapters[-1][1] or after_blank:
                raise ValueError("line %d: stray line %r" % (lineno, line))
            chapters[-1][1][-1] += " " + line  # continuation of a wrapped verse
        after_blank = False
    return chapters


def clean_chapter(verses):
    """One verse per line, single spaces, no verse numbers."""
    return "\n".join(" ".join(v.split()) for v in verses)


def split(chapters):
    """(train chapter texts, held-out chapter texts), both in canonical order."""
    train, heldout = [], []
    for i, (_, verses) in enumerate(chapters):
        (heldout if i % HELDOUT_EVERY == HELDOUT_OFFSET else train).append(clean_chapter(verses))
    return train, heldout


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: kjv_corpus.py OUT_DIR\n")
        return 2
    out_dir = argv[1]
    os.makedirs(out_dir, exist_ok=True)
    chapters = parse_chapters(read_bible())
    if len(chapters) != 1189:
        raise ValueError("expected 1189 chapters, got %d" % len(chapters))
    train, heldout = split(chapters)
    for name, texts in (("train.txt", train), ("heldout.txt", heldout)):
        data = ("\n\n".join(texts) + "\n").encode("utf-8")
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
        print("%s: %d chapters, %d bytes" % (name, len(texts), len(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
