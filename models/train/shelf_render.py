"""Procedural shelf-slot renderer for slotnet: one planogram slot as a shelf camera sees it, warped
to the 64x64 crop the runtime feeds the model, with labels (fill, occluded, wrong product).

Pure numpy + Pillow (Pillow only for the JPEG round trip and for writing preview sheets). Every
sample is drawn from its own generator `np.random.default_rng([seed, index])`, so sample i of a
set is the same whatever else is rendered, and sets can be rendered in any order or in parallel.
A port (e.g. to Rust) follows the steps below; it will not reproduce numpy's PCG64 streams or
libjpeg's bytes, and need not: only the distributions matter.

    python shelf_render.py --style train --n 64 --out out/preview_train.png   # contact sheet

Coordinates
-----------
Slot space: x in [0, 1] left divider -> right divider, h in [0, 1] shelf floor -> underside of
the shelf above, z in [0, 1] front edge -> back wall. The camera looks slightly from above and
from one side; a point projects to *quad space* (u, v), where the slot's nominal quad (the crop
the runtime takes) is the unit square u, v in [0, 1] (v down):

    s(z) = 1 - P*z                         perspective shrink with depth
    u    = 0.5 + (x - 0.5)*s(z) + Sx*z      Sx: sideways camera offset (skew)
    v    = 1 - E*z - h*s(z)                E: camera elevation (the back floor appears higher)

So the quad's top edge (v = 0) is the front edge of the shelf above, its bottom edge (v = 1) the
front edge of this shelf's floor (top of the price rail), its sides the slot dividers at the
front. E > P always, so the tops of packs face the camera and back rows show above front rows.

The camera image ("canvas") covers u, v in [-M, 1 + M], M = 0.25, at Sw x Sh pixels per slot
(canvas Sw*(1+2M) x Sh*(1+2M)); canvas pixel (c, r) covers [c, c+1) x [r, r+1) and its centre
is u = (c + 0.5)/Sw - M, v = (r + 0.5)/Sh - M. Sw/Sh follows the slot's physical aspect.

Steps (ranges: training style / eval style, see STYLES)
-----------------------------------------------------
1. Slot: facings F in 1..4, depth D in 1..4, capacity C = F*D. Units k: 0 with p=0.12, C with
   p=0.15, else uniform 1..C-1. Units are spread over the F columns one at a time, choosing a
   non-full column with weight (n_col + 1)^a, a in {0, 2} (spread or clumped); within a column
   the units sit at the front rows (faced, p=0.5 per slot) or at the back rows (front units
   taken). Label fill = k / C.
2. SKU: the slot's SKU from the style's SKU pool (training: 4 of every 5 catalog SKUs; eval:
   the 5th, never seen in training). With p=0.25 and k >= 2 the slot is *wrong*: 1..max(1, k/2)
   units are another SKU (same pack shape with p=0.35), one of them always the front unit of a
   column, while the front unit of another occupied column (if any) stays the slot's SKU;
   label wrong = 1. Otherwise, with k >= 1, every unit is another SKU with p=0.35 when
   k <= max(1, C/4) (a shopper's put-back in an emptied slot, a mix-up at restocking) and
   p=0.04 for fuller slots; label wrong = 1 as well. The model sees the planned SKU's pack
   (primary and secondary colour, shape: the `product` descriptor below), so a slot holding
   only another product can be told apart. Label absent = 1 when the slot holds no unit of its
   own SKU (k = 0, or every unit another SKU).
   Descriptor of the planned SKU (the runtime takes it from the catalog's `attributes.pack`):
   primary RGB / 255, secondary RGB / 255, one-hot shape (box, bag, bottle, can, jar).
3. Geometry: E in [0.2, 0.58] / [0.2, 0.55], P in [0.04, 0.24] / [0.05, 0.22] (and P <= E - 0.05),
   Sx in +-0.3 / +-0.28; pack height from the shape's range (box 0.5-0.85, bag 0.45-0.8, bottle
   0.6-0.9, can 0.35-0.6, jar 0.4-0.7; half the SKU's design value, half random), capped at
   (0.9 - E*z)/(1 - P*z) with z the back row's front, so the back row's top edge stays at
   v >= 0.1 (depth stays visible); pack width = cell width * design width (0.78-0.94), depth =
   0.9 * cell depth. Slot size on the sensor: sqrt(Sw*Sh) in [36, 120] / [40, 96] px, aspect
   Sw/Sh = F * shape aspect (box 0.45-0.9, bag 0.45-0.85, bottle 0.3-0.5, can 0.35-0.6, jar
   0.4-0.7) / U(0.8, 1.2), clipped to 0.4..2.6.
4. Paint back to front (painter's algorithm), colours in [0, 1] RGB:
   a. back wall (fills the canvas): plain, pegboard dots, vertical panels or horizontal grooves,
      colour from the style's wall palette (training: half of the time a random grey-ish colour
      instead; eval: its own palette only), value noise;
   b. shelf floor (x in [-1, 2], z in [0, 1]): rail colour, optional wire grid lines;
   c. neighbour slots (x in [-0.45, 0) and (1, 1.45]): a front and a back unit of random SKUs;
   d. the slot's units, back row first: per unit side faces, top face, front face. Shapes:
      box (front rect, top quad lighter x1.15, side quads darker x0.7), can (cylinder: body rect
      + bottom and top ellipses, metal lid), bottle (body cylinder, shoulder trapezoid, neck,
      cap), jar (glass body with contents colour, lid band + lid ellipse), bag (polygon with
      bulged sides and a zig-zag crimp at the top, pillow shading). Front textures come from a
      per-SKU design (seeded from the SKU id): label band in the secondary colour, 0-2 thin
      stripes, optional logo ellipse, 1-3 rows of "text" dashes; cylinders get cosine shading and
      a specular stripe. Colours darken with depth by (1 - dk*z), dk in [0.1, 0.45].
      Per unit: x jitter +-3 % of the cell, brightness +-3 %.
   e. optional plastic dividers at x = 0 and x = 1 (alpha 0.35);
   f. the shelf above (v < 0) and this shelf's price rail (v > 1): rail colour, white price labels
      with text dashes and barcode bars.
5. Occluder (p = 0.30; occluded label = occluder extent covers >= 12 % of the nominal quad, the
   occluder is re-drawn up to 8 times to reach that; p = 0.04 a tiny one (< 3 %) labelled 0),
   painted into an RGBA layer in canvas pixels, optionally defocused, composited:
   hand/arm (capsule arm from an image edge, skin tone from a 5-tone palette, sleeve p=0.6,
   palm ellipse + 4 fingers + thumb, holds a pack p=0.3), shopper body (huge ellipse from an
   edge, clothing solid/stripes/checks + folds, blur 1.5-5 px), cart (wire grid of two line
   families in a region entering from an edge, spacing 6-13 % of the slot, metal or coated
   colour, top tube), glare (added after lighting: white blob I*exp(-r^2), I in [0.6, 1.4]).
6. Lighting (multiplicative, then clipped glare added): brightness [0.55, 1.35] / [0.6, 1.3];
   colour cast gains R [0.8, 1.22] / [1.0, 1.2] (warm), G [0.88, 1.1] / [0.95, 1.05],
   B [0.76, 1.2] / [0.78, 1.0]; linear gradient of strength [0, 0.55] / [0.1, 0.5] in a random
   direction; shadow under the shelf above (depth 0-30 % over the top 2-25 % of the quad);
   vignette 0-25 %.
7. Camera: Gaussian blur sigma [0.2, 1.4] / [0.4, 1.4] canvas px; noise per pixel and channel
   sigma * (0.7 N(0,1) + 0.7 N(0,1) shared by the channels), sigma = sqrt(s0^2 + 0.02*s0*I),
   s0 in [0.002, 0.035] / [0.008, 0.035]; round to u8; JPEG round trip at quality [28, 95] /
   [30, 85] (Pillow, 4:2:0).
   So the training style is a wide randomisation that covers the eval style's ranges; the eval
   style differs in its distribution (warm light, blurrier and noisier on average, smaller
   slots), its wall/rail palettes and its SKUs.
8. Crop: the quad corners (TL, TR, BR, BL) = nominal corners + uniform jitter of +-5 % / +-5 %
   of the slot's width (x) and height (y) each; warp to 64x64 as the runtime does (crop_quad):
   output pixel (i, j) centre (s, t) = ((j + 0.5)/64, (i + 0.5)/64) maps through the homography
   unit square -> quad to image point (x, y); bilinear sample at pixel-centre coordinates
   (x - 0.5, y - 0.5), edges clamped; round to u8. Model input = u8 / 255, RGB, NCHW.
"""

