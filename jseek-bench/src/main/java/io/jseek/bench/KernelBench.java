package io.jseek.bench;

import io.jseek.core.kernel.MatMul;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.GgmlType;
import io.jseek.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The matmul kernels in isolation, per weight type: what {@code jseek bench} measures end to end, minus
 * everything that is not a matmul. Run with {@code scripts/jmh} (arguments go to JMH, e.g.
 * {@code scripts/jmh KernelBench.decode -p type=Q4_0 -p threads=1}).
 *
 * <ul>
 *   <li>{@code decode}: one token times a weight matrix of {@value #DECODE_MIB} MiB (rows of
 *   {@value #COLS}), more than any cache holds, so it streams from memory as a decode step does.
 *   Weight bandwidth in GiB/s = ops/s × {@value #DECODE_MIB} / 1024.</li>
 *   <li>{@code prefill}: {@value #TOKENS} tokens times a {@value #COLS}×{@value #COLS} matrix (compute bound).
 *   GFLOP/s = ops/s × 2·{@value #COLS}²·{@value #TOKENS} / 1e9.</li>
 *   <li>{@code batch}: {@code batch} tokens (a continuous-batching step) times the decode matrix.
 *   Compare ops/s with {@code decode}'s: the ratio is the cost of the batch against one token.</li>
 *   <li>{@code dequantize}: decoding one weight row to floats.</li>
 *   <li>{@code fmaPeak}: the machine's float FMA ceiling for the preferred vector size, {@value #PEAK_CHAINS}
 *   independent FMA chains per thread held in registers, no memory traffic.
 *   GFLOP/s = ops/s × threads × {@value #PEAK_ITERATIONS}·{@value #PEAK_CHAINS}·2·lanes / 1e9 (lanes: 16 at
 *   512 bits). {@code prefill}'s GFLOP/s over this is the tile kernel's share of peak.</li>
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g"})
public class KernelBench {
    /** Row length: 1536 is R1-Distill-Qwen-1.5B's width, 8960 its FFN's (ffn_down's rows). */
    @Param({"1536"})
    public int cols;

    static final int COLS = 1536;
    static final int DECODE_MIB = 256;
    static final int TOKENS = 64;

    @Param({"Q8_0", "Q4_0", "Q4_K", "Q6_K", "F16"})
    public String type;

    @Param({"1", "2"})
    public int threads;

    /** Where the weights live: "memory" (off-heap) or "file" (written to a temp file and memory-mapped, as a model's are). */
    @Param({"memory", "file"})
    public String weights;

    /** Tokens of the {@code batch} benchmark. */
    @Param({"4", "8"})
    public int batch;

    private Arena arena;
    private float[][] xb;
    private float[][] yb;
    private WorkerPool pool;
    private Tensor big;
    private Tensor square;
    private float[][] x1;
    private float[][] y1;
    private float[][] xs;
    private float[][] ys;
    private float[] row;

    @Setup(Level.Trial)
    public void setup() {
        GgmlType t = GgmlType.valueOf(type);
        arena = Arena.ofShared();
        pool = new WorkerPool(threads);
        int bigRows = (int) ((long) DECODE_MIB << 20) / (int) t.bytesFor(cols);
        big = randomTensor(t, cols, bigRows, 1);
        square = randomTensor(t, COLS, COLS, 2);
        x1 = randomRows(1, cols, 3);
        y1 = new float[1][bigRows];
        xs = randomRows(TOKENS, COLS, 4);
        ys = new float[TOKENS][COLS];
        row = new float[COLS];
        xb = randomRows(batch, cols, 5);
        yb = new float[batch][bigRows];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    /**
     * Random normal weights, quantized row by row with jseek's own quantizer; for a type without one (the
     * i-quants, FP4, ternary), random blocks with the block scale — an f16 at the block's start — set to 1/1024
     * (speed does not depend on the values, but NaNs and subnormals from random scale bits might).
     */
    private Tensor randomTensor(GgmlType t, int cols, int rows, long seed) {
        long rowBytes = t.bytesFor(cols);
        MemorySegment data = arena.allocate(rowBytes * rows, 64);
        SplittableRandom random = new SplittableRandom(seed);
        float[] src = new float[cols];
        // A few hundred distinct rows repeated: quantizing 256 MiB of distinct rows would take minutes.
        int distinct = Math.min(rows, 256);
        for (int r = 0; r < distinct; r++) {
            if (t.canQuantize()) {
                for (int i = 0; i < cols; i++) {
                    src[i] = (float) (random.nextGaussian() * 0.02);
                }
                t.codec().quantize(src, 0, data, r * rowBytes, cols);
            } else {
                for (long b = r * rowBytes; b < (r + 1) * rowBytes; b++) {
                    data.set(ValueLayout.JAVA_BYTE, b, (byte) random.nextInt(256));
                }
                for (long b = r * rowBytes; b < (r + 1) * rowBytes; b += t.blockBytes) {
                    data.set(ValueLayout.JAVA_SHORT_UNALIGNED, b, Float.floatToFloat16(1f / 1024));
                }
            }
        }
        for (int r = distinct; r < rows; r++) {
            MemorySegment.copy(data, (r % distinct) * rowBytes, data, r * rowBytes, rowBytes);
        }
        if (weights.equals("file")) {
            data = mapped(data);
        }
        return new Tensor("bench." + t, t, new long[] {cols, rows}, data);
    }

    private MemorySegment mapped(MemorySegment data) {
        try {
            Path file = Files.createTempFile("jseek-bench", ".bin");
            file.toFile().deleteOnExit();
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.write(data.asByteBuffer());
            }
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                MemorySegment m = ch.map(FileChannel.MapMode.READ_ONLY, 0, data.byteSize(), arena);
                m.load();
                return m;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static float[][] randomRows(int n, int cols, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[][] x = new float[n][cols];
        for (float[] r : x) {
            for (int i = 0; i < cols; i++) {
                r[i] = (float) random.nextGaussian();
            }
        }
        return x;
    }

    @Benchmark
    public void decode(Blackhole bh) {
        MatMul.mul(pool, big, x1, y1);
        bh.consume(y1[0][0]);
    }

    @Benchmark
    public void batch(Blackhole bh) {
        MatMul.mul(pool, big, xb, yb);
        bh.consume(yb[0][0]);
    }

    @Benchmark
    public void prefill(Blackhole bh) {
        MatMul.mul(pool, square, xs, ys);
        bh.consume(ys[0][0]);
    }

    static final int PEAK_CHAINS = 12;
    static final int PEAK_ITERATIONS = 1 << 20;

    @Benchmark
    public void fmaPeak(Blackhole bh) {
        float[] sums = new float[threads];
        pool.forRange(threads, (from, to) -> {
            for (int t = from; t < to; t++) {
                sums[t] = fmaChains(t + 1);
            }
        });
        bh.consume(sums);
    }

    /** {@value #PEAK_CHAINS} independent multiply-add chains, enough to hide the FMA latency on any current core. */
    private static float fmaChains(float seed) {
        VectorSpecies<Float> s = FloatVector.SPECIES_PREFERRED;
        FloatVector m = FloatVector.broadcast(s, 0.999f);
        FloatVector c = FloatVector.broadcast(s, 1e-3f);
        FloatVector a0 = FloatVector.broadcast(s, seed), a1 = a0.add(1), a2 = a0.add(2), a3 = a0.add(3);
        FloatVector a4 = a0.add(4), a5 = a0.add(5), a6 = a0.add(6), a7 = a0.add(7);
        FloatVector a8 = a0.add(8), a9 = a0.add(9), a10 = a0.add(10), a11 = a0.add(11);
        for (int i = 0; i < PEAK_ITERATIONS; i++) {
            a0 = a0.fma(m, c); a1 = a1.fma(m, c); a2 = a2.fma(m, c); a3 = a3.fma(m, c);
            a4 = a4.fma(m, c); a5 = a5.fma(m, c); a6 = a6.fma(m, c); a7 = a7.fma(m, c);
            a8 = a8.fma(m, c); a9 = a9.fma(m, c); a10 = a10.fma(m, c); a11 = a11.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }

    @Benchmark
    public void dequantize(Blackhole bh) {
        square.dequantizeRow(7, row);
        bh.consume(row[0]);
    }
}
