"""Numba versions of the convolution-network kernels (the GEMMs stay with BLAS).

Three groups, with the signatures of :mod:`nnopt.kernels.conv`:

* ``im2col_t``/``col2im_t`` (and ``im2col``/``col2im``, their transposes,
  which the ``conv2d`` primitive uses): the patch matrix transposed, built
  in parallel over (tap, image) pairs with the image fastest, so that
  consecutive iterations write consecutive pieces of one row (2x faster
  than writing all rows of an image at once); ``col2im_t`` runs over
  (channel, image) planes, so no two threads add into the same pixel.  The
  innermost copies run over 1-D views indexed by the loop variable, which
  LLVM vectorises (an index such as ``off + p`` keeps Numba's
  negative-index check and stays scalar: measured 2-3x slower).
* ``conv_forward_t``/``conv_backward_t``: a whole convolution layer, with
  its bias, activation and the pooling layer after it, in ``prange`` over
  chunks of images.  Each chunk's patch matrix (512 KiB) is built in a
  buffer that stays in the core's L2 cache and is consumed there by the
  GEMM (``np.dot`` inside Numba, one BLAS thread per chunk; see
  :func:`single_threaded_blas`); the bias is a row of ones in the patch
  matrix, so the GEMM adds it and, backwards, its gradient is a column of
  the weight-gradient GEMM.  The backward pass rebuilds the chunk's patch
  matrix instead of keeping the whole one from the forward pass.  The
  partial weight gradients of the chunks are summed in a fixed order, so
  the result does not depend on the number of threads.
* ``pool_forward``/``pool_backward`` on a stack of planes (P, H, W), in
  parallel over planes; windows that tile the plane (``stride ==
  kernel_size``, no padding: LeNet's 2 x 2 subsampling) take a loop that
  sums the kh rows of a window row as whole vectors (3x faster than the
  generic window loop).  The backward pass multiplies by the derivative of
  the activation before the pooling in the same sweep.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import scipy.special
from numba import njit, prange

from ..blas_threads import parallel_region_safe, single_threaded_blas
from ..dense.cpu import times_act_derivative
from ..vecmath import tanh as _vtanh
from .reference import output_size

__all__ = ["output_size", "im2col", "col2im", "forward", "backward", "input_grad", "weight_grad", "im2col_t", "col2im_t",
           "conv_forward_t", "conv_backward_t", "pool_forward", "pool_backward", "single_threaded_blas"]

_ACT_CODES = {"identity": 0, "tanh": 1, "sigmoid": 2, "relu": 3}


@njit(cache=True, inline="always")
def _valid(q0, s, n_out, size):
    """[lo, hi): the outputs o in [0, n_out) with 0 <= q0 + o s < size."""
    lo = 0
    if q0 < 0:
        lo = min(n_out, (-q0 + s - 1) // s)
    hi = n_out
    if q0 + (n_out - 1) * s >= size:
        hi = (size - 1 - q0) // s + 1 if size - 1 - q0 >= 0 else 0
    return lo, max(lo, hi)


@njit(cache=True, nogil=True)
def _im2col_one(x, cnhw, col, n, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, dst):
    """dst (OH OW,) = the row (c, i, j) = ``col`` of the patch matrix of image n."""
    if cnhw:
        H, W = x.shape[2], x.shape[3]
    else:
        H, W = x.shape[2], x.shape[3]
    zero = x.dtype.type(0)
    c = col // (kh * kw)
    ij = col - c * (kh * kw)
    i = ij // kw
    j = ij - i * kw
    r0 = i * dh - ph
    q0 = j * dw - pw
    rlo, rhi = _valid(r0, sh, OH, H)
    lo, hi = _valid(q0, sw, OW, W)
    plane = x[c, n] if cnhw else x[n, c]
    for k in range(rlo * OW):
        dst[k] = zero
    for k in range(rhi * OW, OH * OW):
        dst[k] = zero
    for oh in range(rlo, rhi):
        src = plane[r0 + oh * sh]
        d = dst[oh * OW:(oh + 1) * OW]
        for ow in range(lo):
            d[ow] = zero
        for ow in range(hi, OW):
            d[ow] = zero
        if sw == 1:
            s = src[q0 + lo:q0 + hi]
            dd = d[lo:hi]
            for u in range(hi - lo):
                dd[u] = s[u]
        else:
            for ow in range(lo, hi):
                d[ow] = src[q0 + ow * sw]


@njit(cache=True, nogil=True)
def _col2im_one(colsT, c0, cnhw, c, n, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, x):
    """Plane (c, n) of x = the adjoint of the patch rows of channel c and image n,
    read from colsT[:, c0:c0 + OH OW]."""
    H, W = x.shape[2], x.shape[3]
    L = OH * OW
    zero = x.dtype.type(0)
    plane = x[c, n] if cnhw else x[n, c]
    for r in range(H):
        row = plane[r]
        for q in range(W):
            row[q] = zero
    for i in range(kh):
        r0 = i * dh - ph
        rlo, rhi = _valid(r0, sh, OH, H)
        for j in range(kw):
            src_all = colsT[(c * kh + i) * kw + j, c0:c0 + L]
            q0 = j * dw - pw
            lo, hi = _valid(q0, sw, OW, W)
            for oh in range(rlo, rhi):
                row = plane[r0 + oh * sh]
                s = src_all[oh * OW + lo:oh * OW + hi]
                if sw == 1:
                    d = row[q0 + lo:q0 + hi]
                    for u in range(hi - lo):
                        d[u] += s[u]
                else:
                    for u in range(hi - lo):
                        row[q0 + (lo + u) * sw] += s[u]


@njit(cache=True, nogil=True)
def _im2col_t(x, cnhw, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, colsT):
    # (tap, image) pairs with the image fastest: consecutive iterations write
    # consecutive pieces of one row of colsT (measured 2x faster than a loop
    # over images that writes all C kh kw rows at once).  Serial: the compiled
    # path builds its patch matrices inside the parallel layer kernels, and a
    # parallel version would cost seconds more of compilation.
    N = x.shape[1] if cnhw else x.shape[0]
    L = OH * OW
    for t in range(colsT.shape[0] * N):
        col = t // N
        n = t - col * N
        _im2col_one(x, cnhw, col, n, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, colsT[col, n * L:(n + 1) * L])


@njit(cache=True, nogil=True)
def _col2im_t(colsT, cnhw, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, x):
    C, N = (x.shape[0], x.shape[1]) if cnhw else (x.shape[1], x.shape[0])
    L = OH * OW
    for t in range(C * N):
        c = t // N
        n = t - c * N
        _col2im_one(colsT, n * L, cnhw, c, n, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, x)


# ---------------------------------------------------------------------------
# a whole convolution layer, over chunks of images
# ---------------------------------------------------------------------------
#
# The input is first laid out as zero-padded planes xp (C N, Hp Wp) (no copy
# when there is no padding).  For a chunk of images the patch matrix has one
# row per tap (c, i, j) and, per image, Lc columns that read xp[plane, off[t, p]].
# With stride 1 ("wide" columns, Lc = (OH - 1) Wp + OW) off[t, p] = off[t, 0] + p:
# every row is one contiguous copy of Lc pixels, and the output pixel (oh, ow)
# is column oh Wp + ow, the Wp - OW columns between two output rows being
# computed and dropped (Wp / OW more GEMM work: 14 / 10 at LeNet's second
# layer).  Copies of whole rows (and, backwards, contiguous adds) are several
# times faster than copies of OW-pixel pieces (LeNet: OW = 10): measured
# conv2 forward 4.4 -> 2.1 ms and conv1 forward + backward in float32
# 4.4 -> 2.8 ms, one thread.  Other strides use the same loops with
# ``pitch = OW`` and the table ``off`` gathered element by element.


@njit(cache=True, nogil=True)
def _patch_rows(xp, cnhw, C, N, n0, n1, off, wide, Lc, cols):
    """cols[(c, t), (n - n0) Lc + p] = xp[plane(c, n), off[t, p]], then a row of
    ones when cols has one more row (the bias)."""
    T = off.shape[0]
    for c in range(C):
        for t in range(T):
            o = off[t]
            for n in range(n0, n1):
                src = xp[c * N + n] if cnhw else xp[n * C + c]
                d = cols[c * T + t, (n - n0) * Lc:(n - n0 + 1) * Lc]
                if wide:
                    s = src[o[0]:o[0] + Lc]
                    for p in range(Lc):
                        d[p] = s[p]
                else:
                    for p in range(Lc):
                        d[p] = src[o[p]]
    if cols.shape[0] > C * T:
        ones = cols[C * T]
        for k in range(ones.size):
            ones[k] = 1


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _activate(v, code):
    """v = act(v) in place along a contiguous 1-D array (identity, tanh, relu)."""
    if code == 1:
        for q in range(v.size):
            v[q] = _vtanh(v[q])
    elif code == 3:
        zero = v.dtype.type(0)
        for q in range(v.size):
            if v[q] <= 0:  # NaN passes, as in np.maximum(z, 0)
                v[q] = zero


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _forward_chunk(xp, cnhw, C, N, n0, n1, W2e, off, wide, Lc, pitch, OH, OW, code, pg, a, y):
    """a[:, n0:n1] = act(W2e @ [patches; 1]) and y[:, n0:n1] = pool(a[:, n0:n1])
    when ``pg[0]`` (pg = (pool?, max?, tiled?, kh, kw, sh, sw, ph, pw))."""
    cols = np.empty((W2e.shape[1], (n1 - n0) * Lc), dtype=xp.dtype)
    _patch_rows(xp, cnhw, C, N, n0, n1, off, wide, Lc, cols)
    zc = np.dot(W2e, cols)
    for o in range(W2e.shape[0]):
        for n in range(n0, n1):
            ap = a[o, n]
            for oh in range(OH):
                s = zc[o, (n - n0) * Lc + oh * pitch:(n - n0) * Lc + oh * pitch + OW]
                d = ap[oh]
                for q in range(OW):
                    d[q] = s[q]
            _activate(ap.reshape(OH * OW), code)
            if pg[0]:
                _pool_plane(ap, pg[1], pg[2], pg[3], pg[4], pg[5], pg[6], pg[7], pg[8], y[o, n])


@njit(cache=True, nogil=True)
def _backward_chunk(xp, cnhw, C, N, n0, n1, W2, g, a, y, bias, need_gx, off, wide, Lc, pitch, OH, OW,
                    Hp, Wp, ph, pw, code, pg, part, gx):
    """gz = pool^T(g) * act'(a) (or g * act'(a) without pooling) for the chunk,
    then part = [gW, gb]^T of the chunk ((C kh kw [+ 1]), O) and, when
    ``need_gx``, the chunk's planes of gx = col2im(W2^T gz) (gx as planes
    (C N, H, W))."""
    O, K = W2.shape
    gzc = np.zeros((O, (n1 - n0) * Lc), dtype=xp.dtype)
    gzp = np.empty((OH, OW), dtype=xp.dtype)
    for o in range(O):
        for n in range(n0, n1):
            if pg[0]:
                _pool_plane_backward(g[o, n], a[o, n], y[o, n], pg[1], pg[2], pg[3], pg[4], pg[5], pg[6], pg[7],
                                     pg[8], code, gzp)
            else:
                gn = g[o, n]
                for oh in range(OH):
                    for q in range(OW):
                        gzp[oh, q] = gn[oh, q]
                if code != 0:
                    flat = gzp.reshape(OH * OW)
                    times_act_derivative(flat, a[o, n].reshape(OH * OW), code, flat)
            for oh in range(OH):
                s = gzp[oh]
                d = gzc[o, (n - n0) * Lc + oh * pitch:(n - n0) * Lc + oh * pitch + OW]
                for q in range(OW):
                    d[q] = s[q]
    if part.shape[0]:  # no rows: gx alone (the weight gradient is not wanted)
        cols = np.empty((K + 1 if bias else K, (n1 - n0) * Lc), dtype=xp.dtype)
        _patch_rows(xp, cnhw, C, N, n0, n1, off, wide, Lc, cols)
        # (cols gz^T) = (gz cols^T)^T: measured 1.4-1.6x faster in OpenBLAS
        part[:, :] = np.dot(cols, gzc.T)
    if not need_gx:
        return
    gcols = np.dot(W2.T, gzc)
    T = off.shape[0]
    H, W = gx.shape[1], gx.shape[2]
    buf = np.empty(Hp * Wp, dtype=xp.dtype)
    for c in range(C):
        for n in range(n0, n1):
            for k in range(buf.size):
                buf[k] = 0
            for t in range(T):
                o = off[t]
                s = gcols[c * T + t, (n - n0) * Lc:(n - n0 + 1) * Lc]
                if wide:
                    d = buf[o[0]:o[0] + Lc]
                    for p in range(Lc):
                        d[p] += s[p]
                else:
                    for p in range(Lc):
                        buf[o[p]] += s[p]
            dst = gx[c * N + n] if cnhw else gx[n * C + c]
            for r in range(H):
                b = buf[(r + ph) * Wp + pw:(r + ph) * Wp + pw + W]
                d = dst[r]
                for q in range(W):
                    d[q] = b[q]


@njit(cache=True, parallel=True)
def _conv_forward(xp, cnhw, C, N, nb, W2e, off, wide, Lc, pitch, OH, OW, code, pg, a, y):
    for t in prange((N + nb - 1) // nb):
        _forward_chunk(xp, cnhw, C, N, t * nb, min(N, (t + 1) * nb), W2e, off, wide, Lc, pitch, OH, OW, code, pg,
                       a, y)


@njit(cache=True, parallel=True)
def _conv_backward(xp, cnhw, C, N, nb, W2, g, a, y, bias, need_gx, off, wide, Lc, pitch, OH, OW, Hp, Wp, ph, pw,
                   code, pg, parts, gx):
    for t in prange((N + nb - 1) // nb):
        _backward_chunk(xp, cnhw, C, N, t * nb, min(N, (t + 1) * nb), W2, g, a, y, bias, need_gx, off, wide, Lc,
                        pitch, OH, OW, Hp, Wp, ph, pw, code, pg, parts[t], gx)


# The same loops one chunk after another, for threads where a parallel region
# must not start (nnopt.kernels.blas_threads.parallel_region_safe): the same numbers.
@njit(cache=True)
def _conv_forward_serial(xp, cnhw, C, N, nb, W2e, off, wide, Lc, pitch, OH, OW, code, pg, a, y):
    for t in range((N + nb - 1) // nb):
        _forward_chunk(xp, cnhw, C, N, t * nb, min(N, (t + 1) * nb), W2e, off, wide, Lc, pitch, OH, OW, code, pg,
                       a, y)


@njit(cache=True)
def _conv_backward_serial(xp, cnhw, C, N, nb, W2, g, a, y, bias, need_gx, off, wide, Lc, pitch, OH, OW, Hp, Wp,
                          ph, pw, code, pg, parts, gx):
    for t in range((N + nb - 1) // nb):
        _backward_chunk(xp, cnhw, C, N, t * nb, min(N, (t + 1) * nb), W2, g, a, y, bias, need_gx, off, wide, Lc,
                        pitch, OH, OW, Hp, Wp, ph, pw, code, pg, parts[t], gx)


@njit(cache=True, nogil=True)
def _pad_planes(x, ph, pw, xp):
    P, H, W = x.shape
    Wp = W + 2 * pw
    zero = x.dtype.type(0)
    for p in range(P):
        d = xp[p]
        for k in range(d.size):
            d[k] = zero
        for r in range(H):
            row = d[(r + ph) * Wp + pw:(r + ph) * Wp + pw + W]
            src = x[p, r]
            for q in range(W):
                row[q] = src[q]


def _geometry(shape, kernel, stride, padding, dilation):
    N, C, H, W = shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    return kh, kw, sh, sw, ph, pw, dh, dw, output_size(H, kh, sh, ph, dh), output_size(W, kw, sw, pw, dw)


def _layout(layout):
    if layout not in ("nchw", "cnhw"):
        raise ValueError(f"layout must be 'nchw' or 'cnhw', got {layout!r}")
    return layout == "cnhw"


def im2col_t(x, kernel, stride, padding, dilation, layout="nchw"):
    cnhw = _layout(layout)
    x = np.ascontiguousarray(x)
    C, N = (x.shape[0], x.shape[1]) if cnhw else (x.shape[1], x.shape[0])
    g = _geometry((N, C) + x.shape[2:], kernel, stride, padding, dilation)
    colsT = np.empty((C * g[0] * g[1], N * g[8] * g[9]), dtype=x.dtype)
    _im2col_t(x, cnhw, *g, colsT)
    return colsT


def col2im_t(colsT, x_shape, kernel, stride, padding, dilation, layout="nchw"):
    cnhw = _layout(layout)
    C, N = (x_shape[0], x_shape[1]) if cnhw else (x_shape[1], x_shape[0])
    g = _geometry((N, C) + tuple(x_shape[2:]), kernel, stride, padding, dilation)
    x = np.empty(x_shape, dtype=colsT.dtype)
    _col2im_t(np.ascontiguousarray(colsT), cnhw, *g, x)
    return x


_CHUNK_BYTES = 1 << 19
"""Size of the per-chunk patch matrix (512 KiB): small enough to stay in a
core's L2 cache between im2col and the GEMM.  On LeNet-5 (batch 128) this
made conv + GEMM + weight gradient 2-3x faster than one whole-batch patch
matrix (measured 8.1 -> 4.3 ms for the first layer in float64, 6.3 -> 2.5 ms
in float32, one thread); 1 MiB chunks were already slower."""

class _Plan(NamedTuple):
    """Everything the layer kernels need besides the arrays."""
    C: int
    N: int
    H: int
    W: int
    Hp: int
    Wp: int
    OH: int
    OW: int
    off: np.ndarray  # (kh kw, Lc) offsets into a padded plane
    wide: bool
    Lc: int          # columns per image
    pitch: int       # columns between two output rows


def _plan(x_shape, cnhw, kernel, stride, padding, dilation):
    return _plan_cached(tuple(int(v) for v in x_shape), bool(cnhw), tuple(kernel), tuple(stride), tuple(padding),
                        tuple(dilation))


@functools.lru_cache(maxsize=64)
def _plan_cached(x_shape, cnhw, kernel, stride, padding, dilation):
    C, N = (x_shape[0], x_shape[1]) if cnhw else (x_shape[1], x_shape[0])
    H, W = x_shape[2], x_shape[3]
    kh, kw, sh, sw, ph, pw, dh, dw, OH, OW = _geometry((N, C, H, W), kernel, stride, padding, dilation)
    Hp, Wp = H + 2 * ph, W + 2 * pw
    i, j = np.meshgrid(np.arange(kh), np.arange(kw), indexing="ij")
    base = (i * dh * Wp + j * dw).reshape(-1, 1)
    if (sh, sw) == (1, 1):
        off, wide, Lc, pitch = base, True, (OH - 1) * Wp + OW, Wp  # contiguous rows: only off[t, 0] is read
    else:
        oh, ow = np.meshgrid(np.arange(OH), np.arange(OW), indexing="ij")
        off, wide, Lc, pitch = base + (oh * sh * Wp + ow * sw).reshape(1, -1), False, OH * OW, OW
    off = np.ascontiguousarray(off, dtype=np.intp)
    off.flags.writeable = False  # shared by the cached plans
    return _Plan(C, N, H, W, Hp, Wp, OH, OW, off, wide, Lc, pitch)


def _planes(x, plan, padding):
    """x as padded planes (C N, Hp Wp) (a view when there is no padding)."""
    x3 = np.ascontiguousarray(x).reshape(-1, plan.H, plan.W)
    if plan.Hp == plan.H and plan.Wp == plan.W:
        return x3.reshape(x3.shape[0], -1)
    xp = np.empty((x3.shape[0], plan.Hp * plan.Wp), dtype=x.dtype)
    if x3.shape[0]:
        _pad_planes(x3, padding[0], padding[1], xp)
    return xp


def _chunk_size(rows, cols_per_image, itemsize, N):
    return max(1, min(N, _CHUNK_BYTES // max(1, rows * cols_per_image * itemsize)))


def _pool_geometry(pool, OH, OW):
    """(pg tuple for the kernels, (PH, PW)) of ``pool`` = (kind, kernel, stride, padding) or None."""
    if pool is None:
        return (0, 0, 0, 1, 1, 1, 1, 0, 0), (1, 1)
    kind, (kh, kw), (sh, sw), (ph, pw) = pool
    if kind not in ("avg", "max"):
        raise ValueError(f"pool kind must be 'avg' or 'max', got {kind!r}")
    tiled = kind == "avg" and (sh, sw) == (kh, kw) and (ph, pw) == (0, 0)
    pg = (1, int(kind == "max"), int(tiled), kh, kw, sh, sw, ph, pw)
    return pg, (output_size(OH, kh, sh, ph, 1), output_size(OW, kw, sw, pw, 1))


def conv_forward_t(x, W, b, stride, padding, dilation, layout="nchw", act="identity", pool=None):
    cnhw = _layout(layout)
    code = _act_code(act)
    plan = _plan(x.shape, cnhw, W.shape[2:], stride, padding, dilation)
    pg, (PH, PW) = _pool_geometry(pool, plan.OH, plan.OW)
    O, N = W.shape[0], plan.N
    W2 = W.reshape(O, -1)
    W2e = np.ascontiguousarray(W2) if b is None else np.concatenate([W2, np.reshape(b, (O, 1))], axis=1)
    a = np.empty((O, N, plan.OH, plan.OW), dtype=x.dtype)
    # The activation (and the pooling after it) run inside the kernel for
    # identity, relu and float64 tanh (vecmath.tanh: as fast as NumPy's and in
    # parallel); after it, through NumPy, for sigmoid and float32 tanh (NumPy's
    # SIMD float32 tanh measured 4x faster than vecmath's: 0.33 vs 1.3 ms for
    # LeNet's 602k values), followed by the pooling kernel.
    fused = code in (0, 3) or (code == 1 and x.dtype == np.float64)
    y = np.empty((O, N, PH, PW) if pool is not None and fused else (0, 0, 1, 1), dtype=x.dtype)
    if N:
        xp = _planes(x, plan, padding)
        nb = _chunk_size(W2e.shape[1], plan.Lc, x.dtype.itemsize, N)
        with single_threaded_blas():
            conv = _conv_forward if parallel_region_safe() else _conv_forward_serial
            conv(xp, cnhw, plan.C, N, nb, W2e, plan.off, plan.wide, plan.Lc, plan.pitch, plan.OH, plan.OW,
                          code if fused else 0, pg if fused else (0,) + pg[1:], a, y)
    if not fused:
        if code == 1:
            np.tanh(a, out=a)
        else:
            scipy.special.expit(a, out=a)
        if pool is not None:
            y = pool_forward(a.reshape(O * N, plan.OH, plan.OW), *pool).reshape(O, N, PH, PW)
    return a, (y if pool is not None else None)


def conv_backward_t(g, x, W, stride, padding, dilation, layout="nchw", need_gx=True, need_gb=True,
                    act="identity", a=None, pool=None, y=None, need_gW=True):
    cnhw = _layout(layout)
    code = _act_code(act)
    plan = _plan(x.shape, cnhw, W.shape[2:], stride, padding, dilation)
    pg, (PH, PW) = _pool_geometry(pool, plan.OH, plan.OW)
    O, N = W.shape[0], plan.N
    W2 = np.ascontiguousarray(W.reshape(O, -1))
    K = W2.shape[1]
    g = np.ascontiguousarray(g).reshape((O, N, PH, PW) if pool is not None else (O, N, plan.OH, plan.OW))
    # arrays the kernel does not read are stand-ins of the right shape
    if code or pool is not None:
        if a is None:
            raise ValueError("conv_backward_t: the activation's output a is needed (act or pool given)")
        a = np.ascontiguousarray(a).reshape(O, N, plan.OH, plan.OW)
    else:
        a = g
    if pool is not None and pool[0] == "max":
        if y is None:
            raise ValueError("conv_backward_t: max pooling needs its forward output y")
        y = np.ascontiguousarray(y).reshape(O, N, PH, PW)
    else:
        y = g if pool is not None else np.empty((O, N, 1, 1), dtype=x.dtype)
    nb = _chunk_size(K + 1, plan.Lc, x.dtype.itemsize, N)
    parts = np.zeros((-(-N // nb), (K + need_gb) if need_gW else 0, O), dtype=x.dtype)
    gx = np.empty(x.shape, dtype=x.dtype) if need_gx else np.empty((0, 1, 1), dtype=x.dtype)
    if N:
        # x's values are read for the weight gradient only (gx alone: x may be a stand-in of its shape)
        xp = _planes(x, plan, padding) if need_gW else np.empty((0, 0), dtype=x.dtype)
        gx3 = gx.reshape(-1, plan.H, plan.W) if need_gx else gx
        with single_threaded_blas():
            conv = _conv_backward if parallel_region_safe() else _conv_backward_serial
            conv(xp, cnhw, plan.C, N, nb, W2, g, a, y, bool(need_gb), bool(need_gx), plan.off, plan.wide,
                           plan.Lc, plan.pitch, plan.OH, plan.OW, plan.Hp, plan.Wp, padding[0], padding[1], code, pg,
                           parts, gx3)
    if not need_gW:
        return (gx if need_gx else None), None, None
    total = parts.sum(axis=0)  # chunk by chunk in a fixed order: the same for any thread count
    gW = np.ascontiguousarray(total[:K].T).reshape(W.shape)
    gb = np.ascontiguousarray(total[K]) if need_gb else None
    return (gx if need_gx else None), gW, gb


def im2col(x, kernel, stride, padding, dilation):
    return im2col_t(x, kernel, stride, padding, dilation).T


def col2im(cols, x_shape, kernel, stride, padding, dilation):
    return col2im_t(cols.T, x_shape, kernel, stride, padding, dilation)


# forward/backward/input_grad/weight_grad on NCHW arrays run the whole-layer kernels
# (patch matrices built chunk by chunk in L2, in parallel over images) and
# transpose their channel-major maps: LeNet-5's first convolution at batch 128
# took 10.1 ms forward and 13.1 ms backward through one whole-batch patch
# matrix, 2.8 and 6.7 ms this way (one thread, float64; measured).


def forward(x, W, b, stride, padding, dilation):
    a, _ = conv_forward_t(x, W, b, stride, padding, dilation, "nchw")
    return np.ascontiguousarray(a.transpose(1, 0, 2, 3))


def backward(g, x, W, stride, padding, dilation, need_gx=True):
    g_t = np.ascontiguousarray(np.transpose(g, (1, 0, 2, 3)))
    return conv_backward_t(g_t, x, W, stride, padding, dilation, "nchw", need_gx, True)


def input_grad(g, W, x_shape, stride, padding, dilation):
    g_t = np.ascontiguousarray(np.transpose(g, (1, 0, 2, 3)))
    x = np.empty(tuple(x_shape), dtype=g.dtype)  # stands in for x: only its shape is read without gW
    return conv_backward_t(g_t, x, W, stride, padding, dilation, "nchw", need_gx=True, need_gb=False,
                           need_gW=False)[0]


def weight_grad(g, x, kernel, stride, padding, dilation):
    g_t = np.ascontiguousarray(np.transpose(g, (1, 0, 2, 3)))
    shape = (g.shape[1], x.shape[1]) + tuple(kernel)  # W's shape; its values are not read without gx
    return conv_backward_t(g_t, x, np.empty(shape, dtype=x.dtype), stride, padding, dilation, "nchw",
                           need_gx=False, need_gb=False)[1]


# ---------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _pool_plane(ap, is_max, tiled, kh, kw, sh, sw, ph, pw, yp):
    """yp (OH, OW) = the pooling of the plane ap (H, W)."""
    H, W = ap.shape
    OH, OW = yp.shape
    inv = ap.dtype.type(1) / ap.dtype.type(kh * kw)  # exact for 2 x 2 windows
    if tiled:
        # windows that tile the plane: the kh rows of a window row summed as
        # whole vectors first (3x faster than the generic loop below)
        tmp = np.empty(OW * kw, dtype=ap.dtype)
        for oh in range(OH):
            r = ap[oh * kh, :OW * kw]
            for q in range(OW * kw):
                tmp[q] = r[q]
            for i in range(1, kh):
                r = ap[oh * kh + i, :OW * kw]
                for q in range(OW * kw):
                    tmp[q] += r[q]
            yr = yp[oh]
            if kw == 2:
                for ow in range(OW):
                    yr[ow] = (tmp[2 * ow] + tmp[2 * ow + 1]) * inv
            else:
                for ow in range(OW):
                    s = tmp[ow * kw]
                    for j in range(1, kw):
                        s += tmp[ow * kw + j]
                    yr[ow] = s * inv
        return
    for oh in range(OH):
        r0 = oh * sh - ph
        ilo, ihi = max(0, -r0), min(kh, H - r0)
        yr = yp[oh]
        for ow in range(OW):
            q0 = ow * sw - pw
            jlo, jhi = max(0, -q0), min(kw, W - q0)
            if is_max:
                m = -np.inf
                for i in range(ilo, ihi):
                    row = ap[r0 + i]
                    for j in range(jlo, jhi):
                        v = row[q0 + j]
                        if v > m or v != v:
                            m = v
                            if v != v:
                                break
                yr[ow] = m
            else:
                s = ap.dtype.type(0)
                for i in range(ilo, ihi):
                    row = ap[r0 + i]
                    for j in range(jlo, jhi):
                        s += row[q0 + j]
                yr[ow] = s * inv


@njit(cache=True, nogil=True)
def _pool_plane_backward(gp, ap, yp, is_max, tiled, kh, kw, sh, sw, ph, pw, code, gap):
    """gap (H, W) = pool^T(gp) * act'(ap): spread, then act' over the whole
    plane in one contiguous loop (rows of 28 or 10 pixels leave most of a
    vector loop idle)."""
    H, W = ap.shape
    OH, OW = gp.shape
    inv = ap.dtype.type(1) / ap.dtype.type(kh * kw)
    zero = ap.dtype.type(0)
    if tiled:
        for oh in range(OH):
            row = gap[oh * kh]
            gr = gp[oh]
            if kw == 2:
                for ow in range(OW):
                    v = gr[ow] * inv
                    row[2 * ow] = v
                    row[2 * ow + 1] = v
            else:
                for ow in range(OW):
                    v = gr[ow] * inv
                    for j in range(kw):
                        row[ow * kw + j] = v
            for q in range(OW * kw, W):
                row[q] = zero
            for i in range(1, kh):
                dst = gap[oh * kh + i]
                for q in range(W):
                    dst[q] = row[q]
        for r in range(OH * kh, H):
            dst = gap[r]
            for q in range(W):
                dst[q] = zero
    else:
        for r in range(H):
            for q in range(W):
                gap[r, q] = zero
        for oh in range(OH):
            r0 = oh * sh - ph
            ilo, ihi = max(0, -r0), min(kh, H - r0)
            for ow in range(OW):
                q0 = ow * sw - pw
                jlo, jhi = max(0, -q0), min(kw, W - q0)
                if is_max:
                    m = yp[oh, ow]
                    hits = 0
                    for i in range(ilo, ihi):
                        for j in range(jlo, jhi):
                            if ap[r0 + i, q0 + j] == m:
                                hits += 1
                    if hits == 0:  # NaN in the window
                        continue
                    if m == -np.inf:  # the -inf padding ties too
                        hits += kh * kw - (ihi - ilo) * (jhi - jlo)
                    v = gp[oh, ow] / ap.dtype.type(hits)
                    for i in range(ilo, ihi):
                        for j in range(jlo, jhi):
                            if ap[r0 + i, q0 + j] == m:
                                gap[r0 + i, q0 + j] += v
                else:
                    v = gp[oh, ow] * inv
                    for i in range(ilo, ihi):
                        for j in range(jlo, jhi):
                            gap[r0 + i, q0 + j] += v
    if code != 0:
        flat = gap.reshape(H * W)
        times_act_derivative(flat, ap.reshape(H * W), code, flat)


@njit(cache=True, parallel=True)
def _pool(a, is_max, tiled, kh, kw, sh, sw, ph, pw, y):
    for p in prange(a.shape[0]):
        _pool_plane(a[p], is_max, tiled, kh, kw, sh, sw, ph, pw, y[p])


@njit(cache=True, parallel=True)
def _pool_backward(g, a, y, is_max, tiled, kh, kw, sh, sw, ph, pw, code, ga):
    for p in prange(a.shape[0]):
        _pool_plane_backward(g[p], a[p], y[p], is_max, tiled, kh, kw, sh, sw, ph, pw, code, ga[p])


@njit(cache=True)
def _pool_serial(a, is_max, tiled, kh, kw, sh, sw, ph, pw, y):
    for p in range(a.shape[0]):
        _pool_plane(a[p], is_max, tiled, kh, kw, sh, sw, ph, pw, y[p])


@njit(cache=True)
def _pool_backward_serial(g, a, y, is_max, tiled, kh, kw, sh, sw, ph, pw, code, ga):
    for p in range(a.shape[0]):
        _pool_plane_backward(g[p], a[p], y[p], is_max, tiled, kh, kw, sh, sw, ph, pw, code, ga[p])


def _pool_args(a, kind, kernel, stride, padding):
    if kind not in ("avg", "max"):
        raise ValueError(f"pool kind must be 'avg' or 'max', got {kind!r}")
    a = np.ascontiguousarray(a)
    P, H, W = a.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    OH, OW = output_size(H, kh, sh, ph, 1), output_size(W, kw, sw, pw, 1)
    tiled = kind == "avg" and (sh, sw) == (kh, kw) and (ph, pw) == (0, 0)
    return a, (kh, kw, sh, sw, ph, pw), (P, OH, OW), tiled


def _act_code(act):
    code = _ACT_CODES.get(act)
    if code is None:
        raise ValueError(f"activation must be one of {tuple(_ACT_CODES)}, got {act!r}")
    return code


def pool_forward(a, kind, kernel, stride, padding):
    a, geom, out_shape, tiled = _pool_args(a, kind, kernel, stride, padding)
    y = np.empty(out_shape, dtype=a.dtype)
    (_pool if parallel_region_safe() else _pool_serial)(a, kind == "max", tiled, *geom, y)
    return y


def pool_backward(g, a, y, kind, kernel, stride, padding, act="identity"):
    a, geom, out_shape, tiled = _pool_args(a, kind, kernel, stride, padding)
    code = _act_code(act)
    g = np.ascontiguousarray(g)
    ga = np.empty(a.shape, dtype=a.dtype)
    ym = np.ascontiguousarray(y) if kind == "max" else g
    run = _pool_backward if parallel_region_safe() else _pool_backward_serial
    run(g, a, ym, kind == "max", tiled, *geom, code, ga)
    return ga
