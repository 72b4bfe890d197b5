"""Every registered perturbation: its name, human description, exact method and parameters.

The first five are the thesis's image variants (Kant 2023, table 3.2e); the severity-graded
corruptions follow ImageNet-C (Hendrycks & Dietterich 2019, "Benchmarking Neural Network
Robustness to Common Corruptions and Perturbations", ICLR). The audio ones are the common
speech-robustness trio (noise at an SNR, speed as sox's ``speed``, band limiting as a telephone
line does it); `perturbations.audio` explains each.
"""

from __future__ import annotations

from perturbations import audio, boxes, image, spans, text
from perturbations.base import Definition, ParamSpec

IMAGENET_C = "ImageNet-C table, Hendrycks & Dietterich 2019"
ITEM_SEED = "seeded per item by blake2b(f'{seed}:{index}')"

SEVERITY = ParamSpec("severity", int, 3, 1, 5, "severity {} of 5")


def _rate(default: float) -> ParamSpec:
    return ParamSpec("rate", float, default, 0.01, 0.5, "rate {}")


def _table(values: tuple[float, ...]) -> str:
    return ", ".join(f"{v:g}" for v in values)


_IMAGE = (
    Definition(
        "greyscale",
        "image",
        "Greyscale: each image is converted to shades of grey.",
        "Luma L = (19595 R + 38470 G + 7471 B + 32768) >> 16 (ITU-R 601-2, identical to PIL "
        "Image.convert('L')), written to all three RGB channels; one-channel images are unchanged.",
        images=image.greyscale,
    ),
    Definition(
        "flipped",
        "image",
        "Flipped: each image is turned upside down.",
        "Vertical flip, torchvision.transforms.v2.functional.vertical_flip (as PIL "
        "Image.transpose(Transpose.FLIP_TOP_BOTTOM)); boxes: y → height − y.",
        images=image.flipped,
        boxes=boxes.flipped,
    ),
    Definition(
        "mirrored",
        "image",
        "Mirrored: each image is flipped left to right.",
        "Horizontal flip, torchvision.transforms.v2.functional.horizontal_flip (as PIL "
        "Image.transpose(Transpose.FLIP_LEFT_RIGHT)); boxes: x → width − x.",
        images=image.mirrored,
        boxes=boxes.mirrored,
    ),
    Definition(
        "inverted",
        "image",
        "Inverted: each image's colours are inverted, like a photographic negative.",
        "255 − x per channel, torchvision.transforms.v2.functional.invert.",
        images=image.inverted,
    ),
    Definition(
        "rotated90",
        "image",
        "Rotated 90°: each image is turned a quarter turn counter-clockwise.",
        "torch.rot90(x, k=1, dims=(H, W)): 90 degrees counter-clockwise, identical to PIL "
        "Image.transpose(Transpose.ROTATE_90); width and height swap; boxes: (x, y) → "
        "(y, width − x).",
        images=image.rotated90,
        boxes=boxes.rotated90,
    ),
    Definition(
        "gaussian_noise",
        "image",
        "Gaussian noise: random grain is added to every pixel.",
        "x/255 + N(0, σ²) per pixel and channel, clipped to [0, 1], ×255, rounded to uint8; "
        f"σ for severity 1–5 = {_table(image.NOISE_SIGMA)} ({IMAGENET_C}); noise drawn by "
        f"torch.randn from a CPU torch.Generator {ITEM_SEED}.",
        params=(SEVERITY,),
        stochastic=True,
        images=image.gaussian_noise,
    ),
    Definition(
        "gaussian_blur",
        "image",
        "Gaussian blur: each image is blurred.",
        "Separable Gaussian filter along H then W (as matrix products), kernel truncated at 4σ "
        "and normalised, borders replicated (skimage/scipy mode 'nearest'), rounded to uint8; "
        "σ = s × min(H, W) / 224 pixels with s for severity 1–5 = "
        f"{_table(image.BLUR_SIGMA)} (ImageNet-C's σ at 224 px; {IMAGENET_C}).",
        params=(SEVERITY,),
        images=image.gaussian_blur,
    ),
    Definition(
        "jpeg",
        "image",
        "JPEG: each image is saved as a low-quality JPEG, adding compression artefacts.",
        "Saved and reloaded per image with Pillow (Image.save(format='JPEG', quality=q), "
        f"libjpeg, 4:2:0 chroma subsampling) at quality {_table(image.JPEG_QUALITY)} for severity 1–5 ({IMAGENET_C}).",
        params=(SEVERITY,),
        images=image.jpeg,
    ),
    Definition(
        "brightness",
        "image",
        "Brightness: each image is made brighter.",
        "HSV value V ← min(V + c, 1) on [0, 1], computed as RGB × V'/V so hue and saturation "
        f"are kept, rounded to uint8; c for severity 1–5 = {_table(image.BRIGHTNESS_SHIFT)} "
        f"({IMAGENET_C}).",
        params=(SEVERITY,),
        images=image.brightness,
    ),
    Definition(
        "contrast",
        "image",
        "Contrast: each image's contrast is reduced.",
        "(x − m)·c + m on [0, 1] with m the image's per-channel mean, clipped, rounded to uint8; "
        f"c for severity 1–5 = {_table(image.CONTRAST_FACTOR)} ({IMAGENET_C}).",
        params=(SEVERITY,),
        images=image.contrast,
    ),
    Definition(
        "pixelate",
        "image",
        "Pixelate: each image is shown at a lower resolution, in coarse blocks.",
        "Pillow's BOX resize to floor(H·c) × floor(W·c) and back (ImageNet-C), computed in one "
        "step on tensors: pixel k of n rows (columns) falls in block ((2k + 1)·m) // (2n) of m "
        f"and takes its block's mean, rounded; c for severity 1–5 = {_table(image.PIXELATE_SCALE)} "
        f"({IMAGENET_C}).",
        params=(SEVERITY,),
        images=image.pixelate,
    ),
)

