package io.jseek.core;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Whether jseek's kernels run on the JDK's Vector API (the incubator module {@code jdk.incubator.vector}) or on their
 * scalar fallback. Java leaves incubator modules out unless asked ({@code --add-modules jdk.incubator.vector}), and a
 * class that so much as mentions a vector type then fails to load. So every class with Vector API code keeps it in
 * a nested class (by convention {@code Lanes}) that only runs, and so only loads, when {@link #USABLE}; the outer
 * class holds the scalar code and picks one. With the module the two paths give the same results within the
 * tolerances of the parity tests (float sums in another order); CI runs those tests both ways.
 */
public final class VectorApi {
    /** True when {@code jdk.incubator.vector} is resolved in the boot layer. */
    public static final boolean PRESENT = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    /**
     * True when the kernels use the Vector API: it is present, the preferred float vector has 4 to 16 lanes (what
     * the kernels are written for: 128- to 512-bit vectors), and {@code -Djseek.vector=false} does not turn it off.
     */
    public static final boolean USABLE = PRESENT && !"false".equals(System.getProperty("jseek.vector"))
            && Probe.lanesSupported();

    /**
     * What the scalar kernels cost (docs/benchmarks.md, "Without the Vector API": a 1.5B-shape model, 2 threads,
     * prompt and decode, Q8_0 10 and 11 times slower, Q4_K_M 19 and 30 times).
     */
    static final String SLOWDOWN = "10 to 30 times slower";

    private static final AtomicBoolean WARNED = new AtomicBoolean();

    private VectorApi() {
    }

    /**
     * The one warning when the kernels run scalar, logged once per JVM (System.Logger "jseek", WARNING): it names
     * the flag and what it costs. Called where models are opened.
     */
    public static void warnIfScalar() {
        if (takeScalarWarning()) {
            System.getLogger("jseek").log(System.Logger.Level.WARNING, scalarWarning());
        }
    }

    /**
     * True once, the first time it is asked, when the kernels run scalar: for a front end (the CLI) that prints the
     * warning in its own words instead of through the logger.
     */
    public static boolean takeScalarWarning() {
        return !USABLE && WARNED.compareAndSet(false, true);
    }

    /** The warning's text. */
    public static String scalarWarning() {
        return PRESENT
                ? "jseek runs on scalar kernels (" + (Probe.lanesSupported() ? "-Djseek.vector=false" : "this CPU's vector"
                        + " width is outside the 128 to 512 bits the SIMD kernels are written for") + "): " + SLOWDOWN
                : "jseek runs on scalar kernels, " + SLOWDOWN + ", because the JDK's Vector API is not enabled:"
                        + " run java with --add-modules jdk.incubator.vector (the ./jseek launcher and jseek.jar's"
                        + " documented command line do)";
    }

    /** Touches the Vector API, so only called when it is present. */
    private static final class Probe {
        static boolean lanesSupported() {
            int lanes = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length();
            return lanes >= 4 && lanes <= 16;
        }
    }
}
