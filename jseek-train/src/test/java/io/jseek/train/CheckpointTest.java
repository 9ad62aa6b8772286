package io.jseek.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run interrupted by a checkpoint and resumed ends where the uninterrupted run ends: the same data, the
 * same optimizer state. (To 1e-12, not bit for bit: the Vector API's lane reductions sum in a different
 * order before and after the JIT compiles them.)
 */
class CheckpointTest {
    @TempDir
    Path tmp;

    private static final AdamW.Settings OPT = new AdamW.Settings(3e-3, 0.9, 0.95, 1e-8, 0.01, 1.0, 2, 10, 0.1);
    private static final AdditionTask TASK = new AdditionTask(2, 3, 2, 0.1);

    @Test
    void resumeIsExact() throws Exception {
        CharVocabulary v = new CharVocabulary();
        var c = TrainableDeepSeekTest.tiny(16);
        TrainableDeepSeek straight = new TrainableDeepSeek(c, 4);
        Pretrainer a = new Pretrainer(straight, v, TASK, OPT, 4, 9);
        for (int i = 0; i < 6; i++) {
            a.step();
        }

        TrainableDeepSeek first = new TrainableDeepSeek(c, 4);
        Pretrainer b = new Pretrainer(first, v, TASK, OPT, 4, 9);
        for (int i = 0; i < 3; i++) {
            b.step();
        }
        Path file = tmp.resolve("run.ckpt");
        Checkpoint.save(file, first, b.optimizer(), new Checkpoint.Info("pretrain", 3, Map.of("tokens", 123L)));
        assertEquals(false, Files.exists(tmp.resolve("run.ckpt.tmp")));

        Checkpoint.Loaded loaded = Checkpoint.load(file);
        assertEquals(3, loaded.info().step());
        assertEquals(123L, loaded.info().counters().get("tokens"));
        Pretrainer resumed = new Pretrainer(loaded.model(), v, TASK, OPT, 4, 9);
        resumed.optimizer().restore(loaded.optimizer());
        for (int i = 0; i < 3; i++) {
            resumed.step();
        }
        for (int p = 0; p < straight.parameters().size(); p++) {
            assertArrayEquals(straight.parameters().get(p).v, loaded.model().parameters().get(p).v, 1e-12,
                    straight.parameters().get(p).name);
        }
        for (int l : straight.moeLayers()) {
            assertArrayEquals(straight.selectionBias(l), loaded.model().selectionBias(l), 1e-12);
        }
    }

    /**
     * A run killed while writing a checkpoint leaves at most a partial {@code .tmp} beside the last complete
     * checkpoint (the rename is the only step that replaces it): that checkpoint still loads, and the next
     * save writes over the leftover.
     */
    @Test
    void aKillDuringASaveLeavesThePreviousCheckpoint() throws Exception {
        TrainableDeepSeek m = new TrainableDeepSeek(TrainableDeepSeekTest.tiny(16), 1);
        Path file = tmp.resolve("run.ckpt");
        Checkpoint.save(file, m, null, new Checkpoint.Info("pretrain", 100, Map.of()));
        byte[] complete = Files.readAllBytes(file);
        // The state a kill mid-write leaves: half a new checkpoint in the temporary file.
        Files.write(tmp.resolve("run.ckpt.tmp"), java.util.Arrays.copyOf(complete, complete.length / 2));
        assertEquals(100, Checkpoint.load(file).info().step());
        Checkpoint.save(file, m, null, new Checkpoint.Info("pretrain", 200, Map.of()));
        assertEquals(200, Checkpoint.load(file).info().step());
        assertEquals(false, Files.exists(tmp.resolve("run.ckpt.tmp")));
    }

    @Test
    void aTruncatedOrForeignFileIsAClearError() throws Exception {
        TrainableDeepSeek m = new TrainableDeepSeek(TrainableDeepSeekTest.tiny(16), 1);
        Path file = tmp.resolve("m.ckpt");
        Checkpoint.save(file, m, null, new Checkpoint.Info("pretrain", 0, Map.of()));
        byte[] all = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(all, all.length / 2));
        var e = assertThrows(io.jseek.core.JseekException.class, () -> Checkpoint.load(file));
        assertTrue(e.getMessage().startsWith(file.toString()) && e.getMessage().contains("truncated"), e.getMessage());
        Files.writeString(file, "hello world, not a checkpoint");
        assertThrows(io.jseek.core.JseekException.class, () -> Checkpoint.load(file));
    }

    /** Any corruption of a checkpoint (a flipped bit anywhere, a cut) is refused by its checksum, not trained on. */
    @Test
    void aCorruptedCheckpointIsRefused() throws Exception {
        TrainableDeepSeek m = new TrainableDeepSeek(TrainableDeepSeekTest.tiny(16), 1);
        Path file = tmp.resolve("run.ckpt");
        Checkpoint.save(file, m, null, new Checkpoint.Info("pretrain", 7, Map.of()));
        byte[] good = Files.readAllBytes(file);
        java.util.Random r = new java.util.Random(5);
        for (int i = 0; i < 40; i++) {
            byte[] bad = good.clone();
            int at = 8 + r.nextInt(good.length - 8);
            bad[at] ^= (byte) (1 << r.nextInt(8));
            Path p = tmp.resolve("bad.ckpt");
            Files.write(p, bad);
            var e = org.junit.jupiter.api.Assertions.assertThrows(io.jseek.core.JseekException.class, () -> Checkpoint.load(p));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("checksum"), "byte " + at + ": " + e.getMessage());
        }
        Path cut = tmp.resolve("cut.ckpt");
        Files.write(cut, java.util.Arrays.copyOf(good, good.length - 100));
        org.junit.jupiter.api.Assertions.assertThrows(io.jseek.core.JseekException.class, () -> Checkpoint.load(cut));
        assertEquals(7, Checkpoint.load(file).info().step());
    }
}
