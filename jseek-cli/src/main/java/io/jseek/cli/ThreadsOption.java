package io.jseek.cli;

import io.jseek.core.JseekException;
import io.jseek.core.kernel.WorkerPool;
import picocli.CommandLine.Option;

/** {@code -t/--threads N}: how many threads compute. */
final class ThreadsOption {
    @Option(names = {"-t", "--threads"}, paramLabel = "N",
            description = "Compute threads (default: one per processor).")
    Integer threads;

    int threads() {
        int n = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        if (n < 1) {
            throw new JseekException("--threads must be at least 1, got " + n);
        }
        return n;
    }

    WorkerPool pool() {
        return new WorkerPool(threads());
    }
}
