"""An animation's frames as browsers show them: each drawn on its canvas (a GIF's and an APNG's disposal and
blending), timed as browsers time it, its plays counted as browsers count them; and every frame taken through the
steps, an animation's on a thread of their own, at most FRAMES_AHEAD behind their decode."""

import io
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from functools import cache

from PIL import Image, PngImagePlugin

from edge import avif, gif
from edge.errors import UnsupportedMedia
from edge.geometry import Box, Geometry
from edge.image.model import DECODE_ERRORS, Frame, Placement, Source, has_alpha, is_grey
from edge.image.steps import in_working_mode, run_steps

DEFAULT_FRAME_MS = 100
# Browsers show a frame of this or less for DEFAULT_FRAME_MS instead (Chromium's DeferredImageDecoder, as Firefox
# and WebKit do), whatever the format.
BROWSERS_SLOW_DOWN_MS = 10
MAX_FRAME_MS = 655_350  # GIF's largest delay (65535 cs); WebP's is larger, and no real frame is near either
# Pillow divides an APNG's delay in floats: 1001/1000 s comes out just short of 1001 ms. A true fraction of a
# millisecond is at least 1/65535 of one, far above this.
APNG_DELAY_SLACK_MS = 1e-6
GIF_KEEP, GIF_RESTORE_BACKGROUND, GIF_RESTORE_PREVIOUS = 1, 2, 3
GIF_RESTORING = (GIF_RESTORE_PREVIOUS, 4)  # browsers read the reserved 4 as 3, and 5-7 as keeping the frame
# An animation's frames decoded ahead of their steps. The bench's 20-frame GIF to 320 px
# WebP: 330 against 390 ms, to GIF 460 against 540, the same bytes.
FRAMES_AHEAD = 2


def source_frames(
    source: Image.Image, first: int, count: int, target: str, geometry: Geometry, orientation: int,
    original: bytes, icc_profile: bytes | None, canvas: "Canvas | None", shown: tuple[int, int],
) -> Iterator[Frame]:
    """`count` frames from Pillow's frame `first`, each with what the encoder must know of it; drawn on `canvas`
    (frame_canvas), if any, else as Pillow draws them. Where less is `shown` than Pillow decodes (shown_size),
    the frame's placement says where it lies, for the crop step to cut."""
    # Later frames reuse the decoder's buffer, so an animation's frames are copied (which also loads them:
    # WebP reports a frame's duration only once it is loaded).
    as_pillow_draws = Image.Image.copy if count > 1 else lambda image: image
    for index in range(first, first + count):
        try:
            image, duration = canvas.frame(source, index) if canvas else sought(source, index, as_pillow_draws)
        except DECODE_ERRORS as error:
            raise UnsupportedMedia(f"cannot decode frame {index}: {error}") from None
        yield Frame(
            image=image,
            geometry=geometry,
            target=target,
            orientation=orientation,
            original=original if count == 1 else None,
            animated=count > 1,
            icc_profile=icc_profile,
            duration=whole_ms(duration, source.format),
            placement=None if shown == image.size else Placement((0, 0, *shown), (1.0, 1.0)),
        )


def whole_ms(duration: float | None, source_format: str) -> int:
    """A frame's delay as browsers show it, in whole milliseconds, which every encoder takes (the AVIF encoder
    refuses floats). An APNG's is cut to the millisecond, as Chromium 156 reads it (10.6 ms as 10); an AVIF's,
    whose reading by Chromium is unchecked, is rounded. GIF and WebP delays are whole already. One of 10 ms or
    less is shown for 100, and written so: frames that an encoder folds (libwebp those that its lossy coding
    makes alike, Pillow's GIF writer those that its palettes do) then add up to what browsers showed, not to
    20 ms for two frames of 10 shown for 200."""
    if duration is None:
        return DEFAULT_FRAME_MS
    whole = int(duration + APNG_DELAY_SLACK_MS) if source_format == "PNG" else round(duration)
    return DEFAULT_FRAME_MS if whole <= BROWSERS_SLOW_DOWN_MS else min(whole, MAX_FRAME_MS)


def animation_plays(source: Source, data: bytes) -> int:
    """How many times the source animation plays, as WebP and APNG count (0: for ever). A GIF's
    count is of repeats after the first play, as browsers read it wherever its block is (gif.scan), and
    a GIF without one plays once; an AVIF's is in boxes Pillow does not read."""
    image = source.image
    if image.format == "AVIF":
        return avif.plays(data)
    if source.gif_layout is not None:
        repeats = source.gif_layout.repeats
        if repeats is None:
            return 1
        return repeats + 1 if repeats else avif.FOREVER
    loop = image.info.get("loop")
    return avif.FOREVER if loop is None else loop


def sought(source: Image.Image, index: int, draw: Callable[[Image.Image], Image.Image]) -> tuple:
    """Frame `index` as `draw` takes it from Pillow once Pillow has sought to it, and its duration."""
    source.seek(index)
    return draw(source), source.info.get("duration")


