package io.jseek.model;

/**
 * Rotary position embedding exactly as ggml computes it (docs/gguf.md §2.4), YaRN and llama3 frequency
 * factors included. Pairs are adjacent values {@code (2i, 2i+1)} (NORM: deepseek2, llama) or the two
 * halves {@code (i, i + n/2)} (NEOX: qwen2). Angles are computed in double precision. The engine and the
 * trainer both rotate by {@link #angle} and {@link #magnitude}.
 */
public final class Rope {
    private final int dims;
    private final boolean neox;
    private final double[] invFreq;
    private final double[] ramp;
    private final double freqScale;
    private final double mscale;
    /** The attention factor before the magnitude correction; deepseek2's kq_scale uses it. */
    private final double attnFactor;

    /**
     * @param freqFactors per-pair divisors of the frequency (llama3 {@code rope_freqs}), or null
     * @param mscaleAllDim DeepSeek's {@code mscale_all_dim} (GGUF yarn_log_multiplier / 0.1 for deepseek2), 0 if none
     */
    private Rope(int dims, double base, ModelConfig.RopeScaling scaling, float[] freqFactors, boolean neox,
         boolean deepseek2, double mscaleAllDim) {
        this(dims, base, scaling, freqFactors, neox, deepseek2, mscaleAllDim, false);
    }

    /** @param unitMagnitude YaRN's frequencies without its magnitude: the attention factor cancels mscale (V4) */
    private Rope(int dims, double base, ModelConfig.RopeScaling scaling, float[] freqFactors, boolean neox,
         boolean deepseek2, double mscaleAllDim, boolean unitMagnitude) {
        this.dims = dims;
        this.neox = neox;
        double fs = 1;
        double ext = 0;
        double af = 1;
        double f = scaling.factor();
        if (scaling.type() == ModelConfig.RopeScaling.Type.YARN && f != 0) {
            fs = 1 / f;
            ext = 1;
            if (mscaleAllDim != 0) {
                double ms = deepseek2 && mscaleAllDim != 1 ? mscaleAllDim : 1;
                af = yarnMscale(f, ms) / yarnMscale(f, mscaleAllDim);
            } else {
                af = yarnMscale(f, 1);
            }
            af *= 1 / (1 + 0.1 * Math.log(f));
            if (unitMagnitude) {
                af = 1 / (1 + 0.1 * Math.log(f));
            }
        } else if (scaling.type() == ModelConfig.RopeScaling.Type.LINEAR && f != 0) {
            fs = 1 / f;
        }
        this.freqScale = fs;
        this.attnFactor = af;
        int nCtxOrig = scaling.originalContextLength();
        double lo = Math.max(0, Math.floor(corrDim(dims, nCtxOrig, base, 32)));
        double hi = Math.min(dims - 1, Math.ceil(corrDim(dims, nCtxOrig, base, 1)));
        int pairs = dims / 2;
        invFreq = new double[pairs];
        ramp = new double[pairs];
        for (int i = 0; i < pairs; i++) {
            invFreq[i] = Math.pow(base, -2.0 * i / dims) / (freqFactors == null ? 1 : freqFactors[i]);
            double y = (i - lo) / Math.max(0.001, hi - lo);
            ramp[i] = (1 - Math.min(1, Math.max(0, y))) * ext;
        }
        this.mscale = ext != 0 ? af * (1 + 0.1 * Math.log(1 / fs)) : af;
    }

    /** The RoPE of a model of this config: MLA's rope part for DeepSeek, every head's rope dimensions otherwise. */
    public static Rope of(ModelConfig c) {
        return of(c, null);
    }

    /** As {@link #of(ModelConfig)}, with llama3's per-pair frequency divisors ({@code rope_freqs}) or null. */
    static Rope of(ModelConfig c, float[] freqFactors) {
        boolean neox = c.architecture().ropeStyle == Architecture.RopeStyle.NEOX;
        if (c.mla() != null) {
            return mla(c, freqFactors, neox);
        }
        return new Rope(c.ropeDimensionCount(), c.ropeFreqBase(), c.ropeScaling(), freqFactors, neox, false,
                c.ropeScaling().yarnLogMultiplier());
    }

    /** RoPE without scaling over {@code dims} values. */
    public static Rope plain(int dims, double base, Architecture.RopeStyle style) {
        return new Rope(dims, base, ModelConfig.RopeScaling.NONE, null, style == Architecture.RopeStyle.NEOX, false, 0);
    }

