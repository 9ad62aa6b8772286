package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jseek.core.gguf.GgufFile;
import io.jseek.core.kernel.WorkerPool;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A single-token decode step allocates nothing once warm: every activation lives in the session's
 * workspace, the worker pool dispatches without allocating. Measured with the JVM's per-thread
 * allocation counters over the calling thread and the pool's workers.
 */
class DecodeAllocationTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));

    private static long allocatedBytes(long[] threadIds) {
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        return Arrays.stream(mx.getThreadAllocatedBytes(threadIds)).sum();
    }

    private static long[] threadIds() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t == Thread.currentThread() || t.getName().startsWith("jseek-worker"))
                .mapToLong(Thread::threadId).toArray();
    }

    @ParameterizedTest
    @ValueSource(strings = {"ds3-kquant.gguf", "ds3-q4_0.gguf", "ds2lite-kvb-f16.gguf", "r1qwen-q8_0.gguf", "r1llama-f32.gguf", "ds32-q8_0.gguf"})
    void decodeStepsAllocateNothing(String model) {
        try (GgufFile f = GgufFile.open(DATA.resolve(model)); WorkerPool pool = new WorkerPool(2)) {
            Model m = Model.load(f, pool);
            for (CacheType type : CacheType.values()) {
                Session s = m.newSession(2048, type);
                int[] token = {5};
                for (int i = 0; i < 150; i++) {
                    token[0] = 5 + i;
                    m.forward(s, token, false);
                }
                long[] ids = threadIds();
                // What reading the counters allocates itself.
                long baseline = Long.MAX_VALUE;
                for (int window = 0; window < 5; window++) {
                    long before = allocatedBytes(ids);
                    baseline = Math.min(baseline, allocatedBytes(ids) - before);
                }
                // Steady state: some window of 10 steps, once the JIT has compiled everything, allocates nothing.
                long least = Long.MAX_VALUE;
                for (int window = 0; window < 1000 && least > baseline; window++) {
                    s.truncate(150);
                    long before = allocatedBytes(ids);
                    for (int i = 0; i < 10; i++) {
                        token[0] = 300 + i;
                        m.forward(s, token, false);
                    }
                    least = Math.min(least, allocatedBytes(ids) - before);
                }
                assertEquals(0, least - baseline, model + " " + type + ": bytes allocated by 10 decode steps");
            }
        }
    }
}