import argparse
import dataclasses
import io
import json
import pathlib

import numpy as np
from PIL import Image

CATALOG = pathlib.Path(__file__).resolve().parent.parent / "data" / "demo-catalog.json"
CROP = 64
MARGIN = 0.25  # canvas margin around the nominal quad, in slot units
OCCLUDED_MIN = 0.12  # occluder extent (share of the nominal quad) that counts as occluded
TINY_MAX = 0.03  # a distractor occluder labelled 0 stays below this


@dataclasses.dataclass(frozen=True)
class Style:
    name: str
    elevation: tuple  # E
    persp: tuple  # P
    skew: float  # |Sx| max
    slot_px: tuple  # sqrt(Sw*Sh)
    brightness: tuple
    cast_r: tuple
    cast_g: tuple
    cast_b: tuple
    gradient: tuple
    blur: tuple
    noise: tuple
    jpeg: tuple
    jitter: float
    walls: tuple  # wall palette, RGB 0..255
    rails: tuple  # shelf/rail palette
    sku_fold: str  # "train": SKUs with index % 5 != 2; "eval": index % 5 == 2
    random_colours: float  # share of walls/rails drawn as a random grey-ish colour instead of the palette


STYLES = {
    "train": Style(
        name="train", elevation=(0.2, 0.58), persp=(0.04, 0.24), skew=0.3, slot_px=(36, 120),
        brightness=(0.55, 1.35), cast_r=(0.8, 1.22), cast_g=(0.88, 1.1), cast_b=(0.76, 1.2),
        gradient=(0.0, 0.55), blur=(0.2, 1.4), noise=(0.002, 0.035), jpeg=(28, 95), jitter=0.05,
        walls=((235, 235, 230), (200, 200, 200), (120, 120, 125), (60, 60, 62), (225, 215, 190),
               (170, 130, 90)),
        rails=((210, 210, 210), (150, 150, 155), (40, 40, 45), (230, 230, 225), (30, 70, 150)),
        sku_fold="train", random_colours=0.5),
    "eval": Style(
        name="eval", elevation=(0.2, 0.55), persp=(0.05, 0.22), skew=0.28, slot_px=(40, 96),
        brightness=(0.6, 1.3), cast_r=(1.0, 1.2), cast_g=(0.95, 1.05), cast_b=(0.78, 1.0),
        gradient=(0.1, 0.5), blur=(0.4, 1.4), noise=(0.008, 0.035), jpeg=(30, 85), jitter=0.05,
        walls=((245, 240, 225), (185, 190, 195), (95, 100, 110), (45, 45, 50), (200, 180, 150),
               (140, 160, 140)),
        rails=((190, 195, 200), (120, 120, 120), (25, 25, 30), (240, 240, 240), (150, 30, 30)),
        sku_fold="eval", random_colours=0.0),
}

SHAPE_HEIGHT = {"box": (0.5, 0.85), "bag": (0.45, 0.8), "bottle": (0.6, 0.9), "can": (0.35, 0.6),
                "jar": (0.4, 0.7)}
SHAPE_ASPECT = {"box": (0.45, 0.9), "bag": (0.45, 0.85), "bottle": (0.3, 0.5), "can": (0.35, 0.6),
                "jar": (0.4, 0.7)}
SKIN = np.array([(255, 224, 196), (234, 192, 134), (198, 134, 66), (141, 85, 36), (94, 56, 30)],
                np.float32) / 255.0


# ----------------------------------------------------------------------------------------------
# catalog and per-SKU pack designs


def load_products(path=CATALOG):
    products = json.loads(pathlib.Path(path).read_text())["products"]
    out = []
    for index, p in enumerate(products):
        pack = p["attributes"]["pack"]
        out.append({"index": index, "sku": p["sku"], "shape": pack["shape"],
                    "primary": np.array(pack["primary"], np.float32) / 255.0,
                    "secondary": np.array(pack["secondary"], np.float32) / 255.0})
    return out


def sku_pool(products, fold):
    if fold == "train":
        return [p for p in products if p["index"] % 5 != 2]
    return [p for p in products if p["index"] % 5 == 2]


_DESIGNS = {}


def design(product):
    """Per-SKU look, deterministic from the SKU id (the same in every style)."""
    key = product["sku"]
    if key in _DESIGNS:
        return _DESIGNS[key]
    r = np.random.default_rng(int(key[3:]) * 7919 + 17)
    prim, sec = product["primary"], product["secondary"]
    band0 = r.uniform(0.2, 0.55)
    d = {
        "shape": product["shape"], "primary": prim, "secondary": sec,
        "band": (band0, band0 + r.uniform(0.15, 0.4)),
        "stripes": [(s, s + r.uniform(0.02, 0.06)) for s in r.uniform(0.05, 0.95, r.integers(0, 3))],
        "stripe_rgb": [np.array([1, 1, 1], np.float32), np.array([0.05, 0.05, 0.05], np.float32),
                       sec * 0.6][int(r.integers(3))],
        "logo": (r.uniform(0.3, 0.7), r.uniform(0.15, 0.8), r.uniform(0.12, 0.25)) if r.random() < 0.6 else None,
        "logo_rgb": np.array([1, 1, 1], np.float32) if r.random() < 0.5 else 1.0 - prim,
        "text_rows": int(r.integers(1, 4)),
        "text_phase": r.uniform(0, 100),
        "width": r.uniform(0.78, 0.94),
        "height": r.uniform(0, 1),  # position within the shape's height range
        "cap_rgb": [sec, np.array([0.85, 0.85, 0.85], np.float32), np.array([0.1, 0.1, 0.1], np.float32),
                    np.array([0.95, 0.95, 0.95], np.float32)][int(r.integers(4))],
        "gloss": r.uniform(0.1, 0.6),
    }
    _DESIGNS[key] = d
    return d


