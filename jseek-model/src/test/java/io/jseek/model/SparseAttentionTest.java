package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.jseek.core.gguf.GgufFile;
import io.jseek.core.kernel.WorkerPool;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * V3.2's sparse attention beyond what {@link ReferenceLogitsTest} checks against llama.cpp (F32 cache): an
 * F16 cache against llama.cpp, that top-k really limits attention, that a top-k no sequence reaches is dense
 * MLA, and the partial top-k selection. "The same" allows {@value #ULPS}: the Vector API's float reductions
 * sum lanes in another order once C2 compiles them, so even one model's first and later runs can differ in
 * the last bit.
 */
class SparseAttentionTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));
    private static final WorkerPool POOL = WorkerPool.ofAvailableProcessors();
    private static final String MODEL = "ds32-f32";
    private static final double ULPS = 1e-5;

    @AfterAll
    static void closePool() {
        POOL.close();
    }

    /** Every reference sequence: the prompt as one batch, then its greedy tokens one at a time. */
    private static List<float[][]> run(Model m, ReferenceLogitsTest.Case c, CacheType cache) {
        return run(m, c, cache, null, null);
    }

    /** As {@link #run(Model, ReferenceLogitsTest.Case, CacheType)}; indexer choices forced or recorded per sequence. */
    private static List<float[][]> run(Model m, ReferenceLogitsTest.Case c, CacheType cache, List<int[][][]> forced,
                                       List<int[][][]> record) {
        List<float[][]> out = new ArrayList<>();
        for (JsonNode seq : c.json().get("sequences")) {
            int[] tokens = c.allTokens(seq);
            int prompt = seq.get("tokens").size();
            Session s = m.newSession(tokens.length, cache);
            s.forceRouting(ReferenceLogitsTest.forcedRouting(seq, tokens.length));
            s.forceSelections(forced == null ? null : forced.get(out.size()));
            if (record != null) {
                s.recordSelections();
                record.add(s.selections());
            }
            float[][] got = new float[tokens.length][];
            System.arraycopy(m.forward(s, Arrays.copyOf(tokens, prompt), true), 0, got, 0, prompt);
            for (int i = prompt; i < tokens.length; i++) {
                got[i] = m.forward(s, new int[] {tokens[i]}, false)[0].clone();
            }
            out.add(got);
        }
        return out;
    }

    private static Model load(GgufFile f, ModelConfig.Indexer indexer) {
        ModelConfig c = ModelConfig.fromGguf(f.metadata()).withIndexer(indexer);
        return new DeepSeek2Model(c, new Weights(f, POOL, true), POOL, DeepSeek2Model.AttentionForm.CHEAPER);
    }

    /**
     * An F16 cache (the indexer's keys too): every position within the F16 tolerance of llama.cpp's (F32-cache)
     * logits. The indexer's choices are those of the F32 cache's run: F16 keys tip some of its near-ties
     * (relative gaps down to 1.8e-4 here), and llama.cpp's F16 cache would tip others (it rounds keys after a
     * Hadamard rotation), so unforced the comparison would measure near-ties, not the cache.
     */
    @Test
    void f16CacheMatchesLlamaCpp() throws IOException {
        ReferenceLogitsTest.Case c = ReferenceLogitsTest.Case.of(MODEL);
        try (GgufFile f = GgufFile.open(DATA.resolve(MODEL + ".gguf"))) {
            Model m = Model.load(f, POOL);
            List<int[][][]> chosen = new ArrayList<>();
            run(m, c, CacheType.F32, null, chosen);
            List<float[][]> got = run(m, c, CacheType.F16, chosen, null);
            int k = 0;
            double worst = 0;
            for (JsonNode seq : c.json().get("sequences")) {
                float[][] ref = c.rows(seq);
                float[][] mine = got.get(k++);
                for (int i = 0; i < ref.length; i++) {
                    worst = Math.max(worst, ReferenceLogitsTest.maxAbsDiff(mine[i], ref[i]));
                }
            }
            System.out.printf("%s, F16 cache: worst |diff| against llama.cpp %.3g%n", MODEL, worst);
            assertTrue(worst <= 1e-2, "F16 cache differs from llama.cpp by " + worst);
        }
    }

    /**
     * Top-k is real: with the model's top-k (8) against twice it, positions that see at most 8 are the same,
     * positions that see more than 8 move (attention there now reaches positions it skipped).
     */
    @Test
    void changingTopKChangesTheLogitsPastIt() throws IOException {
        ReferenceLogitsTest.Case c = ReferenceLogitsTest.Case.of(MODEL);
        try (GgufFile f = GgufFile.open(DATA.resolve(MODEL + ".gguf"))) {
            ModelConfig.Indexer ix = ModelConfig.fromGguf(f.metadata()).indexer();
            List<float[][]> a = run(load(f, ix), c, CacheType.F32);
            List<float[][]> b = run(load(f, new ModelConfig.Indexer(ix.headCount(), ix.keyLength(), 2 * ix.topK())), c,
                    CacheType.F32);
            for (int s = 0; s < a.size(); s++) {
                double past = 0;
                for (int i = 0; i < a.get(s).length; i++) {
                    if (i < ix.topK()) {
                        assertArrayEquals(a.get(s)[i], b.get(s)[i], (float) ULPS, "position " + i + " sees at most top-k");
                    } else {
                        past = Math.max(past, ReferenceLogitsTest.maxAbsDiff(a.get(s)[i], b.get(s)[i]));
                    }
                }
                assertTrue(past > 1e-2, "sequence " + s + ": past top-k the logits moved only " + past);
            }
        }
    }

    /** A top-k above every sequence's length is dense MLA exactly (the model without its indexer). */
    @Test
    void topKBeyondTheSequenceIsDenseMla() throws IOException {
        ReferenceLogitsTest.Case c = ReferenceLogitsTest.Case.of(MODEL);
        try (GgufFile f = GgufFile.open(DATA.resolve(MODEL + ".gguf"))) {
            ModelConfig.Indexer ix = ModelConfig.fromGguf(f.metadata()).indexer();
            List<float[][]> sparse = run(load(f, new ModelConfig.Indexer(ix.headCount(), ix.keyLength(), 4096)), c,
                    CacheType.F32);
            List<float[][]> dense = run(load(f, null), c, CacheType.F32);
            for (int s = 0; s < sparse.size(); s++) {
                for (int i = 0; i < sparse.get(s).length; i++) {
                    assertArrayEquals(dense.get(s)[i], sparse.get(s)[i], (float) ULPS, "sequence " + s + " position " + i);
                }
            }
        }
    }

    /** The recorded choices are top-k sets of the positions each token sees, and forcing them reproduces the run. */
    @Test
    void selectionsAreRecordedAndCanBeForced() throws IOException {
        ReferenceLogitsTest.Case c = ReferenceLogitsTest.Case.of(MODEL);
        try (GgufFile f = GgufFile.open(DATA.resolve(MODEL + ".gguf"))) {
            Model m = Model.load(f, POOL);
            int k = m.config().indexer().topK();
            int[] tokens = c.allTokens(c.json().get("sequences").get(1));
            Session a = m.newSession(tokens.length);
            a.recordSelections();
            float[][] first = m.forward(a, tokens, true);
            for (int p = 0; p < tokens.length; p++) {
                if (p < k) {
                    assertEquals(null, a.selections()[p], "position " + p + " sees at most top-k");
                    continue;
                }
                for (int[] chosen : a.selections()[p]) {
                    assertEquals(k, chosen.length);
                    for (int j = 0; j < k; j++) {
                        assertTrue(chosen[j] <= p && (j == 0 || chosen[j] > chosen[j - 1]), "position " + p);
                    }
                }
            }
            Session b = m.newSession(tokens.length);
            b.forceSelections(a.selections());
            float[][] again = m.forward(b, tokens, true);
            for (int p = 0; p < tokens.length; p++) {
                assertArrayEquals(first[p], again[p], (float) ULPS);
            }
        }
    }

    /** The partial selection picks what a full sort picks, equal scores going to the earlier position. */
    @Test
    void topKIsTheFullSortsPrefix() {
        Random rnd = new Random(3);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + rnd.nextInt(300);
            int k = 1 + rnd.nextInt(n);
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = rnd.nextInt(4) == 0 ? 0 : rnd.nextInt(50) / 7f;
            }
            Integer[] order = new Integer[n];
            for (int i = 0; i < n; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (x, y) -> v[x] != v[y] ? Float.compare(v[y], v[x]) : Integer.compare(x, y));
            int[] expected = new int[k];
            for (int i = 0; i < k; i++) {
                expected[i] = order[i];
            }
            Arrays.sort(expected);
            int[] got = new int[k];
            io.jseek.core.kernel.TopK.select(v, n, k, got);
            Arrays.sort(got);
            assertArrayEquals(expected, got, "n " + n + " k " + k);
        }
    }
}