    /**
     * DeepSeek-V4's RoPE of a layer with compress ratio {@code ratio} (NORM pairs over the head's last rope values):
     * window-only layers (0) rotate at the model's base without scaling; compressing layers at the compress base
     * with the model's YaRN frequencies, whose magnitude llama.cpp b10573 cancels (attention factor 1 / (1 + 0.1 ln
     * factor)) — so every V4 rotation keeps lengths and its inverse is its transpose.
     */
    static Rope v4(ModelConfig c, int ratio) {
        if (ratio == 0) {
            return plain(c.ropeDimensionCount(), c.ropeFreqBase(), Architecture.RopeStyle.NORM);
        }
        return new Rope(c.ropeDimensionCount(), c.v4().compressRopeBase(), c.ropeScaling(), null, false, false, 0, true);
    }

    /**
     * MLA's rope part; llama.cpp b10573 corrects the YaRN attention factor by {@code mscale_all_dim} for the
     * deepseek2 architecture only.
     */
    private static Rope mla(ModelConfig c, float[] freqFactors, boolean neox) {
        return new Rope(c.mla().qkRopeHeadDim(), c.ropeFreqBase(), c.ropeScaling(), freqFactors, neox,
                c.architecture() == Architecture.DEEPSEEK2, mscaleAllDim(c));
    }

    /** The lightning indexer's RoPE (V3.2): MLA's frequencies and YaRN, but pairs as NEOX. */
    static Rope indexer(ModelConfig c) {
        return mla(c, null, true);
    }

    /** DeepSeek's {@code mscale_all_dim}: GGUF's yarn_log_multiplier / 0.1. */
    private static double mscaleAllDim(ModelConfig c) {
        return c.ropeScaling().yarnLogMultiplier() / 0.1;
    }

    /**
     * MLA's softmax scale (docs/deepseek.md §2.4): mscale² / sqrt(nope + rope), with the YaRN correction
     * folded into mscale.
     */
    public static double mlaSoftmaxScale(ModelConfig c) {
        Rope rope = of(c);
        double attnFactorOrg = rope.attnFactor * (1 + 0.1 * rope.logFactor());
        double mscale = attnFactorOrg * (1 + 0.1 * mscaleAllDim(c) * rope.logFactor());
        return mscale * mscale / Math.sqrt(c.mla().qkNopeHeadDim() + c.mla().qkRopeHeadDim());
    }

    /** Values rotated: 2 × the number of pairs. */
    public int dims() {
        return dims;
    }

    /** Whether pairs are the two halves (NEOX) rather than adjacent values (NORM). */
    public boolean neox() {
        return neox;
    }

    /** The rotation angle of pair i at position pos (YaRN's blend of interpolated and extrapolated). */
    public double angle(int pos, int i) {
        double extrap = pos * invFreq[i];
        double interp = freqScale * extrap;
        return interp * (1 - ramp[i]) + extrap * ramp[i];
    }

    /** The factor every rotated pair is scaled by (YaRN's mscale; 1 without scaling). */
    public double magnitude() {
        return mscale;
    }

    private static double yarnMscale(double scale, double m) {
        return scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1;
    }

    private static double corrDim(int dims, int nCtxOrig, double base, double beta) {
        return dims * Math.log(nCtxOrig / (beta * 2 * Math.PI)) / (2 * Math.log(base));
    }

    /** log(1 / freq_scale), i.e. log of the YaRN factor (0 without scaling). */
    private double logFactor() {
        return Math.log(1 / freqScale);
    }

    /** Rotates {@code x[off, off + dims)} for position {@code pos}. */
    void apply(float[] x, int off, int pos) {
        rotate(x, off, pos, 1);
    }

    /** The transposed rotation of {@link #apply} (angles negated; its inverse without scaling): V4's output RoPE. */
    void applyInverse(float[] x, int off, int pos) {
        rotate(x, off, pos, -1);
    }

    private void rotate(float[] x, int off, int pos, int sign) {
        int half = dims / 2;
        for (int i = 0; i < half; i++) {
            double theta = angle(pos, i);
            float cos = (float) (Math.cos(theta) * mscale);
            float sin = (float) (sign * Math.sin(theta) * mscale);
            int a = neox ? off + i : off + 2 * i;
            int b = neox ? off + i + half : off + 2 * i + 1;
            float x0 = x[a];
            float x1 = x[b];
            x[a] = x0 * cos - x1 * sin;
            x[b] = x0 * sin + x1 * cos;
        }
    }
}