def lum(rgb):
    return float(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])


def face_colour(d, a, b, kind):
    """Front texture of a pack at face coordinates a (across, 0..1) and b (down, 0..1)."""
    prim, sec = d["primary"], d["secondary"]
    rgb = np.empty(a.shape + (3,), np.float32)
    rgb[:] = prim
    b0, b1 = d["band"]
    band = (b > b0) & (b < b1)
    rgb[band] = sec
    for s0, s1 in d["stripes"]:
        rgb[(b > s0) & (b < s1)] = d["stripe_rgb"]
    if d["logo"] is not None:
        la, lb, lr = d["logo"]
        rgb[((a - la) / lr) ** 2 + ((b - lb) / (lr * 0.7)) ** 2 < 1] = d["logo_rgb"]
    # rows of "text": dashes inside the band
    rows = d["text_rows"]
    text_rgb = np.float32(0.08) if lum(sec) > 0.45 else np.float32(0.95)
    for i in range(rows):
        c = b0 + (b1 - b0) * (i + 1) / (rows + 1)
        th = (b1 - b0) * 0.12
        dash = np.sin(a * 37.0 + d["text_phase"] + i * 3.1) + np.sin(a * 91.0 + i) > 0.3
        rgb[(np.abs(b - c) < th) & dash & (a > 0.15) & (a < 0.85)] = text_rgb
    if kind == "cyl":
        shade = 0.55 + 0.45 * np.cos((a - 0.45) * np.pi * 0.95)
        spec = d["gloss"] * np.exp(-((a - 0.3) / 0.06) ** 2)
        rgb = rgb * shade[..., None] + spec[..., None]
    elif kind == "bag":
        shade = (1 - 0.3 * (2 * a - 1) ** 2) * (1 - 0.12 * (2 * b - 1) ** 2)
        crinkle = 0.04 * np.sin(a * 29 + b * 13) * np.sin(b * 23 - a * 7)
        rgb = rgb * (shade + crinkle)[..., None]
    else:
        rgb = rgb * (0.92 + 0.1 * a)[..., None]
    return rgb


# ----------------------------------------------------------------------------------------------
# raster primitives (canvas in quad space; pixel centres tested, no anti-aliasing: the camera
# blur in step 7 smooths the edges)


class Canvas:
    def __init__(self, sw, sh):
        self.sw, self.sh = float(sw), float(sh)
        self.w = int(round(sw * (1 + 2 * MARGIN)))
        self.h = int(round(sh * (1 + 2 * MARGIN)))
        self.img = np.zeros((self.h, self.w, 3), np.float32)

    def px(self, u, v):
        return (u + MARGIN) * self.sw, (v + MARGIN) * self.sh

    def region(self, u0, u1, v0, v1):
        """Pixel window covering the uv box, and the uv of its pixel centres."""
        x0 = max(0, int(np.floor((u0 + MARGIN) * self.sw)))
        x1 = min(self.w, int(np.ceil((u1 + MARGIN) * self.sw)) + 1)
        y0 = max(0, int(np.floor((v0 + MARGIN) * self.sh)))
        y1 = min(self.h, int(np.ceil((v1 + MARGIN) * self.sh)) + 1)
        if x1 <= x0 or y1 <= y0:
            return None
        uu = (np.arange(x0, x1, dtype=np.float32) + 0.5) / self.sw - MARGIN
        vv = (np.arange(y0, y1, dtype=np.float32) + 0.5) / self.sh - MARGIN
        return y0, y1, x0, x1, uu[None, :], vv[:, None]

    def paint(self, win, mask, colour, alpha=1.0):
        y0, y1, x0, x1 = win[:4]
        if not mask.any():
            return
        target = self.img[y0:y1, x0:x1]
        if callable(colour):
            uu, vv = win[4], win[5]
            U = np.broadcast_to(uu, mask.shape)[mask]
            V = np.broadcast_to(vv, mask.shape)[mask]
            rgb = colour(U, V)
        else:
            rgb = np.asarray(colour, np.float32)
        if alpha >= 1.0:
            target[mask] = rgb
        else:
            target[mask] = target[mask] * (1 - alpha) + rgb * alpha

    def polygon(self, pts, colour, alpha=1.0):
        """Even-odd fill of a polygon given as [(u, v), ...]."""
        pts = np.asarray(pts, np.float32)
        win = self.region(pts[:, 0].min(), pts[:, 0].max(), pts[:, 1].min(), pts[:, 1].max())
        if win is None:
            return
        uu, vv = win[4], win[5]
        inside = np.zeros((vv.shape[0], uu.shape[1]), bool)
        n = len(pts)
        for i in range(n):
            (ua, va), (ub, vb) = pts[i], pts[(i + 1) % n]
            if va == vb:
                continue
            cond = (va > vv) != (vb > vv)
            ux = ua + (vv - va) * (ub - ua) / (vb - va)
            inside ^= cond & (uu < ux)
        self.paint(win, inside, colour, alpha)

    def rect(self, u0, u1, v0, v1, colour, alpha=1.0):
        win = self.region(u0, u1, v0, v1)
        if win is None:
            return
        uu, vv = win[4], win[5]
        mask = (uu >= u0) & (uu < u1) & (vv >= v0) & (vv < v1)
        self.paint(win, mask, colour, alpha)

    def ellipse(self, cu, cv, ru, rv, colour, alpha=1.0):
        if ru <= 0 or rv <= 0:
            return
        win = self.region(cu - ru, cu + ru, cv - rv, cv + rv)
        if win is None:
            return
        uu, vv = win[4], win[5]
        mask = ((uu - cu) / ru) ** 2 + ((vv - cv) / rv) ** 2 <= 1.0
        self.paint(win, mask, colour, alpha)


def value_noise(rng, h, w, cells, amp):
    """Smooth noise: a (cells+1)^2 grid of uniform values, bilinearly upsampled to h x w."""
    g = rng.uniform(-amp, amp, (cells + 1, cells + 1)).astype(np.float32)
    y = np.linspace(0, cells, h, dtype=np.float32)
    x = np.linspace(0, cells, w, dtype=np.float32)
    y0 = np.minimum(y.astype(int), cells - 1)
    x0 = np.minimum(x.astype(int), cells - 1)
    fy, fx = (y - y0)[:, None], (x - x0)[None, :]
    return ((g[y0][:, x0] * (1 - fx) + g[y0][:, x0 + 1] * fx) * (1 - fy)
            + (g[y0 + 1][:, x0] * (1 - fx) + g[y0 + 1][:, x0 + 1] * fx) * fy)


