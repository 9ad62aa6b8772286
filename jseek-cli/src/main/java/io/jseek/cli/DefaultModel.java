package io.jseek.cli;

import io.jseek.core.JseekException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The model that ships inside jseek, used when no {@code -m} is given: jseek's own R1-recipe model, a
 * 1M-parameter DeepSeek-architecture model (MLA + MoE) trained here to add numbers with column-addition
 * reasoning (models/MODEL_CARD.md). It is copied out of the jar once into the user's cache folder, because
 * a model is memory-mapped from a file.
 */
final class DefaultModel {
    static final String FILE_NAME = "jseek-r1-addition.gguf";
    private static final String RESOURCE = "/io/jseek/cli/default-model/" + FILE_NAME;

    private DefaultModel() {
    }

    static Path path() {
        try (InputStream in = DefaultModel.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new JseekException("the embedded default model is missing from this build; give a model with -m");
            }
            byte[] bytes = in.readAllBytes();
            Path dir = cacheDir();
            Path target = dir.resolve("default-" + FILE_NAME);
            if (Files.isRegularFile(target) && Files.size(target) == bytes.length
                    && java.util.Arrays.equals(Files.readAllBytes(target), bytes)) {
                return target;
            }
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, "default", ".tmp");
            Files.write(tmp, bytes);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return target;
        } catch (IOException e) {
            throw new JseekException("cannot unpack the embedded default model: " + e.getMessage(), e);
        }
    }

    private static Path cacheDir() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "jseek");
        }
        String home = System.getProperty("user.home");
        if (home != null && !home.isBlank() && Files.isWritable(Path.of(home))) {
            return Path.of(home, ".cache", "jseek");
        }
        return Path.of(System.getProperty("java.io.tmpdir"), "jseek-" + System.getProperty("user.name", "user"));
    }
}
