package io.jseek.train;

import io.jseek.core.JseekException;
import io.jseek.core.gguf.GgufValue;
import io.jseek.core.gguf.GgufValueType;
import io.jseek.core.gguf.GgufWriter;
import io.jseek.core.tensor.GgmlType;
import io.jseek.model.ModelConfig;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a {@link TrainableDeepSeek} as a GGUF file of the {@code deepseek2} architecture that jseek and
 * llama.cpp load: the split MLA layout ({@code attn_k_b} / {@code attn_v_b}, with the {@code *_mla} key
 * and value lengths), DeepSeekMoE with sigmoid gating and the selection bias, the character vocabulary.
 * Matrices are written as F32 or Q8_0; norms and the bias always as F32.
 */
public final class GgufExport {
    private GgufExport() {
    }

    /**
     * Runs {@code use} on the model written (F32) to a temporary GGUF file, deleted afterwards: how rollouts
     * and evaluations hand the current weights to the inference engine.
     */
    static <T> T withTemporaryFile(TrainableDeepSeek model, CharVocabulary vocab, String name,
                                   java.util.function.Function<Path, T> use) {
        Path file = null;
        try {
            file = java.nio.file.Files.createTempFile("jseek-" + name, ".gguf");
            write(model, vocab, file, GgmlType.F32, name, null);
            return use.apply(file);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } finally {
            if (file != null) {
                try {
                    java.nio.file.Files.deleteIfExists(file);
                } catch (IOException ignored) {
                    // a temporary file; the system cleans it up eventually
                }
            }
        }
    }

    public static void write(TrainableDeepSeek model, CharVocabulary vocab, Path out, GgmlType type, String name,
                             String chatTemplate) throws IOException {
        if (type != GgmlType.F32 && type != GgmlType.Q8_0) {
            throw new JseekException("export writes F32 or Q8_0, not " + type);
        }
        ModelConfig c = model.config();
        if (c.vocabSize() != vocab.size()) {
            throw new JseekException("the model has " + c.vocabSize() + " token rows but the vocabulary " + vocab.size());
        }
        Map<String, GgufValue> md = metadata(c, vocab, type, name, chatTemplate);
        Map<String, float[]> data = new LinkedHashMap<>();
        List<GgufWriter.TensorSpec> specs = new ArrayList<>();
        for (Var p : model.parameters()) {
            String n = p.name;
            if (n.endsWith("attn_kv_b.weight")) {
                String prefix = n.substring(0, n.length() - "attn_kv_b.weight".length());
                splitKvB(p, c, prefix, specs, data, type);
                continue;
            }
            long[] shape;
            if (n.endsWith("_exps.weight")) {
                // Stacked experts: rows of length cols, rows/experts rows per expert.
                shape = new long[] {p.cols, p.rows / c.moe().expertCount(), c.moe().expertCount()};
            } else if (p.rows == 1) {
                shape = new long[] {p.cols};
            } else {
                shape = new long[] {p.cols, p.rows};
            }
            boolean quantize = p.rows > 1 && p.cols % 32 == 0 && type == GgmlType.Q8_0;
            specs.add(new GgufWriter.TensorSpec(n, quantize ? type : GgmlType.F32, shape));
            data.put(n, TrainableDeepSeek.toFloat(p.v));
        }
        for (int l : model.moeLayers()) {
            String n = "blk." + l + ".exp_probs_b.bias";
            specs.add(new GgufWriter.TensorSpec(n, GgmlType.F32, new long[] {c.moe().expertCount()}));
            data.put(n, TrainableDeepSeek.toFloat(model.selectionBias(l)));
        }
        try (GgufWriter w = new GgufWriter(out, md, specs); Arena arena = Arena.ofConfined()) {
            for (GgufWriter.TensorSpec s : specs) {
                float[] v = data.get(s.name());
                MemorySegment seg;
                if (s.type() == GgmlType.F32) {
                    seg = arena.allocate((long) v.length * 4, 32);
                    MemorySegment.copy(v, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, v.length);
                } else {
                    seg = arena.allocate(s.type().bytesFor(v.length), 32);
                    int rowLen = (int) s.shape()[0];
                    long rowBytes = s.type().bytesFor(rowLen);
                    for (int r = 0; r < v.length / rowLen; r++) {
                        s.type().codec().quantize(v, r * rowLen, seg, r * rowBytes, rowLen);
                    }
                }
                w.writeTensor(s.name(), seg);
            }
        }
    }