def gaussian_blur(img, sigma):
    """Separable Gaussian, radius ceil(3 sigma), edge-replicated borders. img: HxW or HxWxC."""
    if sigma < 0.15:
        return img
    r = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2).astype(np.float32)
    k /= k.sum()
    for axis in (0, 1):
        pad = [(0, 0)] * img.ndim
        pad[axis] = (r, r)
        p = np.pad(img, pad, mode="edge")
        out = np.zeros_like(img)
        n = img.shape[axis]
        for i, kv in enumerate(k):
            out += kv * (p[i:i + n] if axis == 0 else p[:, i:i + n])
        img = out
    return img


# ----------------------------------------------------------------------------------------------
# the scene


class Scene:
    def __init__(self, E, P, Sx):
        self.E, self.P, self.Sx = E, P, Sx

    def uv(self, x, h, z):
        s = 1 - self.P * z
        return 0.5 + (x - 0.5) * s + self.Sx * z, 1 - self.E * z - h * s


def draw_unit(cv, sc, d, x0, x1, zf, depth, ht, dark):
    """One pack occupying x0..x1, depth zf..zf+depth, height ht."""
    shade = dark
    prim = d["primary"]
    shape = d["shape"]
    if shape == "box":
        z1 = zf + depth
        top = [sc.uv(x0, ht, zf), sc.uv(x1, ht, zf), sc.uv(x1, ht, z1), sc.uv(x0, ht, z1)]
        for xs in (x0, x1):
            side = [sc.uv(xs, 0, zf), sc.uv(xs, ht, zf), sc.uv(xs, ht, z1), sc.uv(xs, 0, z1)]
            cv.polygon(side, np.clip(prim * 0.7 * shade, 0, 1))
        cv.polygon(top, np.clip(prim * 1.15 * shade + 0.05, 0, 1))
        (ua, vb), (ub, va) = sc.uv(x0, 0, zf), sc.uv(x1, ht, zf)
        cv.rect(ua, ub, va, vb, lambda U, V: face_colour(d, (U - ua) / (ub - ua), (V - va) / (vb - va), "box") * shade)
    elif shape in ("can", "jar", "bottle"):
        zc = zf + depth / 2
        rz = depth / 2 * 0.95
        cx = (x0 + x1) / 2
        w = x1 - x0
        if shape == "bottle":
            w *= 0.7
        ua, _ = sc.uv(cx - w / 2, 0, zc)
        ub, v_bot = sc.uv(cx + w / 2, 0, zc)
        s = 1 - sc.P * zc
        ru = (ub - ua) / 2
        uc = (ua + ub) / 2
        ry0 = rz * sc.E
        h_body = ht if shape == "can" else ht * (0.82 if shape == "jar" else 0.6)
        _, v_top = sc.uv(cx, h_body, zc)
        ry = max(rz * (sc.E - h_body * sc.P), 1e-3)
        body = (lambda U, V: face_colour(d, (U - ua) / (ub - ua), (V - v_top) / max(v_bot - v_top, 1e-3), "cyl") * shade)
        if shape == "jar":
            contents = d["primary"]
            body = (lambda U, V, c=contents: (face_colour(d, (U - ua) / (ub - ua), (V - v_top) / max(v_bot - v_top, 1e-3), "cyl") * 0.85 + 0.1) * shade)
        cv.ellipse(uc, v_bot, ru, ry0, np.clip(prim * 0.5 * shade, 0, 1))
        cv.rect(ua, ub, v_top, v_bot, body)
        if shape == "can":
            cv.ellipse(uc, v_top, ru, ry, np.float32([0.72, 0.72, 0.74]) * shade)
            cv.ellipse(uc, v_top, ru * 0.8, ry * 0.8, np.float32([0.6, 0.6, 0.62]) * shade)
        elif shape == "jar":
            _, v_lid = sc.uv(cx, ht, zc)
            lid = d["cap_rgb"]
            cv.rect(ua + ru * 0.08, ub - ru * 0.08, v_lid, v_top, np.clip(lid * 0.85 * shade, 0, 1))
            cv.ellipse(uc, v_lid, ru * 0.92, max(rz * (sc.E - ht * sc.P), 1e-3), np.clip(lid * 1.1 * shade + 0.05, 0, 1))
        else:  # bottle: shoulder, neck, cap
            cv.ellipse(uc, v_top, ru, ry, np.clip(prim * 0.9 * shade, 0, 1))
            _, v_sh = sc.uv(cx, ht * 0.75, zc)
            _, v_cap0 = sc.uv(cx, ht * 0.88, zc)
            _, v_cap1 = sc.uv(cx, ht, zc)
            rn = ru * 0.35
            cv.polygon([(ua, v_top), (ub, v_top), (uc + rn, v_sh), (uc - rn, v_sh)], np.clip(prim * 0.85 * shade, 0, 1))
            cv.rect(uc - rn, uc + rn, v_cap0, v_sh, np.clip(prim * 0.8 * shade, 0, 1))
            cap = d["cap_rgb"]
            cv.rect(uc - rn * 1.2, uc + rn * 1.2, v_cap1, v_cap0, np.clip(cap * shade, 0, 1))
            cv.ellipse(uc, v_cap1, rn * 1.2, max(rn * 0.5 * (sc.E - ht * sc.P) / max(sc.E, 1e-3), 1e-3) + 0.004,
                       np.clip(cap * 1.15 * shade + 0.05, 0, 1))
        del s
    else:  # bag
        zb = zf + depth * 0.3
        bulge = (x1 - x0) * 0.06
        teeth = 7
        pts = [(x0, 0.0), (x1, 0.0), (x1 + bulge, ht * 0.5), (x1, ht * 0.9)]
        for i in range(teeth * 2 + 1):
            t = 1 - i / (teeth * 2)
            pts.append((x0 + (x1 - x0) * t, ht * (1.0 if i % 2 == 0 else 0.94)))
        pts += [(x0, ht * 0.9), (x0 - bulge, ht * 0.5)]
        uvp = [sc.uv(px, ph, zb) for px, ph in pts]
        ua, vb = sc.uv(x0, 0, zb)
        ub, va = sc.uv(x1, ht, zb)
        cv.polygon(uvp, lambda U, V: face_colour(d, (U - ua) / (ub - ua), (V - va) / (vb - va), "bag") * shade)
        # crimp band
        _, vc = sc.uv(x0, ht * 0.9, zb)
        cv.rect(ua, ub, va + (vc - va) * 0.35, vc, np.clip(prim * 1.2 * shade + 0.06, 0, 1), alpha=0.6)


def pack_height(rng, d, style_shape_cap):
    lo, hi = SHAPE_HEIGHT[d["shape"]]
    h = lo + (hi - lo) * (0.5 * d["height"] + 0.5 * rng.random())
    return float(np.clip(h, 0.25, style_shape_cap))


