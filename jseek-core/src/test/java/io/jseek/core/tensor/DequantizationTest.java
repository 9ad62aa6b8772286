package io.jseek.core.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.jseek.core.TestData;
import io.jseek.core.gguf.GgufFile;
import io.jseek.core.gguf.GgufTensorInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every type of the reference files (every ggml weight type) decodes ggml's reference blocks to exactly ggml's floats (raw bits, signed zeros included). */
class DequantizationTest {

    static Stream<JsonNode> files() {
        List<JsonNode> files = new ArrayList<>();
        TestData.json("quants/quants.json").get("files").forEach(files::add);
        return files.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("files")
    void dequantizesBitIdenticallyToGgml(JsonNode file) {
        GgmlType type = GgmlType.byName(file.get("type").asText());
        assertEquals(file.get("type_id").asInt(), type.id);
        assertEquals(file.get("block_size").asInt(), type.blockSize);
        assertEquals(file.get("block_bytes").asInt(), type.blockBytes);
        float[] expected = TestData.floats("quants/" + file.get("expected").asText());
        try (GgufFile gguf = GgufFile.open(TestData.file("quants/" + file.get("gguf").asText()))) {
            List<GgufTensorInfo> infos = new ArrayList<>(gguf.tensorInfos());
            assertEquals(file.get("tensors").size(), infos.size());
            int mismatches = 0;
            for (int i = 0; i < infos.size(); i++) {
                JsonNode t = file.get("tensors").get(i);
                GgufTensorInfo info = infos.get(i);
                assertEquals(t.get("name").asText(), info.name());
                assertEquals(type, info.type());
                long[] ne = new long[t.get("ne").size()];
                for (int d = 0; d < ne.length; d++) {
                    ne[d] = t.get("ne").get(d).asLong();
                }
                assertArrayEquals(ne, info.shape());
                assertEquals(t.get("data_offset_in_data_section").asLong(), info.offset());
                assertEquals(t.get("n_bytes").asLong(), info.byteSize());

                Tensor tensor = gguf.tensor(info.name());
                float[] got = tensor.dequantize();
                int off = t.get("expected_offset").asInt();
                for (int j = 0; j < got.length; j++) {
                    if (Float.floatToRawIntBits(got[j]) != Float.floatToRawIntBits(expected[off + j])) {
                        mismatches++;
                    }
                }
                // Row by row gives the same values as the whole tensor at once.
                float[] row = new float[tensor.rowLength()];
                long last = tensor.rowCount() - 1;
                tensor.dequantizeRow(last, row);
                for (int j = 0; j < row.length; j++) {
                    assertEquals(Float.floatToRawIntBits(got[(int) (last * row.length) + j]), Float.floatToRawIntBits(row[j]));
                }
            }
            assertEquals(0, mismatches, type + ": values differing from ggml's bits");
        }
    }
}
