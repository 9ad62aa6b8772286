package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.jseek.core.gguf.GgufFile;
import io.jseek.core.gguf.GgufTensorInfo;
import io.jseek.core.gguf.GgufValue;
import io.jseek.core.gguf.GgufValueType;
import io.jseek.core.gguf.GgufWriter;
import io.jseek.core.kernel.WorkerPool;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each of V4's mechanisms is active, where it should be and only there: ds4-f32 (window 8, compress ratios 0/4/128/4,
 * indexer top-4, layer 0 hash-routed) rewritten with one thing changed, its {@code long} sequence (176 positions) fed
 * as one batch. Logits before the first position the change can reach are bit for bit the original's; from there
 * they differ. (The references themselves — ReferenceLogitsTest — show the mechanisms compute what llama.cpp does;
 * this shows that none of them is idle on the test data.)
 */
class DeepSeek4MechanismsTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));
    private static final Path MODEL = DATA.resolve("ds4-f32.gguf");
    private static final WorkerPool POOL = new WorkerPool(2);
    private static int[] tokens;
    private static float[][] original;

    @TempDir
    Path tmp;

    @BeforeAll
    static void runOriginal() throws IOException {
        ReferenceLogitsTest.Case c = ReferenceLogitsTest.Case.of("ds4-f32");
        JsonNode seq = c.json().get("sequences").get(1);
        assertEquals("long", seq.get("name").asText());
        tokens = c.allTokens(seq);
        original = logits(MODEL);
    }

    @AfterAll
    static void closePool() {
        POOL.close();
    }

    @Test
    void theWindowLimitsWhatRawRowsAreSeen() throws IOException {
        // Window 8 → 16: position p sees raw rows from p − w + 1, so the first 8 positions see all of theirs either way.
        Path wider = rewrite(Map.of("deepseek4.attention.sliding_window", GgufValue.u32(16)), null, null);
        changedFrom(8, logits(wider), "window 16");
    }

    @Test
    void theIndexerKeepsOnlyTopKCompressedRows() throws IOException {
        // top-k 4 → 64: a position sees (p + 1) / 4 compressed rows of the CSA layers, all while at most 4 (p < 19).
        Path all = rewrite(Map.of("deepseek4.attention.indexer.top_k", GgufValue.u32(64)), null, null);
        changedFrom(19, logits(all), "indexer top-k 64");
    }

    @Test
    void theHeavilyCompressedLayerSeesItsBlock() throws IOException {
        // Layer 2 (ratio 128) made window-only. Both files rotate every layer at base 1e4, so that the layer's RoPE
        // base does not change with it: its one complete block (positions 0–127) is seen from position 127 on.
        GgufValue base = GgufValue.f32(10000f);
        Path hca = rewrite(Map.of("deepseek4.attention.compress_rope_freq_base", base), null, null);
        Path none = rewrite(Map.of("deepseek4.attention.compress_rope_freq_base", base,
                "deepseek4.attention.compress_ratios", GgufValue.array(GgufValueType.INT32, new int[] {0, 4, 0, 4})),
                "blk.2.attn_compressor", null);
        float[][] with = logits(hca);
        changedFrom(127, with, logits(none), "layer 2 without its compressor");
    }

    @Test
    void theHashTableRoutesTheFirstLayer() throws IOException {
        // Token x's row of layer 0's token → experts table moved by one expert: nothing changes before x first occurs.
        int x = tokens[40];
        int first = 0;
        while (tokens[first] != x) {
            first++;
        }
        int experts = 8;
        int used = 2;
        Path moved = rewrite(Map.of(), null, Map.of("blk.0.ffn_gate_tid2eid.weight", table -> {
            for (int k = 0; k < used; k++) {
                long at = ((long) x * used + k) * Integer.BYTES;
                table.set(ValueLayout.JAVA_INT_UNALIGNED, at, (table.get(ValueLayout.JAVA_INT_UNALIGNED, at) + 3) % experts);
            }
        }));
        float[][] got = logits(moved);
        changedFrom(first, got, "token " + x + "'s experts moved");
        for (int p = first; p < tokens.length; p++) {
            if (tokens[p] == x) {
                assertTrue(ReferenceLogitsTest.maxAbsDiff(original[p], got[p]) > 1e-3, "position " + p + " (token " + x + ")");
            }
        }
    }

    /**
     * A V4 file with a multi-token-prediction block (block_count 5, nextn_predict_layers 1: ds4-f32's four layers, a
     * fifth of layer 3's tensors and the block's own) loads — its tensors accepted, not run, as llama.cpp loads such a
     * file — and gives ds4-f32's logits bit for bit; the block's tensors are not taken for a fifth layer. A tensor
     * foreign to the block is still refused.
     */
    @Test
    void anMtpBlockIsLoadedPastAndChangesNothing() throws IOException {
        Path withMtp = tmp.resolve("mtp.gguf");
        writeWithMtpBlock(withMtp, null);
        float[][] got = logits(withMtp);
        changedFrom(tokens.length, got, "with an MTP block");
        try (GgufFile f = GgufFile.open(withMtp)) {
            assertEquals(1, ModelConfig.fromGguf(f.metadata()).nextnLayers());
            assertEquals(4, ModelConfig.fromGguf(f.metadata()).blockCount());
        }
        Path foreign = tmp.resolve("mtp-foreign.gguf");
        writeWithMtpBlock(foreign, "blk.4.nextn.unknown.weight");
        try (GgufFile f = GgufFile.open(foreign)) {
            io.jseek.core.JseekException e = org.junit.jupiter.api.Assertions.assertThrows(
                    io.jseek.core.JseekException.class, () -> Model.load(f, POOL));
            assertTrue(e.getMessage().contains("blk.4.nextn.unknown.weight"), e.getMessage());
        }
    }

    /** ds4-f32 plus an MTP block 4 (layer 3's tensors, nextn tensors of zeros), and the tensor {@code extra} if not null. */
    private static void writeWithMtpBlock(Path out, String extra) throws IOException {
        try (GgufFile in = GgufFile.open(MODEL); Arena arena = Arena.ofConfined()) {
            Map<String, GgufValue> meta = new HashMap<>(in.metadata().asMap());
            meta.put("deepseek4.block_count", GgufValue.u32(5));
            meta.put("deepseek4.nextn_predict_layers", GgufValue.u32(1));
            meta.put("deepseek4.attention.compress_ratios", GgufValue.array(GgufValueType.INT32, new int[] {0, 4, 128, 4, 4}));
            meta.put("deepseek4.swiglu_clamp_exp", GgufValue.array(GgufValueType.FLOAT32, new float[] {1.5f, 1.5f, 1.5f, 1.5f, 1.5f}));
            meta.put("deepseek4.swiglu_clamp_shexp", GgufValue.array(GgufValueType.FLOAT32, new float[] {1.5f, 1.5f, 1.5f, 1.5f, 1.5f}));
            List<GgufWriter.TensorSpec> specs = new ArrayList<>();
            Map<String, MemorySegment> data = new HashMap<>();
            for (GgufTensorInfo t : in.tensorInfos()) {
                specs.add(new GgufWriter.TensorSpec(t.name(), t.type(), t.shape()));
                data.put(t.name(), in.tensor(t.name()).data());
                if (t.name().startsWith("blk.3.")) {
                    String name = "blk.4." + t.name().substring("blk.3.".length());
                    specs.add(new GgufWriter.TensorSpec(name, t.type(), t.shape()));
                    data.put(name, in.tensor(t.name()).data());
                }
            }
            long e = 64;
            Map<String, long[]> nextn = new java.util.LinkedHashMap<>();
            nextn.put("blk.4.nextn.eh_proj.weight", new long[] {2 * e, e});
            nextn.put("blk.4.nextn.enorm.weight", new long[] {e});
            nextn.put("blk.4.nextn.hnorm.weight", new long[] {e});
            nextn.put("blk.4.nextn.shared_head_norm.weight", new long[] {e});
            if (extra != null) {
                nextn.put(extra, new long[] {e});
            }
            nextn.forEach((name, shape) -> {
                specs.add(new GgufWriter.TensorSpec(name, io.jseek.core.tensor.GgmlType.F32, shape));
                data.put(name, arena.allocate(java.util.Arrays.stream(shape).reduce(1, Math::multiplyExact) * Float.BYTES));
            });
            try (GgufWriter w = new GgufWriter(out, meta, specs)) {
                for (GgufWriter.TensorSpec s : specs) {
                    w.writeTensor(s.name(), data.get(s.name()));
                }
            }
        }
    }

    private static float[][] logits(Path file) throws IOException {
        try (GgufFile f = GgufFile.open(file)) {
            Model m = Model.load(f, POOL);
            return m.forward(m.newSession(tokens.length), tokens, true);
        }
    }

    private static void changedFrom(int first, float[][] changed, String what) {
        changedFrom(first, original, changed, what);
    }

    /** Rows before {@code first} identical, the row at {@code first} and every later one different. */
    private static void changedFrom(int first, float[][] base, float[][] changed, String what) {
        for (int p = 0; p < tokens.length; p++) {
            double d = ReferenceLogitsTest.maxAbsDiff(base[p], changed[p]);
            if (p < first) {
                assertEquals(0, d, what + ": position " + p + " changed");
            } else if (p == first) {
                assertTrue(d > 1e-3, what + ": position " + p + " did not change (" + d + ")");
            }
        }
    }

    /**
     * ds4-f32 with metadata keys set, the tensors whose names start with {@code drop} left out (when not null), and
     * the named tensors' data edited (I32 tables: the edit gets a writable copy).
     */
    private Path rewrite(Map<String, GgufValue> keys, String drop, Map<String, Consumer<MemorySegment>> edits)
            throws IOException {
        Path out = tmp.resolve("variant-" + System.nanoTime() + ".gguf");
        try (GgufFile in = GgufFile.open(MODEL); Arena arena = Arena.ofConfined()) {
            Map<String, GgufValue> meta = new HashMap<>(in.metadata().asMap());
            meta.putAll(keys);
            List<GgufWriter.TensorSpec> specs = new ArrayList<>();
            for (GgufTensorInfo t : in.tensorInfos()) {
                if (drop == null || !t.name().startsWith(drop)) {
                    specs.add(new GgufWriter.TensorSpec(t.name(), t.type(), t.shape()));
                }
            }
            try (GgufWriter w = new GgufWriter(out, meta, specs)) {
                for (GgufWriter.TensorSpec s : specs) {
                    MemorySegment data = in.tensor(s.name()).data();
                    if (edits != null && edits.containsKey(s.name())) {
                        MemorySegment copy = arena.allocate(data.byteSize());
                        copy.copyFrom(data);
                        edits.get(s.name()).accept(copy);
                        data = copy;
                    }
                    w.writeTensor(s.name(), data);
                }
            }
        }
        return out;
    }
}