def style_colour(rng, style, palette):
    """A palette colour, or (share style.random_colours) a random low-saturation colour."""
    if rng.random() < style.random_colours:
        grey = rng.uniform(0.12, 0.95)
        return np.clip(grey + rng.uniform(-0.12, 0.12, 3), 0, 1).astype(np.float32)
    return np.array(palette[int(rng.integers(len(palette)))], np.float32) / 255.0


def draw_wall(rng, cv, style, brightness_dark):
    wall = style_colour(rng, style, style.walls)
    wall = np.clip(wall * rng.uniform(0.85, 1.1), 0, 1)
    img = cv.img
    img[:] = wall * brightness_dark
    img += value_noise(rng, cv.h, cv.w, 4, 0.05)[..., None]
    kind = int(rng.integers(4))
    ys, xs = np.mgrid[0:cv.h, 0:cv.w].astype(np.float32)
    unit = 0.5 * (cv.sw + cv.sh) * rng.uniform(0.08, 0.16)
    if kind == 1:  # pegboard
        dots = ((np.mod(xs, unit) - unit / 2) ** 2 + (np.mod(ys, unit) - unit / 2) ** 2) < (unit * 0.14) ** 2
        img[dots] *= 0.35
    elif kind == 2:  # vertical panels
        img[np.mod(xs, unit * 3) < max(1.0, unit * 0.12)] *= 0.7
    elif kind == 3:  # horizontal grooves
        img[np.mod(ys, unit * 1.5) < max(1.0, unit * 0.1)] *= 0.75


def draw_rails(rng, cv, rail, labelled_slot=True):
    # the shelf above: its underside lip and price rail occupy v < 0
    cv.rect(-1, 2, -1, 0.0, rail)
    cv.rect(-1, 2, -0.035, 0.0, np.clip(rail * 0.75, 0, 1))
    # this shelf's price rail below v = 1
    cv.rect(-1, 2, 1.0, 2, rail)
    cv.rect(-1, 2, 1.0, 1.02, np.clip(rail * 1.2 + 0.05, 0, 1))
    for v0 in (-0.2, 1.03):
        for uc in rng.uniform(-0.6, 1.6, 3):
            if labelled_slot and v0 > 0 and rng.random() < 0.7:
                uc = rng.uniform(0.2, 0.8)
            w = rng.uniform(0.18, 0.35)
            cv.rect(uc - w / 2, uc + w / 2, v0, v0 + 0.15, np.float32([0.96, 0.96, 0.93]))
            cv.rect(uc - w / 2, uc - w / 2 + 0.05 * w, v0, v0 + 0.15, np.float32([0.9, 0.75, 0.1]))
            for i in range(2):
                tv = v0 + 0.03 + i * 0.05
                cv.rect(uc - w * 0.35, uc + w * (0.1 if i else 0.3), tv, tv + 0.018, np.float32([0.1, 0.1, 0.1]))
            for bx in np.linspace(uc + w * 0.15, uc + w * 0.42, 7):
                cv.rect(bx, bx + 0.006, v0 + 0.08, v0 + 0.13, np.float32([0.05, 0.05, 0.05]))


# ----------------------------------------------------------------------------------------------
# occluders (RGBA layer in canvas pixels)


def _capsule_dist(xs, ys, p0, p1):
    d = np.asarray(p1, np.float32) - np.asarray(p0, np.float32)
    L2 = max(float(d @ d), 1e-6)
    t = np.clip(((xs - p0[0]) * d[0] + (ys - p0[1]) * d[1]) / L2, 0, 1)
    return np.sqrt((xs - p0[0] - t * d[0]) ** 2 + (ys - p0[1] - t * d[1]) ** 2)


def _clothing(rng, xs, ys, size):
    base = rng.uniform(0.05, 0.95, 3).astype(np.float32)
    if rng.random() < 0.3:
        base[:] = rng.uniform(0.05, 0.9)  # grey/black/white clothes
    rgb = np.broadcast_to(base, xs.shape + (3,)).copy()
    kind = rng.integers(3)
    if kind >= 1:
        other = rng.uniform(0.05, 0.95, 3).astype(np.float32)
        ang = rng.uniform(0, np.pi)
        per = size * rng.uniform(0.06, 0.2)
        a = (xs * np.cos(ang) + ys * np.sin(ang)) / per
        m = np.mod(a, 1) < 0.5
        if kind == 2:
            b = (-xs * np.sin(ang) + ys * np.cos(ang)) / per
            m = m ^ (np.mod(b, 1) < 0.5)
        rgb[m] = other
    folds = 1 + 0.18 * np.sin(xs / size * rng.uniform(4, 12) + rng.uniform(0, 6)) * np.sin(ys / size * rng.uniform(2, 6))
    return rgb * folds[..., None]