_TEXT = (
    Definition(
        "lowercase",
        "text",
        "Lowercase: every text is written in lowercase letters.",
        "Python str.lower(); tagged words one by one; QA answers with their context.",
        texts=text.lowercase,
        words=spans.lowercase_words,
        context=spans.lowercase_context,
    ),
    Definition(
        "uppercase",
        "text",
        "Uppercase: every text is written in capital letters.",
        "Python str.upper(); tagged words one by one; QA answers with their context.",
        texts=text.uppercase,
        words=spans.uppercase_words,
        context=spans.uppercase_context,
    ),
    Definition(
        "typos",
        "text",
        "Typos: letters are randomly swapped, dropped or doubled.",
        "Each letter (str.isalpha) starts a typo with probability rate: swap with the next "
        "letter of the same run of letters (if different), drop it (never a run's last letter) "
        "or double it, chosen uniformly among those allowed; other characters are untouched; "
        f"random.Random {ITEM_SEED}. Tagged words: within each word; QA contexts: outside the "
        "answers.",
        params=(_rate(0.05),),
        stochastic=True,
        texts=text.typos,
        words=spans.typos_words,
        context=spans.typos_context,
    ),
    Definition(
        "no_punctuation",
        "text",
        "No punctuation: all punctuation marks are removed.",
        "Every character whose Unicode category starts with 'P' (unicodedata.category) is "
        "deleted; nothing else changes. Tagged words of punctuation only are dropped with their "
        "tags (B- re-tagged, as by word_dropout); a QA answer of punctuation only is kept.",
        texts=text.no_punctuation,
        words=spans.no_punctuation_words,
        context=spans.no_punctuation_context,
    ),
    Definition(
        "word_dropout",
        "text",
        "Word dropout: random words are left out.",
        "Split on whitespace (str.split), keep each word with probability 1 − rate, keep one "
        "word chosen at random if none survive, join with single spaces; random.Random "
        f"{ITEM_SEED}. Tagged words drop with their tags, an I- tag left starting its entity "
        "becoming B-; in QA contexts a word overlapping an answer is never dropped.",
        params=(_rate(0.1),),
        stochastic=True,
        texts=text.word_dropout,
        words=spans.word_dropout_words,
        context=spans.word_dropout_context,
    ),
)

_AUDIO = (
    Definition(
        "noise",
        "audio",
        "Noise: white noise (hiss) is added to each recording.",
        "x + g·n with n ~ N(0, 1) per sample, drawn by numpy.random.Generator(PCG64) "
        f"{ITEM_SEED}, and g chosen so that the noise's power in this recording is exactly "
        "mean(x²) / 10^(snr_db/10); computed in float64, returned as float32, not clipped; a "
        "silent recording stays silent.",
        params=(ParamSpec("snr_db", float, 10.0, -5.0, 40.0, "signal-to-noise ratio {} dB"),),
        stochastic=True,
        audio=audio.noise,
    ),
    Definition(
        "speed",
        "audio",
        "Speed: each recording is played faster (or slower), its pitch rising (or falling) "
        "with it.",
        "Resampled by 1/factor with scipy.signal.resample_poly (polyphase FIR, Kaiser window "
        "β = 5) and played at the original sampling rate, as sox's `speed` effect: n samples "
        "become ceil(n/factor); factor taken as the nearest fraction with denominator ≤ "
        f"{audio.SPEED_MAX_DENOMINATOR}.",
        params=(ParamSpec("factor", float, 1.1, 0.5, 2.0, "{}× speed"),),
        audio=audio.speed,
    ),
    Definition(
        "lowpass",
        "audio",
        "Low-pass: the high frequencies of each recording are removed, as over a telephone.",
        f"Butterworth low-pass of order {audio.LOWPASS_ORDER} (scipy.signal.butter, second-order "
        "sections) at the recording's sampling rate, applied forwards and backwards "
        "(scipy.signal.sosfiltfilt): zero phase, no delay, same length; -6 dB at the cutoff, "
        "-48 dB per octave above; unchanged when the cutoff is at or above Nyquist.",
        params=(ParamSpec("cutoff_hz", float, 2000.0, 100.0, 8000.0, "cutoff {} Hz"),),
        audio=audio.lowpass,
    ),
)

DEFINITIONS: dict[str, Definition] = {d.name: d for d in (*_IMAGE, *_TEXT, *_AUDIO)}
