package io.jseek.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.gguf.GgufFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Without {@code --add-modules jdk.incubator.vector} opening a model says what to do (not a NoClassDefFoundError). */
class VectorApiTest {
    /** Opens the file named by the argument and prints what happened. */
    public static void main(String[] args) {
        try (GgufFile f = GgufFile.open(Path.of(args[0]))) {
            System.out.println("opened " + f.tensorInfos().size() + " tensors");
        } catch (JseekException e) {
            System.out.println("error: " + e.getMessage());
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
    void withoutTheModuleTheErrorNamesTheFlag() throws Exception {
        assertTrue(VectorApi.PRESENT, "the tests run with the Vector API");
        String without = run(false);
        assertTrue(without.contains("error: jseek needs the JDK's Vector API") && without.contains("--add-modules jdk.incubator.vector"), without);
        assertTrue(run(true).contains("opened "), "with the module the file opens");
    }
}