def occluder_layer(rng, cv, kind, products, tiny=False):
    """Returns (rgba HxWx4 or None, glare HxW or None, extent HxW bool)."""
    H, W = cv.h, cv.w
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32) + 0.5
    S = 0.5 * (cv.sw + cv.sh)
    qx0, qy0 = cv.px(0, 0)
    qx1, qy1 = cv.px(1, 1)
    scale = 0.25 if tiny else 1.0
    rgba = np.zeros((H, W, 4), np.float32)

    def edge_point():
        side = rng.choice(4, p=[0.45, 0.2, 0.2, 0.15])  # bottom, left, right, top
        t = rng.uniform(0.1, 0.9)
        return [(qx0 + t * (qx1 - qx0), H + S * 0.2), (-S * 0.2, qy0 + t * (qy1 - qy0)),
                (W + S * 0.2, qy0 + t * (qy1 - qy0)), (qx0 + t * (qx1 - qx0), -S * 0.2)][side]

    if kind == "hand":
        skin = SKIN[int(rng.integers(len(SKIN)))]
        skin = np.clip(skin * rng.uniform(0.85, 1.1), 0, 1)
        r = S * rng.uniform(0.09, 0.17) * (0.5 if tiny else 1.0)
        if tiny:  # a fingertip or the edge of a hand at the crop border
            p0 = edge_point()
            p1 = (p0[0] + (qx0 + qx1) / 2 - p0[0], p0[1] + (qy0 + qy1) / 2 - p0[1])
            f = rng.uniform(0.05, 0.25)
            p1 = (p0[0] + (p1[0] - p0[0]) * f, p0[1] + (p1[1] - p0[1]) * f)
        else:
            p0 = edge_point()
            p1 = (rng.uniform(qx0 + 0.15 * (qx1 - qx0), qx1 - 0.15 * (qx1 - qx0)),
                  rng.uniform(qy0 + 0.15 * (qy1 - qy0), qy1 - 0.15 * (qy1 - qy0)))
        dist = _capsule_dist(xs, ys, p0, p1)
        arm = dist < r
        shade = 1 - 0.35 * np.clip(dist / r, 0, 1) ** 2
        rgba[arm, :3] = skin * shade[arm][:, None]
        rgba[arm, 3] = 1
        if rng.random() < 0.6 and not tiny:
            f = rng.uniform(0.3, 0.7)
            ps = (p0[0] + (p1[0] - p0[0]) * f, p0[1] + (p1[1] - p0[1]) * f)
            ds = _capsule_dist(xs, ys, p0, ps)
            sleeve = ds < r * 1.25
            cloth = _clothing(rng, xs[sleeve], ys[sleeve], S)
            rgba[sleeve, :3] = cloth * (1 - 0.3 * np.clip(ds[sleeve] / (r * 1.25), 0, 1) ** 2)[:, None]
            rgba[sleeve, 3] = 1
        # palm + fingers
        dx, dy = p1[0] - p0[0], p1[1] - p0[1]
        ang = np.arctan2(dy, dx)
        palm_r = r * 1.15
        pc = (p1[0] + np.cos(ang) * r * 0.5, p1[1] + np.sin(ang) * r * 0.5)
        palm = (xs - pc[0]) ** 2 + (ys - pc[1]) ** 2 < palm_r ** 2
        rgba[palm, :3] = skin * 0.95
        rgba[palm, 3] = 1
        for i, off in enumerate(np.linspace(-0.45, 0.45, 4)):
            a = ang + off + rng.uniform(-0.1, 0.1)
            base = (pc[0] + np.cos(a) * palm_r * 0.7, pc[1] + np.sin(a) * palm_r * 0.7)
            ln = r * rng.uniform(1.0, 1.8)
            tip = (base[0] + np.cos(a) * ln, base[1] + np.sin(a) * ln)
            df = _capsule_dist(xs, ys, base, tip)
            fm = df < r * 0.28
            rgba[fm, :3] = skin * (1 - 0.3 * np.clip(df[fm] / (r * 0.28), 0, 1) ** 2)[:, None]
            rgba[fm, 3] = 1
        a = ang + rng.choice([-1, 1]) * 1.2
        tip = (pc[0] + np.cos(a) * r * 1.6, pc[1] + np.sin(a) * r * 1.6)
        df = _capsule_dist(xs, ys, pc, tip)
        fm = df < r * 0.32
        rgba[fm, :3] = skin * 0.9
        rgba[fm, 3] = 1
        if not tiny and rng.random() < 0.3:  # holding a pack
            p = products[int(rng.integers(len(products)))]
            bw, bh = r * rng.uniform(1.5, 2.5), r * rng.uniform(2.0, 3.5)
            bc = (pc[0] + np.cos(ang) * r * 1.2, pc[1] + np.sin(ang) * r * 1.2)
            box = (np.abs(xs - bc[0]) < bw / 2) & (np.abs(ys - bc[1]) < bh / 2)
            a_ = (xs[box] - bc[0] + bw / 2) / bw
            b_ = (ys[box] - bc[1] + bh / 2) / bh
            rgba[box, :3] = face_colour(design(p), a_, b_, "box")
            rgba[box, 3] = 1
            rgba[fm, :3] = skin * 0.9
        blur = rng.uniform(0, 1.2) * S / 64
        extent = None
    elif kind == "body":
        c = edge_point()
        cx, cy = c
        rx, ry = S * rng.uniform(0.4, 1.1) * scale, S * rng.uniform(0.5, 1.4) * scale
        # pull the centre towards the slot so the body covers part of it
        f = rng.uniform(0.0, 0.8) if not tiny else 0.0
        cx += ((qx0 + qx1) / 2 - cx) * f
        cy += ((qy0 + qy1) / 2 - cy) * f
        m = ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 < 1
        rgba[m, :3] = _clothing(rng, xs[m], ys[m], S)
        rgba[m, 3] = 1
        blur = rng.uniform(1.5, 5.0) * S / 64
        extent = None
    elif kind == "cart":
        side = rng.choice(4, p=[0.5, 0.2, 0.2, 0.1])
        depth = rng.uniform(0.2, 1.0) * scale
        if side == 0:
            region = ys > qy1 - depth * (qy1 - qy0)
        elif side == 1:
            region = xs < qx0 + depth * (qx1 - qx0)
        elif side == 2:
            region = xs > qx1 - depth * (qx1 - qx0)
        else:
            region = ys < qy0 + depth * (qy1 - qy0)
        sp = S * rng.uniform(0.06, 0.13)
        th = max(1.0, S * rng.uniform(0.012, 0.03))
        a1 = rng.uniform(-0.25, 0.25)
        a2 = np.pi / 2 + rng.uniform(-0.25, 0.25)
        g1 = np.mod(xs * np.cos(a1) + ys * np.sin(a1) + rng.uniform(0, sp), sp) < th
        g2 = np.mod(xs * np.cos(a2) + ys * np.sin(a2) + rng.uniform(0, sp), sp) < th
        wire = region & (g1 | g2)
        if rng.random() < 0.6:
            col = np.float32([0.75, 0.76, 0.78]) * rng.uniform(0.8, 1.15)
        else:
            col = rng.uniform(0.1, 0.9, 3).astype(np.float32)
        hl = 1 + 0.3 * np.sin(xs * 0.9) * np.sin(ys * 0.7)
        rgba[wire, :3] = np.clip(col * hl[wire][:, None], 0, 1)
        rgba[wire, 3] = 1
        # top tube along the region boundary
        edge = region & ~np.roll(region, int(max(2, th * 2)), axis=0 if side in (0, 3) else 1)
        tube = gaussian_blur(edge.astype(np.float32), max(0.5, th * 0.6)) > 0.2
        tube_col = rng.uniform(0.05, 0.8, 3).astype(np.float32)
        rgba[tube, :3] = tube_col
        rgba[tube, 3] = 1
        blur = rng.uniform(0, 1.5) * S / 64
        extent = region
    else:  # glare
        cx = rng.uniform(qx0, qx1)
        cy = rng.uniform(qy0, qy1)
        rx, ry = S * rng.uniform(0.15, 0.6) * scale, S * rng.uniform(0.1, 0.45) * scale
        th = rng.uniform(0, np.pi)
        X = (xs - cx) * np.cos(th) + (ys - cy) * np.sin(th)
        Y = -(xs - cx) * np.sin(th) + (ys - cy) * np.cos(th)
        inten = rng.uniform(0.6, 1.4)
        glare = inten * np.exp(-((X / rx) ** 2 + (Y / ry) ** 2))
        return None, glare.astype(np.float32), glare > 0.3
    if blur > 0.3:
        rgba[..., :3] *= rgba[..., 3:4]
        rgba = gaussian_blur(rgba, blur)
        rgba[..., :3] /= np.maximum(rgba[..., 3:4], 1e-4)
    if extent is None:
        extent = rgba[..., 3] > 0.5
    return rgba, None, extent


def quad_coverage(cv, mask):
    x0, y0 = cv.px(0, 0)
    x1, y1 = cv.px(1, 1)
    sub = mask[int(round(y0)):int(round(y1)), int(round(x0)):int(round(x1))]
    return float(sub.mean()) if sub.size else 0.0


# ----------------------------------------------------------------------------------------------
# crop (the runtime's operation)


