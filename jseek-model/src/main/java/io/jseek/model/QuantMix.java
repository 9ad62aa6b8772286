package io.jseek.model;

import io.jseek.core.tensor.GgmlType;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The file types {@code jseek convert} writes (named and numbered as llama.cpp's {@code llama_ftype}) and,
 * for each, the type of every tensor, chosen by llama-quantize's rules (its {@code llama_tensor_get_type}) for
 * the architectures jseek runs: only weight matrices are quantized (norms, biases, 1-D tensors and the router
 * {@code ffn_gate_inp} stay F32); Q4_K_M gives Q6_K to the output matrix and, in the "more bits" layers (the
 * first and last eighth and every third in between), to V-like attention tensors and {@code ffn_down*}; a row
 * length the type's block does not divide falls back as llama-quantize falls back (Q4_K → Q5_0, Q6_K → Q8_0,
 * else F16). One rule is left out: for models of exactly 8 experts (Mixtral's shape) llama-quantize gives
 * {@code attn_output} Q5_K, which jseek cannot write yet; it keeps the base type there.
 */
public enum QuantMix {
    F32(0, GgmlType.F32),
    F16(1, GgmlType.F16),
    BF16(32, GgmlType.BF16),
    Q8_0(7, GgmlType.Q8_0),
    Q4_0(2, GgmlType.Q4_0),
    Q6_K(18, GgmlType.Q6_K),
    Q4_K_M(15, GgmlType.Q4_K);

    private static final Pattern LAYER = Pattern.compile("blk\\.(\\d+)\\..*");

    /** llama.cpp's {@code general.file_type} number. */
    public final int fileType;
    /** The type of most matrices. */
    public final GgmlType base;

    QuantMix(int fileType, GgmlType base) {
        this.fileType = fileType;
        this.base = base;
    }

    /** The mix named {@code name} (case-insensitive), or an error listing the names. */
    public static QuantMix byName(String name) {
        for (QuantMix m : values()) {
            if (m.name().equalsIgnoreCase(name)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown type '" + name + "' for convert (one of " + List.of(values()) + ")");
    }

    /** Whether llama-quantize quantizes this tensor at all. */
    static boolean quantizable(String name, long[] shape) {
        return shape.length >= 2 && name.endsWith("weight") && !name.endsWith("_norm.weight")
                && !name.contains("ffn_gate_inp.weight") && !name.contains("indexer.k_norm");
    }

    /**
     * The types of the tensors {@code names} (with {@code shapes}) in a model of {@code layers} layers; the
     * input order matters, as llama-quantize counts V-like tensors in file order.
     */
    public GgmlType[] plan(List<String> names, List<long[]> shapes, int layers, int experts) {
        boolean tied = !names.contains("output.weight");
        int vLike = 0;
        for (String n : names) {
            if (isVLike(n)) {
                vLike++;
            }
        }
        GgmlType[] types = new GgmlType[names.size()];
        int iV = 0;
        for (int i = 0; i < names.size(); i++) {
            String n = names.get(i);
            long[] shape = shapes.get(i);
            if (!quantizable(n, shape)) {
                types[i] = GgmlType.F32;
                continue;
            }
            GgmlType t = base;
            if (this == F32 || this == F16 || this == BF16) {
                types[i] = base;
                continue;
            }
            if (n.equals("output.weight") || (tied && n.equals("token_embd.weight"))) {
                t = shape[0] % 256 != 0 ? GgmlType.Q8_0 : this == Q8_0 ? GgmlType.Q8_0 : GgmlType.Q6_K;
            } else if (isVLike(n)) {
                if (this == Q4_K_M && moreBits(iV, vLike)) {
                    t = GgmlType.Q6_K;
                }
                if (experts == 8) {
                    t = GgmlType.Q8_0; // llama-quantize's rule for 8-expert models (V is shared by all)
                }
                iV++;
            } else if (n.contains("ffn_down")) {
                if (this == Q4_K_M && moreBits(layerOf(n), layers)) {
                    t = GgmlType.Q6_K;
                }
            }
            types[i] = fallback(t, shape[0]);
        }
        return types;
    }

    /** llama-quantize's V-like tensors: attn_v, fused attn_qkv and MLA's unsplit attn_kv_b. */
    private static boolean isVLike(String n) {
        return n.contains("attn_v.weight") || n.contains("attn_qkv.weight") || n.contains("attn_kv_b.weight");
    }

    /** The first and last eighth of the layers and every third between. */
    private static boolean moreBits(int i, int n) {
        return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
    }

    private static int layerOf(String name) {
        Matcher m = LAYER.matcher(name);
        return m.matches() ? Integer.parseInt(m.group(1)) : 0;
    }

    /** llama-quantize's fallback for a row length the type's block does not divide. */
    static GgmlType fallback(GgmlType t, long rowLength) {
        if (rowLength % t.blockSize == 0) {
            return t;
        }
        GgmlType f = switch (t) {
            case Q4_K -> GgmlType.Q5_0;
            case Q6_K -> GgmlType.Q8_0;
            default -> GgmlType.F16;
        };
        return rowLength % f.blockSize == 0 ? f : GgmlType.F16;
    }

    @Override
    public String toString() {
        return name().toUpperCase(Locale.ROOT);
    }
}
