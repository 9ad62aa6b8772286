package io.jseek.core;

/**
 * Whether the JDK's Vector API (the incubator module {@code jdk.incubator.vector}, which jseek's kernels and block
 * decoders are written in) is in this JVM. Java leaves incubator modules out unless asked, and without it the
 * first use of a kernel class fails with a bare {@code NoClassDefFoundError}; the files that lead to one check here
 * first and say what to do. (A scalar fallback that runs without it is issue 14's, not yet built.)
 */
public final class VectorApi {
    /** True when {@code jdk.incubator.vector} is resolved in the boot layer. */
    public static final boolean PRESENT = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    private VectorApi() {
    }

    /** Throws a {@link JseekException} naming the flag when the Vector API is absent. */
    public static void require() {
        if (!PRESENT) {
            throw new JseekException("jseek needs the JDK's Vector API, which Java leaves out unless asked: run java with"
                    + " --add-modules jdk.incubator.vector (the ./jseek launcher does)");
        }
    }
}
