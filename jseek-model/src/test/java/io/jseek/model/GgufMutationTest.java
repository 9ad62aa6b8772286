package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.JseekException;
import io.jseek.core.gguf.GgufFile;
import io.jseek.core.kernel.WorkerPool;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutated model files: bit flips, random bytes and integers anywhere in the header, truncations anywhere, and
 * targeted mutations of tensor types, shapes and offsets and of metadata values. Each must either fail with a clean
 * error (a JseekException, one line) or load and give logits identical, bit for bit, to the original's — never
 * another exception, an OutOfMemoryError, a hang, or a model that runs with other logits.
 *
 * <p>One exception to "identical": a mutation that only changes the value (or the key) of a model hyper-parameter
 * in the metadata (an epsilon, a RoPE base, a scaling factor) makes another valid model, which computes other numbers
 * by right; such files must still give finite-or-clean results. Every byte of the header is classified from the
 * original file's layout (parsed here, independently of the loader) to tell which mutations those are.
 *
 * <p>1,200 mutations a build; {@code -Djseek.mutations=13334} runs 40,002 (docs/gguf.md reports that pass).
 */
class GgufMutationTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));

    @TempDir
    Path tmp;

    /** What a header byte is part of. */
    enum Part { COUNTS, KEY, VALUE_TYPE, VALUE, TENSOR_NAME, TENSOR_NDIMS, TENSOR_DIMS, TENSOR_TYPE, TENSOR_OFFSET, PADDING }

    /** The original file's header, byte by byte. */
    static final class Layout {
        final Part[] part;
        final String[] key; // the metadata key a KEY/VALUE byte belongs to
        final List<int[]> tensorTypes = new ArrayList<>(); // offsets of each tensor's type field
        final List<int[]> tensorDims = new ArrayList<>();  // {offset of its first dim, ndims}
        final List<Integer> tensorOffsets = new ArrayList<>();
        final List<int[]> scalarValues = new ArrayList<>(); // {offset, size} of scalar metadata values
        final int end;

        Layout(byte[] b) {
            ByteBuffer in = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
            part = new Part[b.length];
            key = new String[b.length];
            in.position(8);
            long tensors = in.getLong();
            long kvs = in.getLong();
            Arrays.fill(part, 0, 24, Part.COUNTS);
            for (long k = 0; k < kvs; k++) {
                int start = in.position();
                String name = string(in);
                mark(start, in.position(), Part.KEY, name);
                int typeAt = in.position();
                int type = in.getInt();
                mark(typeAt, in.position(), Part.VALUE_TYPE, name);
                int valueAt = in.position();
                skipValue(in, type);
                mark(valueAt, in.position(), Part.VALUE, name);
                if (type != 8 && type != 9) {
                    scalarValues.add(new int[] {valueAt, in.position() - valueAt});
                }
            }
            for (long t = 0; t < tensors; t++) {
                int start = in.position();
                string(in);
                mark(start, in.position(), Part.TENSOR_NAME, null);
                int nd = in.position();
                int ndims = in.getInt();
                mark(nd, in.position(), Part.TENSOR_NDIMS, null);
                tensorDims.add(new int[] {in.position(), ndims});
                mark(in.position(), in.position() + 8 * ndims, Part.TENSOR_DIMS, null);
                in.position(in.position() + 8 * ndims);
                tensorTypes.add(new int[] {in.position()});
                mark(in.position(), in.position() + 4, Part.TENSOR_TYPE, null);
                in.position(in.position() + 4);
                tensorOffsets.add(in.position());
                mark(in.position(), in.position() + 8, Part.TENSOR_OFFSET, null);
                in.position(in.position() + 8);
            }
            end = in.position();
        }

        private void mark(int from, int to, Part p, String k) {
            Arrays.fill(part, from, to, p);
            Arrays.fill(key, from, to, k);
        }

        private static String string(ByteBuffer in) {
            int n = (int) in.getLong();
            byte[] s = new byte[n];
            in.get(s);
            return new String(s, StandardCharsets.UTF_8);
        }

        private static void skipValue(ByteBuffer in, int type) {
            switch (type) {
                case 0, 1, 7 -> in.position(in.position() + 1);
                case 2, 3 -> in.position(in.position() + 2);
                case 4, 5, 6 -> in.position(in.position() + 4);
                case 10, 11, 12 -> in.position(in.position() + 8);
                case 8 -> string(in);
                case 9 -> {
                    int element = in.getInt();
                    long n = in.getLong();
                    for (long i = 0; i < n; i++) {
                        skipValue(in, element);
                    }
                }
                default -> throw new IllegalStateException("type " + type);
            }
        }

        /**
         * Whether changing these bytes may legitimately make another valid model: each lies in the key or the value
         * of a hyper-parameter (not the tokenizer's, not general.*: those never change logits of given token ids).
         */
        boolean hyperParameterOnly(int[] touched) {
            for (int at : touched) {
                if (at >= end || part[at] == null) {
                    return false;
                }
                boolean hyper = (part[at] == Part.VALUE || part[at] == Part.KEY) && key[at] != null
                        && !key[at].startsWith("tokenizer.") && !key[at].startsWith("general.");
                if (!hyper) {
                    return false;
                }
            }
            return true;
        }
    }

    private record Original(String name, byte[] bytes, Layout layout, float[][] logits) {
    }

    @Test
    void mutatedFilesFailCleanlyOrComputeTheOriginalLogits() throws IOException {
        int perModel = Integer.getInteger("jseek.mutations", 400);
        List<String> problems = new ArrayList<>();
        int[] outcomes = new int[4]; // clean error, identical, another valid model, problem
        long t0 = System.nanoTime();
        for (String model : new String[] {"r1qwen-f32.gguf", "ds3-f32.gguf", "r1llama-f32.gguf"}) {
            byte[] good = Files.readAllBytes(DATA.resolve(model));
            Path orig = tmp.resolve("orig.gguf");
            Files.write(orig, good);
            Original o = new Original(model, good, new Layout(good), run(orig));
            SplittableRandom r = new SplittableRandom(model.hashCode());
            for (int i = 0; i < perModel; i++) {
                Mutation m = mutate(o, r);
                Path p = tmp.resolve("m.gguf");
                Files.write(p, m.bytes());
                String outcome = check(o, m, p, outcomes);
                if (outcome != null) {
                    String where = m.touched().length == 0 || m.touched()[0] >= o.layout().end ? ""
                            : " (" + o.layout().part[m.touched()[0]] + (o.layout().key[m.touched()[0]] != null
                                    ? " of " + o.layout().key[m.touched()[0]] : "") + ")";
                    problems.add(model + " " + m.what() + where + ": " + outcome);
                }
            }
        }
        System.err.printf("GgufMutationTest: %d mutations in %.1f s: %d clean errors, %d identical logits, "
                + "%d other valid models (hyper-parameter values), %d problems%n", 3 * perModel,
                (System.nanoTime() - t0) / 1e9, outcomes[0], outcomes[1], outcomes[2], outcomes[3]);
        assertTrue(problems.isEmpty(), problems.size() + " mutations went wrong:\n" + String.join("\n",
                problems.subList(0, Math.min(30, problems.size()))));
    }

    private record Mutation(byte[] bytes, String what, int[] touched, boolean truncated) {
    }

    private static Mutation mutate(Original o, SplittableRandom r) {
        byte[] good = o.bytes();
        Layout l = o.layout();
        byte[] bad = good.clone();
        ByteBuffer w = ByteBuffer.wrap(bad).order(ByteOrder.LITTLE_ENDIAN);
        switch (r.nextInt(7)) {
            case 0 -> {
                int at = r.nextInt(l.end);
                bad[at] ^= (byte) (1 << r.nextInt(8));
                return new Mutation(bad, "bit flip at " + at, new int[] {at}, false);
            }
            case 1 -> {
                int at = r.nextInt(Math.max(1, l.end - 4));
                int v = switch (r.nextInt(4)) {
                    case 0 -> Integer.MAX_VALUE;
                    case 1 -> -1;
                    case 2 -> r.nextInt(1 << 20);
                    default -> 0;
                };
                w.putInt(at, v);
                return new Mutation(bad, "int " + v + " at " + at, new int[] {at, at + 1, at + 2, at + 3}, false);
            }
            case 2 -> {
                int at = r.nextInt(good.length);
                return new Mutation(Arrays.copyOf(good, at), "truncated at " + at, new int[0], true);
            }
            case 3 -> {
                int at = r.nextInt(l.end);
                bad[at] = (byte) r.nextInt(256);
                return new Mutation(bad, "byte at " + at, new int[] {at}, false);
            }
            case 4 -> {
                int at = l.tensorTypes.get(r.nextInt(l.tensorTypes.size()))[0];
                int type = r.nextInt(42);
                w.putInt(at, type);
                return new Mutation(bad, "tensor type " + type + " at " + at, new int[] {at}, false);
            }
            case 5 -> {
                int[] dims = l.tensorDims.get(r.nextInt(l.tensorDims.size()));
                int at = dims[0] + 8 * r.nextInt(Math.max(1, dims[1]));
                long old = w.getLong(at);
                long v = switch (r.nextInt(5)) {
                    case 0 -> old * 2;
                    case 1 -> old / 2;
                    case 2 -> old + 1;
                    case 3 -> 0;
                    default -> 1L << 40;
                };
                w.putLong(at, v);
                return new Mutation(bad, "tensor dim " + old + " → " + v + " at " + at, new int[] {at}, false);
            }
            default -> {
                if (r.nextBoolean()) {
                    int at = l.tensorOffsets.get(r.nextInt(l.tensorOffsets.size()));
                    long delta = new long[] {32, -32, 1, 1L << 32}[r.nextInt(4)];
                    w.putLong(at, w.getLong(at) + delta);
                    return new Mutation(bad, "tensor offset +" + delta + " at " + at, new int[] {at}, false);
                }
                int[] v = l.scalarValues.get(r.nextInt(l.scalarValues.size()));
                for (int k = 0; k < v[1]; k++) {
                    bad[v[0] + k] = (byte) r.nextInt(256);
                }
                return new Mutation(bad, "metadata value " + l.key[v[0]] + " at " + v[0], new int[] {v[0]}, false);
            }
        }
    }

    /** Null when the outcome is allowed (and counted); else what went wrong. */
    private static String check(Original o, Mutation m, Path p, int[] outcomes) {
        float[][] logits;
        try {
            logits = run(p);
        } catch (JseekException e) {
            if (e.getMessage().contains("\n") || e.getMessage().length() > 1000) {
                outcomes[3]++;
                return "an unwieldy message: " + e.getMessage().substring(0, Math.min(300, e.getMessage().length()));
            }
            outcomes[0]++;
            return null;
        } catch (Throwable t) {
            outcomes[3]++;
            return t.getClass().getSimpleName() + ": " + t.getMessage();
        }
        if (same(logits, o.logits())) {
            outcomes[1]++;
            return null;
        }
        if (!m.truncated() && o.layout().hyperParameterOnly(m.touched())) {
            outcomes[2]++;
            return null;
        }
        outcomes[3]++;
        return "loaded and computed other logits (" + diff(logits, o.logits()) + ")";
    }

    /**
     * Equal to within 1e-5 of the largest logit: bit-for-bit equality is too strict within one JVM (the Vector API's
     * lane reductions sum in another order once the JIT compiles them); any mutation that changes what is computed
     * moves logits by far more.
     */
    private static boolean same(float[][] a, float[][] b) {
        if (a.length != b.length) {
            return false;
        }
        for (int i = 0; i < a.length; i++) {
            if (a[i].length != b[i].length) {
                return false;
            }
            float scale = 0;
            for (float v : b[i]) {
                scale = Math.max(scale, Math.abs(v));
            }
            for (int k = 0; k < a[i].length; k++) {
                if (!(Math.abs(a[i][k] - b[i][k]) <= 1e-5f * Math.max(1, scale))) {
                    return false;
                }
            }
        }
        return true;
    }

    private static String diff(float[][] a, float[][] b) {
        if (a.length != b.length || a[0].length != b[0].length) {
            return "shape " + a.length + "×" + a[0].length;
        }
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            for (int k = 0; k < a[i].length; k++) {
                worst = Math.max(worst, Math.abs(a[i][k] - b[i][k]));
            }
        }
        return "max difference " + worst;
    }

    private static float[][] run(Path p) throws IOException {
        try (GgufFile f = GgufFile.open(p); WorkerPool pool = new WorkerPool(1)) {
            Model m = Model.load(f, pool);
            Session s = m.newSession(8);
            return m.forward(s, new int[] {1, 2, 3}, true);
        }
    }
}
