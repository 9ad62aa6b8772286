package io.jseek.core.tensor;

/**
 * The ggml tensor types a GGUF file may hold, with their GGUF ids and block geometry
 * ({@code blockSize} values stored in {@code blockBytes} bytes). Types jseek can decode carry a
 * {@link BlockCodec}; the rest are known (so a file using them gets a clear error naming the type) but
 * rejected at load. Adding a type means writing its codec and naming it here.
 */
public enum GgmlType {
    F32(0, 1, 4, F32Codec.INSTANCE),
    F16(1, 1, 2, F16Codec.INSTANCE),
    Q4_0(2, 32, 18, Q4_0Codec.INSTANCE),
    Q4_1(3, 32, 20, Q4_1Codec.INSTANCE),
    Q5_0(6, 32, 22, Q5_0Codec.INSTANCE),
    Q5_1(7, 32, 24, Q5_1Codec.INSTANCE),
    Q8_0(8, 32, 34, Q8_0Codec.INSTANCE),
    Q8_1(9, 32, 36, null),
    Q2_K(10, 256, 84, Q2_KCodec.INSTANCE),
    Q3_K(11, 256, 110, Q3_KCodec.INSTANCE),
    Q4_K(12, 256, 144, Q4_KCodec.INSTANCE),
    Q5_K(13, 256, 176, Q5_KCodec.INSTANCE),
    Q6_K(14, 256, 210, Q6_KCodec.INSTANCE),
    Q8_K(15, 256, 292, null),
    IQ2_XXS(16, 256, 66, IQ2_XXSCodec.INSTANCE),
    IQ2_XS(17, 256, 74, IQ2_XSCodec.INSTANCE),
    IQ3_XXS(18, 256, 98, IQ3_XXSCodec.INSTANCE),
    IQ1_S(19, 256, 50, IQ1_SCodec.INSTANCE),
    IQ4_NL(20, 32, 18, IQ4_NLCodec.INSTANCE),
    IQ3_S(21, 256, 110, IQ3_SCodec.INSTANCE),
    IQ2_S(22, 256, 82, IQ2_SCodec.INSTANCE),
    IQ4_XS(23, 256, 136, IQ4_XSCodec.INSTANCE),
    I8(24, 1, 1, null),
    I16(25, 1, 2, null),
    I32(26, 1, 4, I32Codec.INSTANCE),
    I64(27, 1, 8, null),
    F64(28, 1, 8, null),
    IQ1_M(29, 256, 56, IQ1_MCodec.INSTANCE),
    BF16(30, 1, 2, BF16Codec.INSTANCE),
    TQ1_0(34, 256, 54, TQ1_0Codec.INSTANCE),
    TQ2_0(35, 256, 66, TQ2_0Codec.INSTANCE),
    MXFP4(39, 32, 17, MXFP4Codec.INSTANCE),
    NVFP4(40, 64, 36, NVFP4Codec.INSTANCE),
    Q1_0(41, 128, 18, Q1_0Codec.INSTANCE),
    Q2_0(42, 64, 18, Q2_0Codec.INSTANCE),
    /**
     * Not a GGUF type: FP8 e4m3 weights of a safetensors checkpoint, one byte a value, read with their block
     * scales by the tensor's own {@link Fp8BlockCodec} (DeepSeek's 128×128 {@code weight_scale_inv}).
     */
    FP8_E4M3(1000, 1, 1, null);

    private static final GgmlType[] BY_ID = new GgmlType[64];

    static {
        for (GgmlType t : values()) {
            if (t.id < BY_ID.length) {
                BY_ID[t.id] = t;
            }
        }
    }

    public final int id;
    /** Values per block. */
    public final int blockSize;
    /** Bytes per block. */
    public final int blockBytes;
    private final BlockCodec codec;

    GgmlType(int id, int blockSize, int blockBytes, BlockCodec codec) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
        this.codec = codec;
    }

    /** The type with this GGUF id, or null for an id ggml does not define (including the retired ones). */
    public static GgmlType byId(long id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[(int) id] : null;
    }

    /** The type named {@code name} (case-insensitive, e.g. "q4_k"), or null. */
    public static GgmlType byName(String name) {
        for (GgmlType t : values()) {
            if (t.name().equalsIgnoreCase(name)) {
                return t;
            }
        }
        return null;
    }

    /** True when jseek can decode this type. */
    public boolean isSupported() {
        return codec != null;
    }

    /** The block decoder. Throws for a type jseek cannot decode; loaders reject those before this is reached. */
    public BlockCodec codec() {
        if (codec == null) {
            throw new UnsupportedOperationException("ggml type " + this + " is not supported");
        }
        return codec;
    }

    /** True for types with a quantizer ({@code codec().quantize}). */
    public boolean canQuantize() {
        return codec != null && codec.canQuantize();
    }

    /** Bytes taken by {@code n} values; n must be a whole number of blocks. */
    public long bytesFor(long n) {
        if (n % blockSize != 0) {
            throw new IllegalArgumentException(n + " values are not a whole number of " + this + " blocks of " + blockSize);
        }
        return Math.multiplyExact(n / blockSize, (long) blockBytes);
    }

    /** Names of the supported types, for error messages. */
    public static String supportedNames() {
        StringBuilder sb = new StringBuilder();
        for (GgmlType t : values()) {
            if (t.isSupported()) {
                sb.append(sb.isEmpty() ? "" : ", ").append(t);
            }
        }
        return sb.toString();
    }
}