def frame_canvas(source: Source, count: int, data: bytes) -> "Canvas | None":
    """What draws `count` frames of an APNG or a GIF as browsers show them. For an APNG, Pillow's own canvas
    where its frames are opaque, not interlaced, and leave no gap, else ApngCanvas; for a GIF, still or not,
    GifCanvas. None for any other source, and for an APNG's IDAT image alone: Pillow draws them as browsers
    do."""
    image = source.image
    if source.gif_layout is not None:
        return GifCanvas(image.size, source.gif_layout, data, count)
    if not source.frame_controls or (count == 1 and not source.first_frame):
        return None
    if has_alpha(image) or image.info.get("interlace") or leaves_gaps(source.frame_controls[:count], image.size):
        return ApngCanvas(image)
    return PillowCanvas()


def leaves_gaps(controls: tuple, canvas: tuple[int, int]) -> bool:
    """gaps_left() for an APNG's frames as their `controls` (png.frame_controls) place and dispose of them; a
    control cut short may say anything."""
    if None in controls:
        return True
    background, previous = PngImagePlugin.Disposal.OP_BACKGROUND, PngImagePlugin.Disposal.OP_PREVIOUS
    return gaps_left([((left, top, left + width, top + height), dispose == background, dispose == previous)
                      for width, height, left, top, dispose in controls], canvas)


def gaps_left(frames: list[tuple[Box, bool, bool]], canvas: tuple[int, int]) -> bool:
    """Whether opaque frames, each (its box, whether it is cleared after it shows, whether what was under it
    is put back), may leave part of the canvas undrawn, which shows transparent: a first frame smaller than the
    canvas, one before the last cleared, or a first one put back (onto the empty canvas). An animation's last
    disposal never shows."""
    first_box, _, first_restores = frames[0]
    return (first_box != (0, 0, *canvas) or any(clears for _, clears, _ in frames[:-1])
            or (len(frames) > 1 and first_restores))


def dispose_of(buffer: Image.Image, box: Box, clears: bool, kept: Image.Image | None) -> None:
    """After a frame shows: its box cleared to transparency, or `kept`, what was under it, put back."""
    if clears:
        buffer.paste(0, box)
    elif kept is not None:
        buffer.paste(kept, box[:2])


class SoughtFrames:
    """A canvas that draws each frame once Pillow has sought to it."""

    def frame(self, source: Image.Image, index: int) -> tuple:
        return sought(source, index, self.draw)  # each subclass's draw()


class PillowCanvas(SoughtFrames):
    """Pillow's own canvas, in the file's mode, for an APNG's opaque frames that leave no gap: there it is
    exact, and costs what Pillow costs (two frames of 5000 x 5000 to 320 px peaked at 131 MB if grey, 420 if
    RGB, against 584 and 624 on an RGBA canvas: a reviewer's measures)."""

    @staticmethod
    def draw(source: Image.Image) -> Image.Image:
        # Over the canvas, an opaque frame is the frame itself; Pillow's own blend would paste it into the
        # canvas it keeps for 'restore to previous', which would then restore nothing.
        source.blend_op = PngImagePlugin.Blend.OP_SOURCE
        return source.copy()


class ApngCanvas(SoughtFrames):
    """An APNG's output buffer, kept as the format says and browsers keep it: RGBA (LA for grey), transparent
    to begin with, each frame blended over it or pasted into its region, then its region disposed of. Pillow
    keeps it in the file's own mode, where a palette or a colour key cannot hold a blend, and RGB or grey cannot
    show what no frame has drawn yet (black instead); and it starts a first frame after a fallback image on that
    image. So Pillow only decodes each frame's own pixels into its region, and the canvas here does the rest."""

    def __init__(self, source: Image.Image):
        self._blends = has_alpha(source)  # an opaque frame over the canvas is the frame itself
        self._buffer = Image.new("LA" if is_grey(source.mode) else "RGBA", source.size, 0)

    def draw(self, source: Image.Image) -> Image.Image:
        """What shows once the frame `source` has sought to is drawn."""
        blend, dispose = source.blend_op, source.dispose_op
        source.blend_op = PngImagePlugin.Blend.OP_SOURCE  # Pillow pastes the frame's own pixels
        # Pillow adds an interlaced file's flag to the decoder's settings at each frame it loads, and so fails
        # on the second frame (too many arguments): each frame starts from none. It then decodes an interlaced
        # frame into the top left corner, wherever the frame is placed.
        source.decoderconfig = ()
        source.load()
        box = tuple(int(edge) for edge in source.dispose_extent)
        decoded = (0, 0, box[2] - box[0], box[3] - box[1]) if source.info.get("interlace") else box
        drawn = in_working_mode(source.crop(decoded)).convert(self._buffer.mode)
        kept = self._buffer.crop(box) if dispose == PngImagePlugin.Disposal.OP_PREVIOUS else None
        if blend == PngImagePlugin.Blend.OP_OVER and self._blends:
            self._buffer.alpha_composite(drawn, box[:2])
        else:
            self._buffer.paste(drawn, box)
        shown = self._buffer.copy()
        dispose_of(self._buffer, box, dispose == PngImagePlugin.Disposal.OP_BACKGROUND, kept)
        return shown


