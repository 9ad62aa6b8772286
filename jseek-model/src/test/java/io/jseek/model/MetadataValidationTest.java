package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.JseekException;
import io.jseek.core.gguf.GgufFile;
import io.jseek.core.gguf.GgufTensorInfo;
import io.jseek.core.gguf.GgufValue;
import io.jseek.core.gguf.GgufWriter;
import io.jseek.core.kernel.WorkerPool;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Metadata that disagrees with the tensor table is a clean error before anything is sized by it. */
class MetadataValidationTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));

    @TempDir
    Path tmp;

    /** {@code source} with one metadata key set to a u32. */
    private static void rewrite(Path source, Path out, String key, int value) throws IOException {
        rewrite(source, out, key, GgufValue.u32(value));
    }

    /** {@code source} with one metadata key set. */
    private static void rewrite(Path source, Path out, String key, GgufValue value) throws IOException {
        try (GgufFile in = GgufFile.open(source)) {
            Map<String, GgufValue> meta = new HashMap<>(in.metadata().asMap());
            meta.put(key, value);
            List<GgufWriter.TensorSpec> specs = new ArrayList<>();
            for (GgufTensorInfo t : in.tensorInfos()) {
                specs.add(new GgufWriter.TensorSpec(t.name(), t.type(), t.shape()));
            }
            try (GgufWriter w = new GgufWriter(out, meta, specs)) {
                for (GgufWriter.TensorSpec s : specs) {
                    w.writeTensor(s.name(), in.tensor(s.name()).data());
                }
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"r1qwen-f32.gguf, qwen2.block_count, 2147483647", "r1qwen-f32.gguf, qwen2.block_count, 536870914",
            "ds3-f32.gguf, deepseek2.block_count, 2147483647", "r1llama-f32.gguf, llama.block_count, 3"})
    void aBlockCountTheTensorsDoNotHaveIsRefused(String model, String key, int value) throws IOException {
        Path bad = tmp.resolve("bad.gguf");
        rewrite(DATA.resolve(model), bad, key, value);
        try (GgufFile f = GgufFile.open(bad); WorkerPool pool = new WorkerPool(1)) {
            JseekException e = assertThrows(JseekException.class, () -> Model.load(f, pool));
            assertTrue(e.getMessage().contains("declares " + value + " blocks") && e.getMessage().contains("has tensors for"),
                    e.getMessage());
        }
    }

    /**
     * What deepseek4 does not compute is refused, not run wrong: linear RoPE scaling (V4's is YaRN), a compress ratio
     * llama.cpp does not know.
     */
    @Test
    void deepseek4FeaturesNotYetComputedAreRefused() throws IOException {
        Path source = DATA.resolve("ds4-f32.gguf");
        Object[][] cases = {
            {"deepseek4.rope.scaling.type", GgufValue.string("linear"), "linear RoPE scaling"},
            {"deepseek4.attention.compress_ratios", GgufValue.array(io.jseek.core.gguf.GgufValueType.INT32,
                new int[] {0, 4, 64, 4}), "compress ratio 64"},
        };
        for (Object[] c : cases) {
            Path bad = tmp.resolve("bad-v4.gguf");
            rewrite(source, bad, (String) c[0], (GgufValue) c[1]);
            try (GgufFile f = GgufFile.open(bad); WorkerPool pool = new WorkerPool(1)) {
                JseekException e = assertThrows(JseekException.class, () -> Model.load(f, pool));
                assertTrue(e.getMessage().contains((String) c[2]), e.getMessage());
            }
        }
    }
}