def homography_unit_to_quad(quad):
    """3x3 H with (x, y, 1) ~ H (s, t, 1) for (0,0)->q0 TL, (1,0)->q1 TR, (1,1)->q2 BR, (0,1)->q3 BL."""
    src = [(0, 0), (1, 0), (1, 1), (0, 1)]
    A, b = [], []
    for (s, t), (x, y) in zip(src, quad):
        A.append([s, t, 1, 0, 0, 0, -s * x, -t * x])
        b.append(x)
        A.append([0, 0, 0, s, t, 1, -s * y, -t * y])
        b.append(y)
    h = np.linalg.solve(np.array(A, np.float64), np.array(b, np.float64))
    return np.append(h, 1.0).reshape(3, 3)


def crop_quad(img, quad, size=CROP):
    """Warp the quad [(x, y) TL, TR, BR, BL] (image pixel coordinates, pixel (c, r) covering
    [c, c+1) x [r, r+1)) to size x size, bilinear, edges clamped. img: HxWxC u8 or float."""
    H = homography_unit_to_quad(quad)
    t = (np.arange(size) + 0.5) / size
    S, T = np.meshgrid(t, t)  # S across (columns), T down (rows)
    den = H[2, 0] * S + H[2, 1] * T + H[2, 2]
    x = (H[0, 0] * S + H[0, 1] * T + H[0, 2]) / den - 0.5
    y = (H[1, 0] * S + H[1, 1] * T + H[1, 2]) / den - 0.5
    h, w = img.shape[:2]
    x = np.clip(x, 0, w - 1)
    y = np.clip(y, 0, h - 1)
    x0 = np.minimum(np.floor(x).astype(int), w - 2) if w > 1 else np.zeros_like(x, int)
    y0 = np.minimum(np.floor(y).astype(int), h - 2) if h > 1 else np.zeros_like(y, int)
    fx = (x - x0)[..., None]
    fy = (y - y0)[..., None]
    f = img.astype(np.float64)
    top = f[y0, x0] * (1 - fx) + f[y0, x0 + 1] * fx
    bot = f[y0 + 1, x0] * (1 - fx) + f[y0 + 1, x0 + 1] * fx
    out = top * (1 - fy) + bot * fy
    if img.dtype == np.uint8:
        return np.clip(np.round(out), 0, 255).astype(np.uint8)
    return out.astype(img.dtype)


# ----------------------------------------------------------------------------------------------
# one sample


