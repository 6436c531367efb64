"""Image quality metrics and the Bjontegaard delta rate, with numpy alone.

Run as a script to check them: BD-rate on curves shifted by a known rate
factor, the PCHIP interpolant against scipy's (if installed), MS-SSIM of an
image with itself and against a plain 2-D convolution."""
import math

import numpy as np

MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def luma(rgb):
    """BT.601 luma of an RGB array, in float64 on the 0..255 scale."""
    rgb = np.asarray(rgb, dtype=np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def psnr(a, b, peak=255.0):
    """PSNR in dB of b against a over all samples; inf when equal."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    mse = float(np.mean(d * d))
    return math.inf if mse == 0.0 else 10.0 * math.log10(peak * peak / mse)


# ------------------------------------------------------------- MS-SSIM ---

def _gauss(size=11, sigma=1.5):
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-x * x / (2.0 * sigma * sigma))
    return g / g.sum()


def _filt(x, g):
    """Separable 'valid' filtering of a 2-D array (MATLAB filter2)."""
    n = len(g)
    h, w = x.shape
    rows = sum(g[k] * x[:, k:w - n + 1 + k] for k in range(n))
    return sum(g[k] * rows[k:h - n + 1 + k, :] for k in range(n))


def ssim_parts(x, y, peak=255.0, k1=0.01, k2=0.03, filt=None):
    """Mean SSIM and mean contrast-structure term of two 2-D arrays
    (Wang et al. 2004), gaussian window 11, sigma 1.5, valid part only."""
    f = filt or (lambda v: _filt(v, _gauss()))
    c1, c2 = (k1 * peak) ** 2, (k2 * peak) ** 2
    mx, my = f(x), f(y)
    sxx = f(x * x) - mx * mx
    syy = f(y * y) - my * my
    sxy = f(x * y) - mx * my
    cs = (2.0 * sxy + c2) / (sxx + syy + c2)
    lum = (2.0 * mx * my + c1) / (mx * mx + my * my + c1)
    return float(np.mean(lum * cs)), float(np.mean(cs))


def _half(x):
    """2 x 2 average, an odd last row or column dropped."""
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    x = x[:h, :w]
    return 0.25 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] +
                   x[1::2, 1::2])


def ms_ssim(x, y, peak=255.0, filt=None):
    """5-scale MS-SSIM (Wang, Simoncelli, Bovik 2003) of two 2-D arrays:
    contrast-structure at scales 1..4, full SSIM at scale 5, weights
    MSSSIM_WEIGHTS. Negative terms count as 0 (as in TensorFlow), since a
    fractional power of them is undefined."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    out = 1.0
    for j, wt in enumerate(MSSSIM_WEIGHTS):
        s, cs = ssim_parts(x, y, peak, filt=filt)
        out *= max(s if j == len(MSSSIM_WEIGHTS) - 1 else cs, 0.0) ** wt
        x, y = _half(x), _half(y)
    return out


def ms_ssim_db(m):
    """MS-SSIM as -10 log10(1 - m), the customary dB scale."""
    return -10.0 * math.log10(max(1.0 - m, 1e-10))


# --------------------------------------------------------------- PCHIP ---

def _edge(h0, h1, m0, m1):
    d = ((2.0 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
    if np.sign(d) != np.sign(m0):
        return 0.0
    if np.sign(m0) != np.sign(m1) and abs(d) > abs(3.0 * m0):
        return 3.0 * m0
    return d


def pchip_slopes(x, y):
    """Fritsch-Carlson slopes of the monotone cubic Hermite interpolant
    through (x, y), x strictly increasing (the ones scipy's
    PchipInterpolator uses)."""
    h = np.diff(x)
    m = np.diff(y) / h
    if len(m) == 1:
        return np.array([m[0], m[0]])
    d = np.zeros(len(x))
    for k in range(1, len(x) - 1):
        if m[k - 1] * m[k] > 0.0:
            w1 = 2.0 * h[k] + h[k - 1]
            w2 = h[k] + 2.0 * h[k - 1]
            d[k] = (w1 + w2) / (w1 / m[k - 1] + w2 / m[k])
    d[0] = _edge(h[0], h[1], m[0], m[1])
    d[-1] = _edge(h[-1], h[-2], m[-1], m[-2])
    return d


def pchip_eval(x, y, t):
    """The PCHIP interpolant through (x, y) at the points t."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    d = pchip_slopes(x, y)
    i = np.clip(np.searchsorted(x, t) - 1, 0, len(x) - 2)
    h = x[i + 1] - x[i]
    s = (np.asarray(t, float) - x[i]) / h
    return ((2 * s ** 3 - 3 * s ** 2 + 1) * y[i] +
            (s ** 3 - 2 * s ** 2 + s) * h * d[i] +
            (-2 * s ** 3 + 3 * s ** 2) * y[i + 1] +
            (s ** 3 - s ** 2) * h * d[i + 1])


def pchip_integral(x, y, lo, hi):
    """Exact integral over [lo, hi] of the PCHIP interpolant, lo and hi
    inside [x[0], x[-1]]."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    d = pchip_slopes(x, y)
    total = 0.0
    for k in range(len(x) - 1):
        a, b = max(lo, x[k]), min(hi, x[k + 1])
        if a >= b:
            continue
        # y0 + d0 s + c2 s^2 + c3 s^3, s = t - x[k]
        h = x[k + 1] - x[k]
        m = (y[k + 1] - y[k]) / h
        c2 = (3.0 * m - 2.0 * d[k] - d[k + 1]) / h
        c3 = (d[k] + d[k + 1] - 2.0 * m) / (h * h)

        def prim(s):
            return s * (y[k] + s * (d[k] / 2 + s * (c2 / 3 + s * c3 / 4)))
        total += prim(b - x[k]) - prim(a - x[k])
    return total


# ------------------------------------------------------------- BD-rate ---

def _curve(rate, quality):
    """Points sorted by quality, repeated qualities dropped, rate in ln."""
    pts = sorted(zip(quality, rate))
    q, r = [], []
    for qi, ri in pts:
        if not q or qi > q[-1]:
            q.append(qi)
            r.append(math.log(ri))
    return np.array(q), np.array(r)


def bd_rate(rate_ref, q_ref, rate_test, q_test, method="pchip"):
    """Bjontegaard delta rate in percent of the test curve against the
    reference: the mean difference of ln(rate) as a function of quality
    over the quality interval both cover, as a rate ratio minus one.
    method "pchip" interpolates piecewise cubic Hermite (as the JVET CTC
    tools do), "poly" fits a cubic (VCEG-M33). None when the curves do not
    overlap or have too few points."""
    qa, ra = _curve(rate_ref, q_ref)
    qb, rb = _curve(rate_test, q_test)
    need = 4 if method == "poly" else 2
    if len(qa) < need or len(qb) < need:
        return None
    lo, hi = max(qa[0], qb[0]), min(qa[-1], qb[-1])
    if not hi > lo:
        return None
    if method == "poly":
        ia, ib = (np.polyint(np.polyfit(q, r, 3))
                  for q, r in ((qa, ra), (qb, rb)))
        diff = (np.polyval(ib, hi) - np.polyval(ib, lo) -
                np.polyval(ia, hi) + np.polyval(ia, lo))
    else:
        diff = (pchip_integral(qb, rb, lo, hi) -
                pchip_integral(qa, ra, lo, hi))
    return 100.0 * (math.exp(diff / (hi - lo)) - 1.0)


# ---------------------------------------------------------- self-check ---

def _check(name, got, want, tol):
    ok = abs(got - want) <= tol
    print("%-48s %12.6f  expected %12.6f  %s" %
          (name, got, want, "ok" if ok else "FAIL"))
    return ok


def _smooth(q):
    return np.exp(-3.0 + 0.12 * q + 0.002 * (q - 30.0) ** 2)


def selftest():
    ok = True
    rate = np.array([0.25, 0.5, 0.9, 1.6, 2.7])
    q = np.array([27.0, 30.5, 33.0, 36.2, 39.8])
    for method in ("pchip", "poly"):
        ok &= _check("BD-rate, 1.1 x rate, %s" % method,
                     bd_rate(rate, q, 1.1 * rate, q, method), 10.0, 1e-9)
        ok &= _check("BD-rate, rate / 1.1, %s" % method,
                     bd_rate(1.1 * rate, q, rate, q, method),
                     100.0 / 1.1 - 100.0, 1e-9)
        # the same analytic curve sampled at other qualities, 10% more
        # rate: a cubic fits it exactly, PCHIP nearly
        qt = np.array([26.0, 29.0, 32.0, 35.0, 38.0, 41.0])
        ok &= _check("BD-rate, 1.1 x rate, other samples, %s" % method,
                     bd_rate(_smooth(q), q, 1.1 * _smooth(qt), qt,
                             method), 10.0,
                     1e-9 if method == "poly" else 0.05)
    t = np.linspace(q[0], q[-1], 1001)
    num = np.trapz(pchip_eval(q, np.log(rate), t), t)
    ok &= _check("PCHIP integral against trapezoid",
                 pchip_integral(q, np.log(rate), q[0], q[-1]), num, 1e-5)
    try:
        from scipy.interpolate import PchipInterpolator
        p = PchipInterpolator(q, np.log(rate))
        ok &= _check("PCHIP against scipy, max difference",
                     float(np.max(np.abs(p(t) - pchip_eval(q, np.log(rate),
                                                           t)))), 0.0, 1e-12)
        ok &= _check("PCHIP integral against scipy",
                     pchip_integral(q, np.log(rate), 28.0, 39.0),
                     float(p.integrate(28.0, 39.0)), 1e-12)
    except ImportError:
        print("scipy not installed: PCHIP not compared with it")
    rng = np.random.default_rng(1)
    img = rng.uniform(0, 255, (192, 256))
    img = _filt(np.pad(img, 5, mode="reflect"), _gauss(11, 3.0))
    noisy = img + rng.normal(0, 8, img.shape)
    ok &= _check("MS-SSIM of an image with itself", ms_ssim(img, img),
                 1.0, 1e-12)
    g2 = np.outer(_gauss(), _gauss())

    def filt2(v):
        h, w = v.shape
        return sum(g2[i, j] * v[i:h - 10 + i, j:w - 10 + j]
                   for i in range(11) for j in range(11))
    ok &= _check("MS-SSIM, separable against 2-D window",
                 ms_ssim(img, noisy), ms_ssim(img, noisy, filt=filt2),
                 1e-12)
    print("all checks passed" if ok else "SOME CHECKS FAILED")
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if selftest() else 1)
