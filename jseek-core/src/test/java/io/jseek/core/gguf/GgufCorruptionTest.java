package io.jseek.core.gguf;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.jseek.core.JseekException;
import io.jseek.core.TestData;
import io.jseek.core.tensor.Tensor;
import io.jseek.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Corrupt files of every kind end in jseek's own exception with a message: never another exception type,
 * a hang, or an OutOfMemoryError (the suite runs with a 2 GB heap, far below what a trusted "huge length"
 * would allocate).
 */
class GgufCorruptionTest {
    private static final List<String> SEEDS = List.of("r1qwen-q8_0.gguf", "ds3-q4_0.gguf", "quants/quant-Q6_K.gguf",
            "quants/quant-Q8_0.gguf");
    private static final int VARIANTS_PER_FILE = 3000;

    @TempDir
    Path tmp;

    private enum Outcome { OPENED, REJECTED }

    /** Opens the file and uses everything in it: metadata, tokenizer (if any), every tensor's data. */
    private static Outcome exercise(Path path) {
        try (GgufFile f = GgufFile.open(path)) {
            if (f.metadata().has("tokenizer.ggml.model")) {
                Tokenizer t = Tokenizer.fromGguf(f.metadata());
                t.encode("Hello, <think> world 123", true, true);
            }
            for (Tensor t : f.tensors()) {
                if (t.elementCount() <= 1 << 22) {
                    t.dequantize();
                }
            }
            return Outcome.OPENED;
        } catch (JseekException e) {
            assertFalse(e.getMessage() == null || e.getMessage().isBlank(), "exception without a message");
            assertTrue(e.getMessage().contains(path.getFileName().toString()), "message does not name the file: " + e.getMessage());
            return Outcome.REJECTED;
        }
    }

    @Test
    void tenThousandCorruptVariantsAllEndInJseeksOwnException() throws IOException {
        Random rnd = new Random(20261123);
        int[] rejected = new int[1];
        int[] total = new int[1];
        assertTimeoutPreemptively(Duration.ofMinutes(5), () -> {
            for (String seed : SEEDS) {
                byte[] original = Files.readAllBytes(TestData.file(seed));
                int headerEnd = headerLength(original);
                for (int v = 0; v < VARIANTS_PER_FILE; v++) {
                    byte[] b = mutate(original, headerEnd, rnd, v);
                    Path p = tmp.resolve("v" + (v % 7) + ".gguf");
                    Files.write(p, b);
                    Outcome o;
                    try {
                        o = exercise(p);
                    } catch (Throwable t) {
                        fail(seed + " variant " + v + " threw " + t, t);
                        return;
                    }
                    total[0]++;
                    if (o == Outcome.REJECTED) {
                        rejected[0]++;
                    }
                }
            }
        });
        assertTrue(total[0] >= 10_000, "variants: " + total[0]);
        // Most mutations hit the header and must be caught; flips in tensor data may legitimately still load.
        assertTrue(rejected[0] > total[0] / 2, "only " + rejected[0] + " of " + total[0] + " variants were rejected");
    }

    /** Byte length of the header (up to the aligned data start), found by the reader itself. */
    private static int headerLength(byte[] file) throws IOException {
        Path p = Files.createTempFile("gguf", ".gguf");
        try {
            Files.write(p, file);
            try (GgufFile f = GgufFile.open(p)) {
                long minOffset = f.tensorInfos().stream().mapToLong(GgufTensorInfo::offset).min().orElse(0);
                long dataBytes = f.tensorInfos().stream().mapToLong(t -> t.offset() + t.byteSize()).max().orElse(0);
                return (int) (file.length - dataBytes + minOffset);
            }
        } finally {
            Files.delete(p);
        }
    }

