package io.jseek.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The intermediate values of the float64 reference forward (shared/tools/ref_forward.py, which matches llama.cpp's
 * logits on the ds4 models to 2e-6) for one sequence, written by scripts/ds4-layer-dump.py: arrays by name
 * ({@code "2.attn.streams"}, {@code "2.attn.input"}, …), rows of floats.
 */
final class V4LayerDump {
    private final float[] data;
    private final JsonNode index;

    V4LayerDump(Path prefix) throws IOException {
        byte[] raw = Files.readAllBytes(Path.of(prefix + ".layers.f32"));
        data = new float[raw.length / 4];
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(data);
        index = JsonMapper.builder().build().readTree(Files.readString(Path.of(prefix + ".layers.json"))).get("arrays");
    }

    /** The array as rows: its first dimension, the rest flattened. */
    float[][] rows(String name) {
        JsonNode e = index.get(name);
        if (e == null) {
            throw new IllegalArgumentException("no array " + name);
        }
        int offset = e.get(0).asInt();
        JsonNode shape = e.get(1);
        int rows = shape.get(0).asInt();
        int width = 1;
        for (int k = 1; k < shape.size(); k++) {
            width *= shape.get(k).asInt();
        }
        float[][] out = new float[rows][width];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(data, offset + r * width, out[r], 0, width);
        }
        return out;
    }
}
