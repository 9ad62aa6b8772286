package io.jseek.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.gguf.GgufFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Without {@code --add-modules jdk.incubator.vector} models open and the kernels run scalar, with one warning that
 * names the flag (not a NoClassDefFoundError); with it, no warning. (The scalar kernels' numbers are checked by the
 * parity tests, which CI runs a second time without the module.)
 */
class VectorApiTest {
    /** Opens the file named by the argument twice, each time taking a dot product of its first F32 matrix's first row. */
    public static void main(String[] args) {
        for (int i = 0; i < 2; i++) {
            try (GgufFile f = GgufFile.open(Path.of(args[0]))) {
                io.jseek.core.tensor.Tensor t = f.tensors().stream()
                        .filter(x -> x.type() == io.jseek.core.tensor.GgmlType.F32 && x.dims() == 2).findFirst().orElseThrow();
                float[] row = new float[t.rowLength()];
                t.dequantizeRow(0, row, 0);
                float[] y = new float[1];
                io.jseek.core.kernel.MatMul.mulVector(t, 0, 1, row, 0, y, 0);
                System.out.println("opened " + f.tensorInfos().size() + " tensors, |row 0|² " + y[0]);
            } catch (JseekException e) {
                System.out.println("error: " + e.getMessage());
            }
        }
    }

    private static String run(boolean vectorApi) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        ProcessBuilder pb = vectorApi
                ? new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                        VectorApiTest.class.getName(), TestData.file("ds3-f32.gguf").toString())
                : new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), VectorApiTest.class.getName(),
                        TestData.file("ds3-f32.gguf").toString());
        Process p = pb.redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out;
    }

    @Test
    void withoutTheModuleTheKernelsRunScalarWithOneWarning() throws Exception {
        assertTrue(VectorApi.PRESENT, "the tests run with the Vector API");
        String without = run(false);
        String with = run(true);
        assertEquals(2, count(without, "opened "), without);
        assertEquals(1, count(without, "--add-modules jdk.incubator.vector"), "one warning naming the flag:\n" + without);
        assertTrue(without.contains("slower"), "the warning says what it costs:\n" + without);
        assertEquals(0, count(with, "scalar kernels"), with);
        // The same product both ways (a sum of squares: the two orders of summation agree to float rounding).
        assertEquals(value(with), value(without), 1e-5 * Math.abs(value(with)), without + with);
    }

    private static int count(String s, String part) {
        return s.split(java.util.regex.Pattern.quote(part), -1).length - 1;
    }

    private static double value(String out) {
        String line = out.lines().filter(l -> l.startsWith("opened ")).findFirst().orElseThrow();
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
    }
}