    private static byte[] mutate(byte[] original, int headerEnd, Random rnd, int variant) {
        byte[] b = original.clone();
        switch (variant % 5) {
            case 0 -> { // truncation, mostly inside the header
                int len = rnd.nextInt(4) == 0 ? rnd.nextInt(original.length) : rnd.nextInt(headerEnd + 64);
                return java.util.Arrays.copyOf(b, Math.min(len, original.length - 1));
            }
            case 1, 2 -> { // random byte flips in the header
                int flips = 1 + rnd.nextInt(4);
                for (int i = 0; i < flips; i++) {
                    int at = rnd.nextInt(headerEnd);
                    b[at] ^= (byte) (1 << rnd.nextInt(8));
                }
            }
            case 3 -> { // a huge or negative 64-bit length or count somewhere in the header
                long[] huge = {-1L, Long.MAX_VALUE, 1L << 40, 1L << 31, 0x7FFFFFFFL, (long) original.length, 1L << 62};
                int at = rnd.nextInt(Math.max(1, headerEnd - 8));
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, huge[rnd.nextInt(huge.length)]);
            }
            default -> { // a huge 32-bit value (type id, dimension count, array type)
                int at = rnd.nextInt(Math.max(1, headerEnd - 4));
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(at, rnd.nextBoolean() ? -1 : rnd.nextInt(1 << 16));
            }
        }
        return b;
    }

    private GgufException rejected(byte[] bytes) throws IOException {
        Path p = tmp.resolve("bad.gguf");
        Files.write(p, bytes);
        return assertThrows(GgufException.class, () -> GgufFile.open(p).close());
    }

    private static byte[] header(int version, long nTensors, long nKv) {
        return ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN).putInt(0x46554747).putInt(version)
                .putLong(nTensors).putLong(nKv).array();
    }

    @Test
    void specificDefectsGetSpecificMessages() throws IOException {
        assertTrue(rejected(new byte[0]).getMessage().contains("bad magic"));
        assertTrue(rejected("GGML-not-gguf-at-all-really".getBytes()).getMessage().contains("bad magic"));
        assertTrue(rejected(header(1, 0, 0)).getMessage().contains("version 1"));
        assertTrue(rejected(header(7, 0, 0)).getMessage().contains("unsupported GGUF version 7"));
        assertTrue(rejected(header(3, 1L << 40, 0)).getMessage().contains("tensor count"));
        assertTrue(rejected(java.util.Arrays.copyOf(header(3, 0, 1), 20)).getMessage().contains("truncated"));

        byte[] good = Files.readAllBytes(TestData.file("quants/quant-Q8_0.gguf"));
        assertTrue(rejected(java.util.Arrays.copyOf(good, good.length - 40)).getMessage().contains("truncated"));
    }

    @Test
    void tensorDefectsAreNamed() throws IOException {
        // Build small files with the writer, then corrupt one field of the tensor info.
        Path p = tmp.resolve("t.gguf");
        var specs = List.of(new GgufWriter.TensorSpec("a.weight", io.jseek.core.tensor.GgmlType.Q8_0, new long[] {32, 2}),
                new GgufWriter.TensorSpec("b.weight", io.jseek.core.tensor.GgmlType.F32, new long[] {8}));
        try (var arena = java.lang.foreign.Arena.ofConfined(); GgufWriter w = new GgufWriter(p, java.util.Map.of(), specs)) {
            w.writeTensor("a.weight", arena.allocate(68));
            w.writeTensor("b.weight", arena.allocate(32));
        }
        byte[] good = Files.readAllBytes(p);
        int a = indexOf(good, "a.weight".getBytes()) + 8; // n_dims follows the name
        int b = indexOf(good, "b.weight".getBytes()) + 8;

        byte[] dims = good.clone();
        ByteBuffer.wrap(dims).order(ByteOrder.LITTLE_ENDIAN).putInt(a, 5);
        assertTrue(rejected(dims).getMessage().contains("a.weight has 5 dimensions"));

        byte[] rows = good.clone();
        ByteBuffer.wrap(rows).order(ByteOrder.LITTLE_ENDIAN).putLong(a + 4, 33);
        assertTrue(rejected(rows).getMessage().contains("not a multiple of the Q8_0 block size"));

        byte[] overflow = good.clone();
        ByteBuffer.wrap(overflow).order(ByteOrder.LITTLE_ENDIAN).putLong(a + 4, 1L << 40).putLong(a + 12, 1L << 40);
        assertTrue(rejected(overflow).getMessage().contains("overflows"));

        byte[] type = good.clone();
        ByteBuffer.wrap(type).order(ByteOrder.LITTLE_ENDIAN).putInt(a + 4 + 16, 99);
        assertTrue(rejected(type).getMessage().contains("unknown ggml type id 99"));

        byte[] unsupported = good.clone();
        ByteBuffer.wrap(unsupported).order(ByteOrder.LITTLE_ENDIAN).putInt(a + 4 + 16, 15);
        assertTrue(rejected(unsupported).getMessage().contains("Q8_K"));

        // Offsets as llama.cpp requires: each tensor right after the one before (padded to the alignment).
        byte[] overlap = good.clone();
        ByteBuffer.wrap(overlap).order(ByteOrder.LITTLE_ENDIAN).putLong(b + 4 + 8 + 4, 64);
        assertTrue(rejected(overlap).getMessage().contains("b.weight has data offset 64, expected 96"));

        byte[] beyond = good.clone();
        ByteBuffer.wrap(beyond).order(ByteOrder.LITTLE_ENDIAN).putLong(b + 4 + 8 + 4, 1L << 20);
        assertTrue(rejected(beyond).getMessage().contains("expected 96"));

        // A type changed to a smaller one leaves a gap: refused, not loaded with the next tensor misplaced.
        byte[] gap = good.clone();
        ByteBuffer.wrap(gap).order(ByteOrder.LITTLE_ENDIAN).putInt(a + 4 + 16, 2);  // Q4_0: 36 bytes instead of 68
        assertTrue(rejected(gap).getMessage().contains("b.weight has data offset 96, expected 64"), rejected(gap).getMessage());

        // Names reach messages escaped (no terminal escapes from a file).
        byte[] escape = good.clone();
        escape[a - 8] = 0x1B;
        ByteBuffer.wrap(escape).order(ByteOrder.LITTLE_ENDIAN).putInt(a + 4 + 16, 99);
        String m = rejected(escape).getMessage();
        assertTrue(!m.contains("\u001b") && m.contains("\\x1b"), m);

        byte[] duplicate = good.clone();
        System.arraycopy("a".getBytes(), 0, duplicate, b - 8, 1);
        assertTrue(rejected(duplicate).getMessage().contains("duplicate tensor name a.weight"));
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new IllegalArgumentException("not found");
    }
}
