package io.jseek.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static final float[] LOGITS = {1.0f, 3.0f, 2.0f, 0.5f, 3.0f, -1.0f};

    private static SamplerConfig config(float temp, int topK, float topP, float minP) {
        return new SamplerConfig(temp, topK, topP, minP, 1, 0, 0, 64, 7);
    }

    @Test
    void greedyTakesTheLowestIdAmongEqualMaxima() {
        assertEquals(1, new Sampler(SamplerConfig.greedy()).sample(LOGITS, new int[0], 0));
    }

    /** At temperature 1 with no filters, draws follow softmax(logits) (checked against the closed form). */
    @Test
    void drawsFollowTheSoftmaxDistribution() {
        Sampler s = new Sampler(config(1, 0, 1, 0));
        int n = 200_000;
        int[] counts = new int[LOGITS.length];
        for (int i = 0; i < n; i++) {
            counts[s.sample(LOGITS, new int[0], 0)]++;
        }
        double z = 0;
        for (float l : LOGITS) {
            z += Math.exp(l);
        }
        for (int i = 0; i < LOGITS.length; i++) {
            double p = Math.exp(LOGITS[i]) / z;
            double sd = Math.sqrt(n * p * (1 - p));
            assertTrue(Math.abs(counts[i] - n * p) < 5 * sd + 1, "token " + i + ": " + counts[i] + " vs " + n * p);
        }
    }

    @Test
    void filtersKeepOnlyWhatTheyShould() {
        for (int i = 0; i < 2000; i++) {
            int k2 = new Sampler(new SamplerConfig(1, 2, 1, 0, 1, 0, 0, 64, i)).sample(LOGITS, new int[0], 0);
            assertTrue(k2 == 1 || k2 == 4, "top-k 2 drew " + k2);
            // softmax mass of {1, 4} is 0.67 < 0.7, so top-p 0.7 also keeps token 2.
            int p = new Sampler(new SamplerConfig(1, 0, 0.7f, 0, 1, 0, 0, 64, i)).sample(LOGITS, new int[0], 0);
            assertTrue(p == 1 || p == 4 || p == 2, "top-p drew " + p);
            // min-p 0.5: keep tokens with p >= 0.5 p_max, i.e. logit >= 3 - ln 2.
            int mp = new Sampler(new SamplerConfig(1, 0, 1, 0.5f, 1, 0, 0, 64, i)).sample(LOGITS, new int[0], 0);
            assertTrue(mp == 1 || mp == 4, "min-p drew " + mp);
        }
    }

    @Test
    void theSameSeedGivesTheSameDraws() {
        Sampler a = new Sampler(config(1.5f, 0, 1, 0));
        Sampler b = new Sampler(config(1.5f, 0, 1, 0));
        StringBuilder sa = new StringBuilder();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 100; i++) {
            sa.append(a.sample(LOGITS, new int[0], 0));
            sb.append(b.sample(LOGITS, new int[0], 0));
        }
        assertEquals(sa.toString(), sb.toString());
        Sampler c = new Sampler(new SamplerConfig(1.5f, 0, 1, 0, 1, 0, 0, 64, 8));
        StringBuilder sc = new StringBuilder();
        for (int i = 0; i < 100; i++) {
            sc.append(c.sample(LOGITS, new int[0], 0));
        }
        assertNotEquals(sa.toString(), sc.toString());
    }

    @Test
    void repetitionPenaltyDemotesRecentTokens() {
        // token 1 and 4 tie at 3.0; penalising 1 (3.0 / 2 = 1.5) leaves 4 the greedy choice.
        Sampler s = new Sampler(new SamplerConfig(0, 0, 1, 0, 2.0f, 0, 0, 64, 0));
        assertEquals(4, s.sample(LOGITS, new int[] {1}, 1));
        // presence penalty 2 on token 4 as well: 3 - 2 = 1 < 2 (token 2).
        Sampler p = new Sampler(new SamplerConfig(0, 0, 1, 0, 1, 2, 0, 64, 0));
        assertEquals(2, p.sample(LOGITS, new int[] {1, 4}, 2));
    }

    @Test
    void logitBiasShiftsOrBansTokens() {
        var ban = new SamplerConfig(0, 0, 1, 0, 1, 0, 0, 64, 0, java.util.Map.of(1, Float.NEGATIVE_INFINITY, 4, Float.NEGATIVE_INFINITY));
        assertEquals(2, new Sampler(ban).sample(LOGITS, new int[0], 0));
        var push = new SamplerConfig(0, 0, 1, 0, 1, 0, 0, 64, 0, java.util.Map.of(5, 4.5f));
        assertEquals(5, new Sampler(push).sample(LOGITS, new int[0], 0));
    }

    @Test
    void stopStringsAreCutEvenWhenSplitAcrossTokens() {
        Generator.StopFilter f = new Generator.StopFilter(List.of("END"));
        assertEquals("hello ", f.push("hello E"));
        assertEquals("", f.push("N"));
        assertEquals("", f.push("D and more"));
        assertTrue(f.stopped());
        Generator.StopFilter g = new Generator.StopFilter(List.of("END"));
        assertEquals("", g.push("E"));
        assertEquals("E", g.finish());
    }
}
