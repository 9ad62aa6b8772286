package io.jseek.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.JseekException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Corrupted and forged checkpoints — cut anywhere, bits flipped, and config fields or values rewritten with the
 * checksum recomputed (what a checksum cannot catch) — are each refused with a one-line message naming the file,
 * before anything sized by them is allocated; none loads, none trains on with NaN.
 */
class CheckpointCorruptionTest {
    @TempDir
    Path tmp;

    /** Offsets of the version-4 header fields, from the layout Checkpoint.save writes. */
    private static final class Layout {
        final int ints;   // the 17 config ints
        final int floats; // eps, base, factor, yarn log multiplier
        final int moe;    // the MoE flag, then 8 ints, a float, a flag
        final int nextn;  // MTP blocks
        final int biasRate;

        Layout(byte[] b) {
            int nameLength = ((b[8] & 0xff) << 8) | (b[9] & 0xff);
            ints = 10 + nameLength;
            floats = ints + 17 * 4;
            moe = floats + 16;
            nextn = b[moe] != 0 ? moe + 1 + 32 + 4 + 1 : moe + 1;
            biasRate = nextn + 4;
        }
    }

    @Test
    void everyCorruptionIsRefusedWithAOneLineMessage() throws Exception {
        TrainableDeepSeek model = new TrainableDeepSeek(TrainableDeepSeekTest.tiny(16), 3);
        Pretrainer trainer = new Pretrainer(model, new CharVocabulary(), new AdditionTask(2, 3, 2, 0.1),
                new AdamW.Settings(3e-3, 0.9, 0.95, 1e-8, 0.01, 1.0, 2, 10, 0.1), 2, 1);
        trainer.step();
        Path good = tmp.resolve("good.ckpt");
        Checkpoint.save(good, model, trainer.optimizer(), new Checkpoint.Info("pretrain", 1, Map.of("tokens", 9L)));
        byte[] g = Files.readAllBytes(good);
        Layout at = new Layout(g);
        assertTrue(g[at.moe] != 0, "the test model has MoE layers");
        int moeInts = at.moe + 1;
        int firstValue = indexOf(g, "token_embd.weight") + "token_embd.weight".length() + 4;

        Map<String, UnaryOperator<byte[]>> cases = new LinkedHashMap<>();
        for (int cut : new int[] {0, 3, 8, 12, at.ints + 10, at.biasRate + 4, g.length / 2, g.length - 9, g.length - 8, g.length - 1}) {
            cases.put("cut at " + cut, b -> Arrays.copyOf(b, cut));
        }
        for (int flip : new int[] {9, at.ints + 1, at.floats + 2, firstValue + 3, g.length / 3, g.length - 20, g.length - 3}) {
            cases.put("bit flipped at " + flip, b -> {
                b[flip] ^= 0x10;
                return b;
            });
        }
        // Forged: the checksum recomputed, so only validation can catch them.
        String[] ints = {"block_count", "context", "embedding", "feed_forward", "heads", "heads_kv", "key_length",
            "value_length", "rope_dims", "vocabulary", "q_lora", "kv_lora", "qk_nope", "qk_rope", "v_head", "rope_type"};
        int[][] forgedInts = {{0, Integer.MAX_VALUE}, {0, 536_870_914}, {0, 0}, {0, -1}, {9, Integer.MAX_VALUE},
            {2, 1 << 30}, {4, 1 << 20}, {11, -5}, {15, 99}, {12, 1 << 28}, {3, Integer.MIN_VALUE}};
        for (int[] f : forgedInts) {
            cases.put("forged " + ints[f[0]] + " = " + f[1], b -> forge(putInt(b, at.ints + 4 * f[0], f[1])));
        }
        String[] moe = {"leading_dense", "experts", "experts_used", "shared", "expert_ff", "groups", "groups_used", "gating"};
        int[][] forgedMoe = {{1, 1 << 24}, {2, 1000}, {5, 1000}, {7, -1}, {4, Integer.MAX_VALUE}, {0, -3}};
        for (int[] f : forgedMoe) {
            cases.put("forged " + moe[f[0]] + " = " + f[1], b -> forge(putInt(b, moeInts + 4 * f[0], f[1])));
        }
        cases.put("forged MTP blocks = 7", b -> forge(putInt(b, at.nextn, 7)));
        cases.put("forged eps = NaN", b -> forge(putInt(b, at.floats, Float.floatToIntBits(Float.NaN))));
        cases.put("forged bias rate = NaN", b -> forge(putLong(b, at.biasRate, Double.doubleToLongBits(Double.NaN))));
        cases.put("forged weight = NaN", b -> forge(putLong(b, firstValue, Double.doubleToLongBits(Double.NaN))));
        cases.put("forged weight = ∞", b -> forge(putLong(b, firstValue + 8, Double.doubleToLongBits(Double.POSITIVE_INFINITY))));
        cases.put("forged array length", b -> forge(putInt(b, firstValue - 4, 1 << 30)));
        cases.put("forged parameter name", b -> {
            int i = indexOf(b, "token_embd.weight");
            b[i] = 'X';
            return forge(b);
        });
        // Version 2 has no checksum: a flipped exponent bit makes a weight infinite.
        cases.put("version 2, weight made infinite", b -> {
            // Version 2: no MTP block count, no checksum.
            byte[] v2 = new byte[b.length - 12];
            System.arraycopy(b, 0, v2, 0, at.nextn);
            System.arraycopy(b, at.nextn + 4, v2, at.nextn, b.length - 8 - at.nextn - 4);
            putInt(v2, 4, 2);
            int value = firstValue - 4;
            v2[value] = 0x7f;
            v2[value + 1] = (byte) 0xf0;
            for (int k = 2; k < 8; k++) {
                v2[value + k] = 0;
            }
            return v2;
        });
        cases.put("version 2 read as if it had a block count", b -> Arrays.copyOf(putInt(b, 4, 2), b.length - 8));
        cases.put("version 99", b -> forge(putInt(b, 4, 99)));
        cases.put("not a checkpoint", b -> "hello, world".getBytes(StandardCharsets.UTF_8));

        List<String> wrong = new ArrayList<>();
        for (var c : cases.entrySet()) {
            Path p = tmp.resolve("bad.ckpt");
            Files.write(p, c.getValue().apply(g.clone()));
            try {
                Checkpoint.load(p);
                wrong.add(c.getKey() + ": loaded");
            } catch (JseekException e) {
                if (!e.getMessage().startsWith(p.toString()) || e.getMessage().contains("\n")) {
                    wrong.add(c.getKey() + ": " + e.getMessage());
                }
            } catch (Throwable t) {
                wrong.add(c.getKey() + ": " + t);
            }
        }
        assertEquals(List.of(), wrong);
        assertTrue(cases.size() >= 31, cases.size() + " cases");
        assertEquals(1, Checkpoint.load(good).info().step());
    }

    private static byte[] putInt(byte[] b, int at, int v) {
        ByteBuffer.wrap(b).putInt(at, v);
        return b;
    }

    private static byte[] putLong(byte[] b, int at, long v) {
        ByteBuffer.wrap(b).putLong(at, v);
        return b;
    }

    /** Recomputes the version-3 checksum, as a forger would. */
    private static byte[] forge(byte[] b) {
        CRC32 crc = new CRC32();
        crc.update(b, 0, b.length - 8);
        return putLong(b, b.length - 8, crc.getValue());
    }

    private static int indexOf(byte[] b, String s) {
        byte[] t = s.getBytes(StandardCharsets.UTF_8);
        outer:
        for (int i = 0; i + t.length <= b.length; i++) {
            for (int k = 0; k < t.length; k++) {
                if (b[i + k] != t[k]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new IllegalArgumentException(s);
    }
}