class GifCanvas:
    """A GIF's frames composited as browsers (Chromium 156, checked) composite them, each frame decoded alone
    (gif.standalone): on a transparent screen the size of Pillow's first frame, each frame drawn where it is
    placed, clipped to the screen, its transparent index drawing nothing; then disposed of: 2 clears its box to
    transparency, 3 and the reserved 4 restore what was under it (on the first frame, the empty screen), the
    others keep it. Pillow's own reader departs from that: it fills the screen around a smaller first frame with
    palette entry 0, restores 'to background' with the background colour, repeats the disposal before for an
    unspecified one, reads 5-7 as 3, and grows the screen for a later frame past it. The screen is RGB where
    no gap can show: a first frame that fills it and holds no transparency, and none cleared but the last."""

    def __init__(self, size: tuple[int, int], layout: gif.Layout, data: bytes, count: int):
        frames = layout.images[:count]
        placed = [(frame.box, frame.disposal == GIF_RESTORE_BACKGROUND, frame.disposal in GIF_RESTORING)
                  for frame in frames]
        gaps = frames[0].transparency is not None or gaps_left(placed, size)
        self._mode, self._size = "RGBA" if gaps else "RGB", size
        self._screen: Image.Image | None = None  # made with the first frame, or as that frame
        self._layout, self._data, self._last = layout, data, count - 1

    def frame(self, _: Image.Image, index: int) -> tuple:
        """What shows once frame `index` is drawn, and its duration."""
        frame = self._layout.images[index]
        left, top, right, bottom = frame.box
        kept = None
        if left < right and top < bottom:  # an empty frame shows for its delay, drawing nothing, as in Chromium
            with Image.open(io.BytesIO(gif.standalone(self._data, self._layout, index)), formats=["GIF"]) as alone:
                alone.load()
            fills = self._fills(frame)
            if fills and index == self._last == 0:
                return alone, frame.delay_ms  # a still that fills its screen: its palette image
            restores = frame.disposal in GIF_RESTORING
            if self._screen is None and fills and not restores:
                self._screen = alone.convert(self._mode)  # the first frame, or one over all, over nothing to keep
            else:
                screen = self._drawn()
                kept = screen.crop(frame.box) if restores else None
                drawn = alone.convert("RGBA" if frame.transparency is not None else self._mode)
                screen.paste(drawn, frame.box[:2], drawn if drawn.mode == "RGBA" else None)  # alpha: 0 or 255
        screen = self._drawn()
        if index == self._last:  # nothing is drawn after it: its screen is handed on, not copied
            return screen, frame.delay_ms
        if self._draws_over(index + 1):  # nor does anything of it show again: handed on, and let go
            self._screen = None
            return screen, frame.delay_ms
        shown = screen.copy()
        dispose_of(screen, frame.box, frame.disposal == GIF_RESTORE_BACKGROUND, kept)
        return shown, frame.delay_ms

    def _draws_over(self, index: int) -> bool:
        """Whether frame `index` draws over the whole screen, opaque, and puts nothing back after it: it then
        starts a screen of its own, as the first frame does (a 2000 x 2000 RGB screen is 16 MB not copied)."""
        frame = self._layout.images[index]
        return self._fills(frame) and frame.disposal not in GIF_RESTORING

    def _fills(self, frame: gif.Frame) -> bool:
        """Whether a frame covers the whole screen, opaque."""
        return frame.box == (0, 0, *self._size) and frame.transparency is None

    def _drawn(self) -> Image.Image:
        """The screen as the frames so far leave it: empty before the first draws."""
        if self._screen is None:
            self._screen = Image.new(self._mode, self._size, 0)
        return self._screen


Canvas = ApngCanvas | PillowCanvas | GifCanvas  # what draws an animation's frames as browsers show them


def rendered_frames(frames: Iterator[Frame], count: int) -> list[Frame]:
    """Every frame through the steps, in order. An animation's frames take the steps on a
    worker thread while this one decodes the next (Pillow's decoders release the GIL), at
    most FRAMES_AHEAD behind, so that only a few decoded frames are held at once."""
    if count == 1:
        return [run_steps(frame) for frame in frames]
    done: list[Frame] = []
    pending: deque[Future] = deque()
    try:
        for frame in frames:
            pending.append(frame_pool().submit(run_steps, frame))
            if len(pending) > FRAMES_AHEAD:
                done.append(pending.popleft().result())
        while pending:
            done.append(pending.popleft().result())
    finally:
        # After a failure nothing more starts, and the frame under way ends here: on Lambda,
        # work left running would eat into the next request's time.
        for future in pending:
            future.cancel()
        wait(pending)
    return done


@cache
def frame_pool() -> ThreadPoolExecutor:
    # Its own thread: the steps wait on worker_pool, which must never wait on them. One for
    # the process: a Lambda instance runs one request at a time (and so does the local emulator).
    return ThreadPoolExecutor(1, thread_name_prefix="frames")