    /**
     * attn_kv_b rows: per head, nope rows of W_UK then vHead rows of W_UV, each kvLora long. GGUF's split
     * layout: attn_k_b (ne nope, kvLora, heads) holds W_UK transposed per head; attn_v_b (ne kvLora, vHead,
     * heads) holds W_UV as is.
     */
    private static void splitKvB(Var kvb, ModelConfig c, String prefix, List<GgufWriter.TensorSpec> specs,
                                 Map<String, float[]> data, GgmlType type) {
        int h = c.headCount();
        int nope = c.mla().qkNopeHeadDim();
        int vh = c.mla().vHeadDim();
        int kvr = c.mla().kvLoraRank();
        float[] kb = new float[h * kvr * nope];
        float[] vb = new float[h * vh * kvr];
        for (int head = 0; head < h; head++) {
            for (int d = 0; d < nope; d++) {
                for (int ci = 0; ci < kvr; ci++) {
                    kb[(head * kvr + ci) * nope + d] = (float) kvb.v[(head * (nope + vh) + d) * kvr + ci];
                }
            }
            for (int d = 0; d < vh; d++) {
                for (int ci = 0; ci < kvr; ci++) {
                    vb[(head * vh + d) * kvr + ci] = (float) kvb.v[(head * (nope + vh) + nope + d) * kvr + ci];
                }
            }
        }
        specs.add(new GgufWriter.TensorSpec(prefix + "attn_k_b.weight",
                type == GgmlType.Q8_0 && nope % 32 == 0 ? type : GgmlType.F32, new long[] {nope, kvr, h}));
        data.put(prefix + "attn_k_b.weight", kb);
        specs.add(new GgufWriter.TensorSpec(prefix + "attn_v_b.weight",
                type == GgmlType.Q8_0 && kvr % 32 == 0 ? type : GgmlType.F32, new long[] {kvr, vh, h}));
        data.put(prefix + "attn_v_b.weight", vb);
    }

    /** The config's own keys ({@link ModelConfig#toGguf}), then the file's name and type and the vocabulary. */
    private static Map<String, GgufValue> metadata(ModelConfig c, CharVocabulary vocab, GgmlType type,
                                                   String name, String chatTemplate) {
        Map<String, GgufValue> m = new LinkedHashMap<>(c.toGguf());
        m.put("general.type", GgufValue.string("model"));
        m.put("general.name", GgufValue.string(name));
        m.put("general.quantization_version", GgufValue.u32(2));
        m.put("general.file_type", GgufValue.u32(type == GgmlType.F32 ? 0 : 7));
        m.put("tokenizer.ggml.model", GgufValue.string("gpt2"));
        m.put("tokenizer.ggml.pre", GgufValue.string("default"));
        m.put("tokenizer.ggml.tokens", GgufValue.array(GgufValueType.STRING, vocab.tokens().toArray(new String[0])));
        m.put("tokenizer.ggml.token_type", GgufValue.array(GgufValueType.INT32,
                vocab.types().stream().mapToInt(Integer::intValue).toArray()));
        m.put("tokenizer.ggml.merges", GgufValue.array(GgufValueType.STRING, new String[0]));
        m.put("tokenizer.ggml.bos_token_id", GgufValue.u32(vocab.bos()));
        m.put("tokenizer.ggml.eos_token_id", GgufValue.u32(vocab.eos()));
        m.put("tokenizer.ggml.padding_token_id", GgufValue.u32(vocab.pad()));
        m.put("tokenizer.ggml.add_bos_token", GgufValue.bool(true));
        m.put("tokenizer.ggml.add_eos_token", GgufValue.bool(false));
        if (chatTemplate != null) {
            m.put("tokenizer.chat_template", GgufValue.string(chatTemplate));
        }
        return m;
    }
}