def render_slot(rng, style, pool, products):
    """Returns (crop u8 64x64x3, label float32[3] = fill, occluded, wrong, info dict)."""
    U = rng.uniform
    E = U(*style.elevation)
    P = min(U(*style.persp), E - 0.05)
    Sx = U(-style.skew, style.skew)
    sc = Scene(E, P, Sx)
    F = int(rng.integers(1, 5))
    D = int(rng.integers(1, 5))
    C = F * D
    r = rng.random()
    k = 0 if r < 0.12 else C if r < 0.27 else int(rng.integers(1, C)) if C > 1 else int(rng.integers(0, 2))
    prod = pool[int(rng.integers(len(pool)))]
    d = design(prod)
    # slot aspect and size on the sensor
    aspect = float(np.clip(F * U(*SHAPE_ASPECT[d["shape"]]) / U(0.8, 1.2), 0.4, 2.6))
    size = U(*style.slot_px)
    sw, sh = size * np.sqrt(aspect), size / np.sqrt(aspect)
    cv = Canvas(sw, sh)

    # units per column, rows occupied
    counts = np.zeros(F, int)
    clump = 2.0 if rng.random() < 0.5 else 0.0
    for _ in range(k):
        free = np.flatnonzero(counts < D)
        wts = (counts[free] + 1.0) ** clump
        counts[free[rng.choice(len(free), p=wts / wts.sum())]] += 1
    faced = rng.random() < 0.5
    cells = []  # (column, row)
    for c in range(F):
        rows = range(counts[c]) if faced else range(D - counts[c], D)
        cells += [(c, rw) for rw in rows]
    skus = [prod] * len(cells)
    wrong = False
    if k >= 2 and rng.random() < 0.25:
        wrong = True
        same = [p for p in pool if p["shape"] == prod["shape"] and p["sku"] != prod["sku"]]
        other = [p for p in pool if p["sku"] != prod["sku"]]
        wp = (same if same and rng.random() < 0.35 else other)
        wprod = wp[int(rng.integers(len(wp)))]
        n_wrong = int(rng.integers(1, max(1, k // 2) + 1))
        fronts = [i for i, (c, rw) in enumerate(cells) if rw == min(rw2 for c2, rw2 in cells if c2 == c)]
        first = fronts[int(rng.integers(len(fronts)))]
        # keep the slot's own SKU at the front of another column when there is one
        keep = [i for i in fronts if i != first]
        keep = keep[int(rng.integers(len(keep)))] if keep else -1
        rest = [i for i in range(len(cells)) if i not in (first, keep)]
        n_wrong = min(n_wrong, len(rest) + 1)
        chosen = [first] + list(rng.choice(rest, n_wrong - 1, replace=False)) if n_wrong > 1 else [first]
        for i in chosen:
            skus[i] = wprod
    elif k >= 1 and rng.random() < (0.35 if k <= max(1, C // 4) else 0.04):
        wrong = True
        other = [p for p in pool if p["sku"] != prod["sku"]]
        skus = [other[int(rng.integers(len(other)))]] * len(cells)
    absent = all(u["sku"] != prod["sku"] for u in skus)

    # painting
    dark = U(0.1, 0.45)
    draw_wall(rng, cv, style, 1 - dark)
    rail = style_colour(rng, style, style.rails)
    rail = np.clip(rail * U(0.85, 1.1), 0, 1)
    floor = [sc.uv(-1, 0, 0), sc.uv(2, 0, 0), sc.uv(2, 0, 1), sc.uv(-1, 0, 1)]
    cv.polygon(floor, np.clip(rail * 0.9, 0, 1))
    if rng.random() < 0.2:  # wire shelf
        for zz in np.linspace(0.1, 0.9, 5):
            a, b = sc.uv(-1, 0, zz), sc.uv(2, 0, zz)
            cv.polygon([a, b, (b[0], b[1] - 0.01), (a[0], a[1] - 0.01)], np.clip(rail * 0.6, 0, 1))

    def height_cap(zf):
        return (0.9 - E * zf) / (1 - P * zf)

    cap_back = height_cap((D - 1) / D + 0.02)
    dz = 1.0 / D
    depth = dz * 0.9
    cw = 1.0 / F
    # neighbours (front row and one behind, random SKUs from all products)
    for side in (-1, 1):
        nd = design(products[int(rng.integers(len(products)))])
        nw = U(0.25, 0.45)
        nht = pack_height(rng, nd, height_cap(0.5))
        x0 = -nw - 0.03 if side < 0 else 1.03
        for zf in (0.5, 0.02):
            draw_unit(cv, sc, nd, x0, x0 + nw, zf, 0.4, nht, 1 - dark * zf)
    hts = {}
    for sku_p in {p["sku"]: p for p in skus}.values():
        hts[sku_p["sku"]] = pack_height(rng, design(sku_p), cap_back)
    order = sorted(range(len(cells)), key=lambda i: (-cells[i][1], cells[i][0]))
    for i in order:
        c, rw = cells[i]
        ud = design(skus[i])
        wfrac = ud["width"]
        jitter = U(-0.03, 0.03) * cw
        x0 = c * cw + cw * (1 - wfrac) / 2 + jitter
        x1 = x0 + cw * wfrac
        zf = rw * dz + 0.02
        bright = (1 - dark * zf) * U(0.97, 1.03)
        draw_unit(cv, sc, ud, x0, x1, zf, depth, hts[skus[i]["sku"]], bright)
    if rng.random() < 0.5:  # plastic dividers
        for xd in (0.0, 1.0):
            a, b = sc.uv(xd, 0, 0), sc.uv(xd, 0, 1)
            a2, b2 = sc.uv(xd, 0.12, 0), sc.uv(xd, 0.12, 1)
            cv.polygon([a, b, b2, a2], np.float32([0.9, 0.92, 0.95]), alpha=0.35)
    draw_rails(rng, cv, rail)

    # occluder
    occluded = False
    glare = None
    roll = rng.random()
    if roll < 0.34:
        want_tiny = roll >= 0.30
        kind = ["hand", "body", "cart", "glare"][int(rng.choice(4, p=[0.35, 0.25, 0.2, 0.2]))]
        for _ in range(8):
            rgba, gl, extent = occluder_layer(rng, cv, kind, products, tiny=want_tiny)
            cov = quad_coverage(cv, extent)
            if (want_tiny and cov <= TINY_MAX) or (not want_tiny and cov >= OCCLUDED_MIN):
                if rgba is not None:
                    cv.img = cv.img * (1 - rgba[..., 3:4]) + rgba[..., :3] * rgba[..., 3:4]
                glare = gl
                occluded = not want_tiny
                break

    # lighting
    img = cv.img
    ys, xs = np.mgrid[0:cv.h, 0:cv.w].astype(np.float32)
    vq = (ys + 0.5) / cv.sh - MARGIN
    uq = (xs + 0.5) / cv.sw - MARGIN
    gains = np.float32([U(*style.cast_r), U(*style.cast_g), U(*style.cast_b)]) * U(*style.brightness)
    ang = U(0, 2 * np.pi)
    g = U(*style.gradient)
    light = 1 + g * ((uq - 0.5) * np.cos(ang) + (vq - 0.5) * np.sin(ang))
    top_shadow = U(0, 0.3)
    shadow_len = U(0.02, 0.25)
    light *= 1 - top_shadow * np.clip(1 - vq / shadow_len, 0, 1) * (vq > 0)
    light *= 1 - U(0, 0.25) * (((uq - 0.5) ** 2 + (vq - 0.5) ** 2) / 0.5)
    img = np.clip(img, 0, 1) * light[..., None] * gains
    if glare is not None:
        img = img + glare[..., None] * np.float32([1.0, 0.98, 0.95])

    # camera
    img = gaussian_blur(img.astype(np.float32), U(*style.blur))
    s0 = U(*style.noise)
    sigma = np.sqrt(s0 ** 2 + 0.02 * s0 * np.clip(img, 0, 1))
    noise = rng.standard_normal(img.shape).astype(np.float32) * 0.7
    noise += rng.standard_normal(img.shape[:2] + (1,)).astype(np.float32) * 0.7  # luma-correlated
    img = img + noise * sigma
    u8 = np.clip(np.round(img * 255), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(u8).save(buf, "JPEG", quality=int(rng.integers(style.jpeg[0], style.jpeg[1] + 1)))
    u8 = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))

    # crop
    J = style.jitter
    quad = []
    for (uq_, vq_) in [(0, 0), (1, 0), (1, 1), (0, 1)]:
        x, y = cv.px(uq_ + U(-J, J), vq_ + U(-J, J))
        quad.append((x, y))
    crop = crop_quad(u8, quad)
    fill = k / C
    label = np.float32([fill, float(occluded), float(wrong), float(absent)])
    info = {"F": F, "D": D, "k": k, "sku": prod["sku"], "shape": prod["shape"], "canvas": u8,
            "aux": (F - 1, D - 1), "product": descriptor(prod)}
    return crop, label, info


PACK_SHAPES = ("box", "bag", "bottle", "can", "jar")


def descriptor(product):
    """The planned SKU's pack as the model's `product` input: primary RGB, secondary RGB (0..1),
    one-hot shape in PACK_SHAPES order."""
    shape = np.float32([product["shape"] == s for s in PACK_SHAPES])
    return np.concatenate([product["primary"], product["secondary"], shape]).astype(np.float32)


def render_set(n, style_name, seed, start=0, keep_info=False):
    """n crops (u8 NHWC), labels (fill, occluded, wrong, absent), layout classes and the planned
    product's descriptor; sample i is drawn from default_rng([seed, start + i])."""
    style = STYLES[style_name]
    products = load_products()
    pool = sku_pool(products, style.sku_fold)
    X = np.zeros((n, CROP, CROP, 3), np.uint8)
    Y = np.zeros((n, 4), np.float32)
    A = np.zeros((n, 2), np.int64)  # layout (and auxiliary training targets): facings - 1, depth - 1
    Pd = np.zeros((n, len(PACK_SHAPES) + 6), np.float32)
    infos = []
    for i in range(n):
        rng = np.random.default_rng([seed, start + i])
        X[i], Y[i], info = render_slot(rng, style, pool, products)
        A[i] = info["aux"]
        Pd[i] = info["product"]
        if keep_info:
            infos.append(info)
    return (X, Y, A, Pd, infos) if keep_info else (X, Y, A, Pd)


def contact_sheet(X, Y, path, cols=8, scale=2):
    n = len(X)
    rows = (n + cols - 1) // cols
    s = CROP * scale
    sheet = Image.new("RGB", (cols * s, rows * (s + 12)), (255, 255, 255))
    from PIL import ImageDraw
    dr = ImageDraw.Draw(sheet)
    for i in range(n):
        r, c = divmod(i, cols)
        sheet.paste(Image.fromarray(X[i]).resize((s, s), Image.NEAREST), (c * s, r * (s + 12)))
        dr.text((c * s + 2, r * (s + 12) + s), f"{Y[i, 0]:.2f} {'O' if Y[i, 1] else ''}{'W' if Y[i, 2] else ''}", fill=(0, 0, 0))
    sheet.save(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--style", default="train", choices=sorted(STYLES))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--out", type=pathlib.Path, default=pathlib.Path(__file__).parent / "out" / "preview.png")
    args = ap.parse_args()
    X, Y, _, _ = render_set(args.n, args.style, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(X, Y, args.out)
    print(f"{args.out}: {args.n} crops, mean fill {Y[:, 0].mean():.3f}, occluded {Y[:, 1].mean():.2f}, wrong {Y[:, 2].mean():.2f}")


if __name__ == "__main__":
    main()
