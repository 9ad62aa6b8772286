package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.jseek.core.gguf.GgufFile;
import io.jseek.core.gguf.GgufTensorInfo;
import io.jseek.core.gguf.GgufWriter;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A model without output.weight uses token_embd as its output matrix: the same as an output.weight copied from it. */
class TiedEmbeddingTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));

    @TempDir
    Path tmp;

    /** Rewrites {@code source} with output.weight either replaced by token_embd's data or dropped. */
    private static void rewrite(Path source, Path out, boolean drop) throws IOException {
        try (GgufFile in = GgufFile.open(source)) {
            Tensor embd = in.tensor("token_embd.weight");
            List<GgufWriter.TensorSpec> specs = new ArrayList<>();
            for (GgufTensorInfo t : in.tensorInfos()) {
                if (t.name().equals("output.weight")) {
                    if (!drop) {
                        specs.add(new GgufWriter.TensorSpec(t.name(), embd.type(), embd.shape()));
                    }
                } else {
                    specs.add(new GgufWriter.TensorSpec(t.name(), t.type(), t.shape()));
                }
            }
            try (GgufWriter w = new GgufWriter(out, in.metadata().asMap(), specs)) {
                for (GgufWriter.TensorSpec s : specs) {
                    w.writeTensor(s.name(), s.name().equals("output.weight") ? embd.data() : in.tensor(s.name()).data());
                }
            }
        }
    }

    private static float[][] logits(Path model) {
        try (GgufFile f = GgufFile.open(model); WorkerPool pool = new WorkerPool(1)) {
            Model m = Model.load(f, pool);
            return m.forward(m.newSession(16), new int[] {956, 72, 101, 365, 111, 33}, true);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"r1qwen-f32.gguf", "ds3-f32.gguf"})
    void withoutOutputWeightTheEmbeddingIsTheOutput(String model) throws IOException {
        Path copied = tmp.resolve("copied.gguf");
        Path tied = tmp.resolve("tied.gguf");
        rewrite(DATA.resolve(model), copied, false);
        rewrite(DATA.resolve(model), tied, true);
        try (GgufFile f = GgufFile.open(tied)) {
            assertFalse(f.hasTensor("output.weight"));
        }
        float[][] a = logits(copied);
        float[][] b = logits(tied);
        for (int i = 0; i < a.length; i++) {
            assertArrayEquals(a[i], b[i], 0f);
        }
    }
}
