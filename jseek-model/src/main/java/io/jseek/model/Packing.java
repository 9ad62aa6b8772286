package io.jseek.model;

import io.jseek.core.JseekException;
import java.util.Locale;

/**
 * Whether a model's 4- to 6-bit matrices get packed copies for the integer kernels at load
 * ({@link io.jseek.core.tensor.PackedMatrix}). Packing makes decoding 2–3× faster but holds the packed weights in
 * process memory (about the file's size) instead of reading them from the memory-mapped file, which the
 * system can page in and out: a file larger than memory still runs unpacked, only slower.
 *
 * <p>Chosen with the system property {@code jseek.pack} ({@code auto}, {@code on} or {@code off}; for the CLI,
 * {@code JSEEK_JAVA_OPTS=-Djseek.pack=off}). {@code auto}, the default, packs when the file takes at most
 * {@value #AUTO_SHARE_PERCENT} % of the machine's physical memory.
 */
public enum Packing {
    AUTO,
    ON,
    OFF;

    static final int AUTO_SHARE_PERCENT = 70;

    /** The policy named by the system property {@code jseek.pack}, AUTO when unset. */
    public static Packing configured() {
        String v = System.getProperty("jseek.pack", "auto");
        try {
            return valueOf(v.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new JseekException("jseek.pack must be auto, on or off, not '" + v + "'");
        }
    }

    /** Whether to pack a model whose files take {@code fileBytes}, on a machine with {@code physicalBytes} of memory (0: unknown). */
    boolean packs(long fileBytes, long physicalBytes) {
        return switch (this) {
            case ON -> true;
            case OFF -> false;
            case AUTO -> physicalBytes <= 0 || fileBytes <= physicalBytes / 100 * AUTO_SHARE_PERCENT;
        };
    }

    /** The machine's physical memory in bytes, or 0 when the JVM cannot tell. */
    static long physicalMemory() {
        try {
            if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                    instanceof com.sun.management.OperatingSystemMXBean os) {
                return os.getTotalMemorySize();
            }
        } catch (RuntimeException | LinkageError e) {
            return 0;
        }
        return 0;
    }
}
