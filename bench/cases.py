"""Which specs run on which corpus file.

Every file gets the three contain widths (the bulk of real traffic); the cover crop
and the WebP/AVIF outputs run on a representative few, which keeps a full run
within about ten minutes on two cores.
"""

from dataclasses import dataclass

from bench.corpus import CorpusFile

CONTAIN = ("320x", "800x", "1600x")
COVER = "600x600,cover"
WEBP_OUT = "800x,webp"
AVIF_OUT = "800x,avif"

EXTRA_SPECS = {
    "jpeg-2mp-base": (WEBP_OUT, AVIF_OUT),
    "jpeg-12mp-base": (COVER, WEBP_OUT, AVIF_OUT),
    "jpeg-12mp-prog": (COVER, WEBP_OUT, AVIF_OUT),
    "jpeg-50mp-base": (COVER,),
    "png-rgb": ("320x", "800x", COVER, WEBP_OUT),
    "png-rgba": ("320x", "800x", WEBP_OUT, AVIF_OUT),
    "webp": ("320x", "800x", "1600x", AVIF_OUT),
    "gif-anim": ("320x", "320x,webp"),
}
NON_JPEG_KINDS = ("png-rgb", "png-rgba", "webp", "gif-animated")
BIG_JPEG_MEGAPIXELS = 8  # issue 5's 4x target is on baseline JPEGs of this size and more


def is_big_baseline_jpeg(corpus_file: CorpusFile) -> bool:
    # By the nominal rung: the corpus floors each size to at most its megapixels (8 MP is 7.998).
    return corpus_file.kind == "jpeg-baseline" and round(corpus_file.megapixels) >= BIG_JPEG_MEGAPIXELS


@dataclass(frozen=True)
class Case:
    file: CorpusFile
    spec: str

    @property
    def label(self) -> str:
        return f"{self.file.name} {self.spec}"


def cases_for(files: list[CorpusFile]) -> list[Case]:
    cases = []
    for corpus_file in files:
        base = () if corpus_file.kind in NON_JPEG_KINDS else CONTAIN
        specs = base + EXTRA_SPECS.get(corpus_file.name, ())
        cases += [Case(corpus_file, spec) for spec in specs]
    return cases
