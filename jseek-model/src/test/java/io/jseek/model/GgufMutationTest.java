package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.JseekException;
import io.jseek.core.gguf.GgufFile;
import io.jseek.core.kernel.WorkerPool;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutated model files (bit flips, random integers and truncations in the header: metadata and tensor table) either
 * fail with a clean error (a JseekException, one line) or load and compute finite logits; never another exception,
 * an OutOfMemoryError or a hang. A bounded, seeded run of the fuzzing issue 16 asks for.
 */
class GgufMutationTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));

    @TempDir
    Path tmp;

    @Test
    void mutatedHeadersFailCleanlyOrRun() throws IOException {
        List<String> problems = new ArrayList<>();
        for (String model : new String[] {"r1qwen-f32.gguf", "ds3-f32.gguf", "r1llama-f32.gguf"}) {
            byte[] good = Files.readAllBytes(DATA.resolve(model));
            int header;
            try (GgufFile f = GgufFile.open(DATA.resolve(model))) {
                header = (int) Math.min(good.length, f.dataOffset());
            }
            SplittableRandom r = new SplittableRandom(model.hashCode());
            for (int i = 0; i < Integer.getInteger("jseek.mutations", 400); i++) {
                byte[] bad = good.clone();
                String what;
                switch (r.nextInt(4)) {
                    case 0 -> {
                        int at = r.nextInt(header);
                        bad[at] ^= (byte) (1 << r.nextInt(8));
                        what = "bit flip at " + at;
                    }
                    case 1 -> {
                        int at = r.nextInt(Math.max(1, header - 4)) & ~3;
                        int v = switch (r.nextInt(4)) {
                            case 0 -> Integer.MAX_VALUE;
                            case 1 -> -1;
                            case 2 -> r.nextInt(1 << 20);
                            default -> 0;
                        };
                        ByteBuffer.wrap(bad).order(ByteOrder.LITTLE_ENDIAN).putInt(at, v);
                        what = "int " + v + " at " + at;
                    }
                    case 2 -> {
                        int at = r.nextInt(good.length);
                        bad = java.util.Arrays.copyOf(good, at);
                        what = "truncated at " + at;
                    }
                    default -> {
                        int at = r.nextInt(header);
                        bad[at] = (byte) r.nextInt(256);
                        what = "byte at " + at;
                    }
                }
                Path p = tmp.resolve("m.gguf");
                Files.write(p, bad);
                if (Boolean.getBoolean("jseek.mutations.trace")) {
                    Runtime rt = Runtime.getRuntime();
                    System.err.println("MUT " + model + " " + i + " " + what + " used " + (rt.totalMemory() - rt.freeMemory()) / (1 << 20) + " MiB");
                }
                String outcome = attempt(p);
                if (outcome != null) {
                    problems.add(model + " " + what + ": " + outcome);
                }
            }
        }
        assertTrue(problems.isEmpty(), problems.size() + " mutations went wrong:\n" + String.join("\n",
                problems.subList(0, Math.min(30, problems.size()))));
    }

    /** Null when the file failed cleanly or ran with finite logits; else what went wrong. */
    private static String attempt(Path p) {
        try (GgufFile f = GgufFile.open(p); WorkerPool pool = new WorkerPool(1)) {
            Model m = Model.load(f, pool);
            Session s = m.newSession(8);
            float[][] logits = m.forward(s, new int[] {1, 2, 3}, true);
            for (float[] row : logits) {
                for (float v : row) {
                    if (!Float.isFinite(v) && !Float.isNaN(v)) {
                        return null;  // infinities from odd hyper-parameters: not a crash
                    }
                }
            }
            return null;
        } catch (JseekException e) {
            return e.getMessage().contains("\n") ? "a multi-line message: " + e.getMessage() : null;
        } catch (Throwable t) {
            return t.getClass().getSimpleName() + ": " + t.getMessage();
        }
    }
}
